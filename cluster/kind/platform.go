package kind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/kind/addon"
	"github.com/grpclab/grpclab/manifests"
)

// ServerImage is the service image built from the repository's Dockerfile.
const ServerImage = "grpclab/grpclab-server:dev"

// Platform runs the manifests on a kind cluster.
type Platform struct {
	name       string
	controller addon.Addon
	keep       bool
	artifacts  string
	buildDir   string // Docker build context; "" skips building and loading the image
	secrets    func([]manifests.Object) ([]*corev1.Secret, error)
	caFile     string
	log        *slog.Logger
	http       *http.Client
	timeout    time.Duration
	images     ImageSource
	direct     DirectPath

	provider *Provider
	applier  *Applier
	fwd      *forwarder
}

var _ cluster.Platform = (*Platform)(nil)

// Option configures New. Options validate their input and fail inside New.
type Option interface{ apply(*Platform) error }

type optionFunc func(*Platform) error

func (f optionFunc) apply(p *Platform) error { return f(p) }

// WithController selects the traffic controller (the CONTROLLER= value).
func WithController(name string) Option {
	return optionFunc(func(p *Platform) error {
		c, err := addon.Controller(name)
		if err != nil {
			return err
		}
		p.controller = c
		return nil
	})
}

// WithClusterName names the kind cluster; a cluster of that name is reused.
func WithClusterName(name string) Option {
	return nonEmpty("cluster name", name, func(p *Platform) { p.name = name })
}

// WithKeepCluster keeps the cluster after Down (KEEP_CLUSTER=1).
func WithKeepCluster(keep bool) Option {
	return optionFunc(func(p *Platform) error { p.keep = keep; return nil })
}

// WithArtifacts sets where cluster logs are exported before teardown.
func WithArtifacts(dir string) Option {
	return nonEmpty("artifacts dir", dir, func(p *Platform) { p.artifacts = dir })
}

// nonEmpty is an option that refuses an empty value, naming what it sets, and else calls set.
func nonEmpty(what, v string, set func(*Platform)) Option {
	return optionFunc(func(p *Platform) error {
		if v == "" {
			return fmt.Errorf("%s: empty", what)
		}
		set(p)
		return nil
	})
}

// WithImageBuild builds ServerImage from the Dockerfile in dir and loads it into the nodes.
func WithImageBuild(dir string) Option {
	return optionFunc(func(p *Platform) error {
		if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
			return fmt.Errorf("image build: %w", err)
		}
		p.buildDir = dir
		return nil
	})
}

// WithCertificates supplies the TLS Secrets the manifests reference and the CA file that
// signed them (cluster/certs).
func WithCertificates(caFile string, secrets func([]manifests.Object) ([]*corev1.Secret, error)) Option {
	return optionFunc(func(p *Platform) error {
		if secrets == nil {
			return errors.New("certificates: nil secrets function")
		}
		p.caFile, p.secrets = caFile, secrets
		return nil
	})
}

// WithImages sets where the images come from (default Pulled; see ChooseImages).
func WithImages(src ImageSource) Option {
	return optionFunc(func(p *Platform) error {
		switch src {
		case Pulled, Built:
			p.images = src
			return nil
		default:
			return fmt.Errorf("images: %q, want %q or %q", src, Pulled, Built)
		}
	})
}

// WithLogger makes the platform print one line per step with its duration.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(p *Platform) error { p.log = l; return nil })
}

// WithTimeout bounds each wait for readiness (default 5 minutes).
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(p *Platform) error {
		if d <= 0 {
			return fmt.Errorf("timeout: %s is not positive", d)
		}
		p.timeout = d
		return nil
	})
}

// New returns the kind platform; defaults: cluster "grpclab", controller envoy-gateway,
// logs exported to _artifacts.
func New(opts ...Option) (*Platform, error) {
	p := &Platform{
		name:       "grpclab",
		controller: addon.EnvoyGateway,
		artifacts:  "_artifacts",
		log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		http:       &http.Client{Timeout: 2 * time.Minute},
		timeout:    5 * time.Minute,
		images:     Pulled,
		provider:   NewProvider(),
	}
	for _, o := range opts {
		if err := o.apply(p); err != nil {
			return nil, fmt.Errorf("kind platform: %w", err)
		}
	}
	if p.images == Built {
		if _, err := BuiltImages(p.controller); err != nil {
			return nil, fmt.Errorf("kind platform: %w", err)
		}
	}
	return p, nil
}

