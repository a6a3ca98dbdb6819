package kind

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/grpclab/grpclab/cluster"
)

var _ cluster.KubeAPI = (*Platform)(nil)

// RESTConfig reaches the cluster's API server from this machine; nil before Up.
func (p *Platform) RESTConfig() *rest.Config {
	if p.applier == nil {
		return nil
	}
	return rest.CopyConfig(p.provider.KubernetesRestConfig())
}

// Conformance describes the controller to the upstream Gateway API conformance suite, or
// says why the suite cannot reach its Gateways from this machine. Valid once Up has returned.
func (p *Platform) Conformance() (cluster.ConformanceTarget, error) {
	c := p.controller.Conformance
	switch {
	case p.applier == nil:
		return cluster.ConformanceTarget{}, errors.New("the kind platform is not up")
	case p.controller.GatewayClass == "":
		return cluster.ConformanceTarget{}, fmt.Errorf("controller %s serves no Gateway API: the conformance suite needs a GatewayClass (use CONTROLLER=traefik)", p.controller.Name)
	case c == nil:
		return cluster.ConformanceTarget{}, fmt.Errorf("controller %s: grpclab does not know how this machine reaches the addresses its Gateways publish, which the conformance suite dials (it runs with CONTROLLER=traefik)", p.controller.Name)
	case c.PodAddress && p.direct != DirectRouted:
		return cluster.ConformanceTarget{}, fmt.Errorf("controller %s publishes its pod's IP as each Gateway's address, and this machine routes no pod IPs here (%s); only the hermetic pod network does (GRPCLAB_IMAGES=built)", p.controller.Name, p.direct)
	}
	return cluster.ConformanceTarget{
		GatewayClass: p.controller.GatewayClass,
		Organization: c.Organization,
		Project:      c.Project,
		URL:          c.URL,
		Version:      p.controller.Version,
		Contact:      c.Contact,
	}, nil
}

// ProvideImages loads the images into the nodes where the platform runs the images built
// here; where images are pulled, the nodes pull these too and there is nothing to do.
func (p *Platform) ProvideImages(ctx context.Context, refs ...string) error {
	if p.images != Built {
		return nil
	}
	if p.applier == nil {
		return errors.New("the kind platform is not up")
	}
	if missing := missingImages(ctx, refs); len(missing) > 0 {
		return fmt.Errorf("the built image set lacks %s: run make images", strings.Join(missing, ", "))
	}
	for _, ref := range refs {
		if err := p.step(ctx, "load "+ref+" into the nodes", func(ctx context.Context) error {
			return p.provider.LoadImage(ctx, ref)
		}); err != nil {
			return err
		}
	}
	return nil
}