func (p *Platform) Name() string { return "kind" }

// Up creates (or reuses) the cluster, installs Calico, the Gateway API CRDs and the
// controller, and loads the server image. On failure the cluster's logs are exported
// before the error is returned.
func (p *Platform) Up(ctx context.Context) error {
	if err := p.up(ctx); err != nil {
		if p.applier != nil {
			if lerr := p.exportLogs(ctx); lerr != nil {
				return fmt.Errorf("%w (and %v)", err, lerr)
			}
		}
		return err
	}
	return nil
}

func (p *Platform) up(ctx context.Context) error {
	cfg, err := Config(p.name, p.controller.Name, ConfigOptions{Images: p.images, CgroupV1: HostCgroupV1()})
	if err != nil {
		return err
	}
	p.provider.WithName(p.name).WithOpts(WithConfig(cfg))
	if err := p.step(ctx, "create or reuse kind cluster "+p.name+" on "+cfg.Nodes[0].Image, func(ctx context.Context) error {
		_, err := p.provider.Create(ctx)
		return err
	}); err != nil {
		return err
	}
	rc := p.provider.KubernetesRestConfig()
	if p.applier, err = NewApplier(rc); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("kind platform: %w", err)
	}
	p.fwd = &forwarder{rest: rc, cs: cs}
	var addons []addon.Addon
	if p.images == Built {
		addons = append(addons, addon.PodNetwork)
	}
	addons = append(addons, Enforcer(p.images))
	if p.controller.GatewayClass != "" {
		addons = append(addons, addon.GatewayAPI)
	}
	addons = append(addons, p.controller)
	for _, a := range addons {
		if err := p.loadImages(ctx, a); err != nil {
			return err
		}
		if err := p.Install(ctx, a); err != nil {
			return err
		}
	}
	// Only the hermetic pod network gives each node a podCIDR of its own that the host can
	// route; Calico's IPAM blocks are its own, so the pulled path keeps port-forwards.
	p.direct = DirectPortForward
	if p.images == Built {
		var why string
		p.direct, why = p.routePods(ctx)
		p.fwd.routed = p.direct == DirectRouted
		if why != "" {
			p.log.Info("direct to a pod goes through port-forwards: " + why)
		} else {
			p.log.Info("direct to a pod: the host routes the node's podCIDR to the node")
		}
	}
	switch {
	case p.images == Built:
		// make images made it from the static binary (hack/images/server.sh).
		if err := p.step(ctx, "load "+ServerImage+" into the nodes", func(ctx context.Context) error {
			return p.provider.LoadImage(ctx, ServerImage)
		}); err != nil {
			return err
		}
	case p.buildDir != "":
		if err := p.step(ctx, "docker build "+ServerImage, func(ctx context.Context) error {
			return BuildImage(ctx, p.buildDir, ServerImage)
		}); err != nil {
			return err
		}
		if err := p.step(ctx, "load "+ServerImage+" into the nodes", func(ctx context.Context) error {
			return p.provider.LoadImage(ctx, ServerImage)
		}); err != nil {
			return err
		}
	}
	return nil
}

// loadImages loads the addon's locally built images into the nodes on the hermetic cluster;
// where images are pulled, the nodes pull them themselves.
func (p *Platform) loadImages(ctx context.Context, a addon.Addon) error {
	if p.images != Built {
		return nil
	}
	for _, im := range a.Images {
		if err := p.step(ctx, "load "+im.Built+" into the nodes (for "+im.Upstream+")", func(ctx context.Context) error {
			return p.provider.LoadImage(ctx, im.Built)
		}); err != nil {
			return fmt.Errorf("install %s: %w", a.Name, err)
		}
	}
	return nil
}

// Install runs an addon's plan step by step.
func (p *Platform) Install(ctx context.Context, a addon.Addon) error {
	for i, s := range a.Steps {
		name := fmt.Sprintf("%s %s [%d/%d] %s", a.Name, a.Version, i+1, len(a.Steps), s)
		if err := p.step(ctx, name, func(ctx context.Context) error { return p.runStep(ctx, a, s) }); err != nil {
			return fmt.Errorf("install %s: %w", a.Name, err)
		}
	}
	return nil
}

func (p *Platform) runStep(ctx context.Context, a addon.Addon, s addon.Step) error {
	switch s.Action {
	case addon.WaitCondition:
		return p.applier.Wait(ctx, *s.Wait, p.timeout)
	case addon.WriteCNIConfig:
		return p.writeCNIConfig(ctx, s.Source)
	case addon.ApplyGatewayAPICRDs:
		files, err := manifests.GatewayAPICRDs()
		if err != nil {
			return err
		}
		var items []Item
		for _, name := range slices.Sorted(maps.Keys(files)) {
			its, err := DecodeYAML(name, files[name])
			if err != nil {
				return err
			}
			items = append(items, its...)
		}
		return p.applier.Apply(ctx, items)
	case addon.ApplyEmbedded:
		data, err := addon.Embedded(s.Source)
		if err != nil {
			return err
		}
		items, err := DecodeYAML(s.Source, data)
		if err != nil {
			return err
		}
		if p.images == Built {
			if err := RewriteImages(items, a.Images); err != nil {
				return err
			}
		}
		return p.applier.Apply(ctx, items)
	case addon.ApplyURL:
		data, err := p.fetch(ctx, s.Source)
		if err != nil {
			return err
		}
		items, err := DecodeYAML(s.Source, data)
		if err != nil {
			return err
		}
		if s.SkipGatewayAPICRDs {
			items = withoutGatewayAPICRDs(items)
		}
		return p.applier.Apply(ctx, items)
	default:
		return fmt.Errorf("step %q: unknown action", s.Action)
	}
}

// withoutGatewayAPICRDs drops the Gateway API CRDs a controller bundles, so the pinned
// version stays installed.
func withoutGatewayAPICRDs(items []Item) []Item {
	var out []Item
	for _, it := range items {
		if Phase(it.Object) == 0 {
			group, _, _ := unstructuredString(it.Object.Object, "spec", "group")
			if group == gatewayv1.GroupName {
				continue
			}
		}
		out = append(out, it)
	}
	return out
}

func (p *Platform) fetch(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	return b, nil
}

// step runs fn and logs one line with its duration.
func (p *Platform) step(ctx context.Context, name string, fn func(context.Context) error) error {
	return p.stepAt(ctx, slog.LevelInfo, name, fn)
}

// stepAt is step with the level of the success line: Apply's steps are Debug, since its
// callers print one line per apply themselves. Failures are always logged.
func (p *Platform) stepAt(ctx context.Context, level slog.Level, name string, fn func(context.Context) error) error {
	start := time.Now()
	err := fn(ctx)
	if err != nil {
		p.log.Error(name, "took", time.Since(start).Round(time.Millisecond), "err", err)
		return err
	}
	p.log.Log(ctx, level, name, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Apply sets the controller's GatewayClass on the Gateways, server-side applies the
// generated Secrets and the objects, and waits for Deployments Available and rolled out and
// Gateways Programmed.
func (p *Platform) Apply(ctx context.Context, objs []manifests.Object) error {
	if p.applier == nil {
		return errors.New("kind platform: apply before up")
	}
	objs = p.served(objs)
	manifests.SetGatewayClass(objs, p.controller.GatewayClass)
	var secrets []*corev1.Secret
	if p.secrets != nil {
		var err error
		if secrets, err = p.secrets(objs); err != nil {
			return fmt.Errorf("kind platform: certificates: %w", err)
		}
	}
	items, err := Items(objs, secrets)
	if err != nil {
		return fmt.Errorf("kind platform: %w", err)
	}
	if err := p.stepAt(ctx, slog.LevelDebug, fmt.Sprintf("apply %d objects", len(items)), func(ctx context.Context) error {
		return p.applier.Apply(ctx, items)
	}); err != nil {
		return err
	}
	return p.stepAt(ctx, slog.LevelDebug, "wait for deployments and gateways", func(ctx context.Context) error {
		if err := p.applier.WaitAll(ctx, Readiness(items), p.timeout); err != nil {
			return err
		}
		// Available holds all through a rolling update (maxUnavailable 0): a Deployment whose
		// template changed is ready once every pod runs the new one.
		for _, it := range items {
			if gvk := it.Object.GroupVersionKind(); gvk.Group == "apps" && gvk.Kind == "Deployment" {
				if err := p.rolledOut(ctx, namespaceOf(it.Object), it.Object.GetName(), 0); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// served drops the Gateway API objects when the controller serves only Ingress
// (ingress-nginx): their CRDs are not installed then, and nothing would program them. The
// scenarios skip the Gateway's cases because Endpoints leaves it empty.
func (p *Platform) served(objs []manifests.Object) []manifests.Object {
	if p.controller.GatewayClass != "" {
		return objs
	}
	var out []manifests.Object
	dropped := 0
	for _, o := range objs {
		if o.GetObjectKind().GroupVersionKind().Group == gatewayv1.GroupName {
			dropped++
			continue
		}
		out = append(out, o)
	}
	if dropped > 0 {
		p.log.Info(fmt.Sprintf("%s serves no Gateway API: %d Gateway API objects not applied", p.controller.Name, dropped))
	}
	return out
}

// Delete removes the objects and returns once they are gone; missing ones are not an error.
func (p *Platform) Delete(ctx context.Context, objs []manifests.Object) error {
	if p.applier == nil {
		return errors.New("kind platform: delete before up")
	}
	items, err := Items(p.served(objs), nil)
	if err != nil {
		return fmt.Errorf("kind platform: %w", err)
	}
	if err := p.applier.Delete(ctx, items); err != nil {
		return err
	}
	return p.applier.WaitGone(ctx, items, p.timeout)
}

// Endpoints are the host ports kind maps from the node (see Config).
func (p *Platform) Endpoints() cluster.Endpoints {
	ep := cluster.Endpoints{CAFile: p.caFile, IdleTimeout: cluster.Duration{Duration: 60 * time.Second}}
	if p.controller.GatewayClass != "" {
		ep.Gateway.Address = fmt.Sprintf("127.0.0.1:%d", GatewayHostPort)
	}
	if p.controller.IngressClass != "" {
		ep.Ingress.Address = fmt.Sprintf("127.0.0.1:%d", IngressHostPort)
		ep.IngressHTTP.Address = fmt.Sprintf("127.0.0.1:%d", IngressHTTPHostPort)
	}
	return ep
}

// Backends port-forwards to every ready pod behind the Service port; the forwards live as
// long as ctx.
func (p *Platform) Backends(ctx context.Context, namespace, service string, port int32) ([]string, error) {
	if p.fwd == nil {
		return nil, errors.New("kind platform: backends before up")
	}
	return p.fwd.backends(ctx, namespace, service, port)
}

func (p *Platform) Versions() map[string]string {
	v := Versions(p.controller.Name, p.images)
	if p.direct != "" {
		v["direct to a pod"] = string(p.direct)
	}
	return v
}

// Limits: none. One controller runs per cluster, and the scenarios skip, with the reason,
// every case whose entry point Endpoints leaves empty.
func (p *Platform) Limits() []cluster.Limit { return nil }

// Down exports the cluster's logs to the artifacts dir, then deletes the cluster unless
// it is kept.
func (p *Platform) Down(ctx context.Context) error {
	p.provider.WithName(p.name)
	p.unroutePods(ctx)
	logErr := p.exportLogs(ctx)
	if p.keep {
		p.log.Info("keeping kind cluster " + p.name + " (KEEP_CLUSTER=1)")
		return logErr
	}
	if err := p.step(ctx, "delete kind cluster "+p.name, func(ctx context.Context) error {
		if err := p.provider.Destroy(ctx); err != nil {
			return err
		}
		return removeIdleNetwork(ctx)
	}); err != nil {
		return errors.Join(logErr, err)
	}
	return logErr
}

func (p *Platform) exportLogs(ctx context.Context) error {
	dir := filepath.Join(p.artifacts, "kind-logs")
	return p.step(ctx, "export cluster logs to "+dir, func(ctx context.Context) error {
		return p.provider.ExportLogs(ctx, dir)
	})
}
