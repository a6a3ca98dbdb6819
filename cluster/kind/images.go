package kind

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/grpclab/grpclab/cluster/kind/addon"
	"github.com/grpclab/grpclab/images"
)

// ImageSource says where the kind platform's images come from. Both sources fill the same
// roles from one pin list: the node, the NetworkPolicy enforcer, the controller, the server.
type ImageSource string

const (
	// Pulled: the pinned upstream images, pulled from their registries (users, GitHub Actions).
	Pulled ImageSource = "pulled"
	// Built: the hermetic set `make images` builds here from Go modules and Debian packages,
	// for machines that reach no registry (this CI host, air-gapped users).
	Built ImageSource = "built"
)

// ImagesEnv selects the image source: pulled, built, or unset to choose (ChooseImages).
const ImagesEnv = "GRPCLAB_IMAGES"

// BuiltNodeImage is the node image hack/images/node.sh makes.
var BuiltNodeImage = "grpclab.local/kind-node:" + images.Pin("KUBERNETES_VERSION")

// registryProbe is what ChooseImages asks to learn whether a registry answers: the registry
// of the default node image. A variable so tests point it at a local server.
var registryProbe = "https://registry-1.docker.io/v2/"

// registryAnswers reports whether the registry answers HTTP at all (any status: an
// unauthenticated /v2/ answers 401). A machine without a route fails fast.
func registryAnswers(ctx context.Context) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, registryProbe, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, firstLine(err.Error())
	}
	resp.Body.Close()
	return true, resp.Status
}

// BuiltImages lists the images a controller needs from `make images` on the hermetic
// cluster: the node, the enforcer, the controller's own images and the server image.
func BuiltImages(controller addon.Addon) ([]string, error) {
	refs := []string{BuiltNodeImage}
	if len(controller.Images) == 0 {
		return nil, fmt.Errorf("controller %s runs images that cannot be built here (no registry, and they are not Go builds): use CONTROLLER=traefik, or a machine that can pull", controller.Name)
	}
	for _, a := range []addon.Addon{addon.KubeRouter, controller} {
		for _, im := range a.Images {
			if im.Built == "" {
				return nil, fmt.Errorf("controller %s: image %s cannot be built here (no registry, and it is not a Go build): use CONTROLLER=traefik, or a machine that can pull", controller.Name, im.Upstream)
			}
			refs = append(refs, im.Built)
		}
	}
	return append(refs, ServerImage), nil
}

// missingImages returns the references Docker does not have.
func missingImages(ctx context.Context, refs []string) []string {
	var missing []string
	for _, ref := range refs {
		cmd := exec.CommandContext(ctx, dockerBinary, "image", "inspect", "--format", "{{.Id}}", ref)
		if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) == "" {
			missing = append(missing, ref)
		}
	}
	return missing
}

// Choice is what ChooseImages decided.
type Choice struct {
	Images ImageSource
	// Controller is the controller asked for, or the default for the image source:
	// envoy-gateway where images are pulled, traefik on the hermetic cluster (the one
	// controller that builds from Go).
	Controller string
	// Why is one line for the user.
	Why string
}

// DefaultController is the controller run when none is asked for.
func DefaultController(src ImageSource) string {
	if src == Built {
		return addon.Traefik.Name
	}
	return addon.EnvoyGateway.Name
}

// ChooseImages picks the image source for a controller ("" for the default) and says why in
// one line. requested is the GRPCLAB_IMAGES value: "pulled" and "built" are taken as asked
// ("built" fails when the set is incomplete); "" pulls when a registry answers, else uses
// the built set, and fails, naming what is missing, when neither can run.
func ChooseImages(ctx context.Context, requested, controller string) (Choice, error) {
	pick := func(src ImageSource) (Choice, error) {
		c := Choice{Images: src, Controller: controller}
		if c.Controller == "" {
			c.Controller = DefaultController(src)
		}
		a, err := addon.Controller(c.Controller)
		if err != nil {
			return c, err
		}
		if src == Pulled {
			return c, nil
		}
		refs, err := BuiltImages(a)
		if err != nil {
			return c, err
		}
		if missing := missingImages(ctx, refs); len(missing) > 0 {
			return c, fmt.Errorf("the built image set lacks %s: run make images", strings.Join(missing, ", "))
		}
		return c, nil
	}
	switch ImageSource(requested) {
	case Pulled:
		c, err := pick(Pulled)
		c.Why = ImagesEnv + "=pulled: pulling the pinned upstream images"
		return c, err
	case Built:
		c, err := pick(Built)
		if err != nil {
			return c, fmt.Errorf("%s=built: %w", ImagesEnv, err)
		}
		c.Why = ImagesEnv + "=built: running the images make images built here"
		return c, nil
	case "":
	default:
		return Choice{}, fmt.Errorf("%s=%q: want pulled or built", ImagesEnv, requested)
	}
	if ok, status := registryAnswers(ctx); ok {
		c, err := pick(Pulled)
		c.Why = "a registry answers (" + status + "): pulling the pinned upstream images"
		return c, err
	} else {
		c, err := pick(Built)
		if err != nil {
			return c, fmt.Errorf("no registry answers (%s), and %w", status, err)
		}
		c.Why = "no registry answers (" + status + "): running the images make images built here"
		return c, nil
	}
}

// Enforcer is the addon that enforces NetworkPolicy with the image source: Calico where
// images can be pulled; kube-router's firewall on the hermetic cluster, since Calico cannot
// be built from the Go module proxy.
func Enforcer(src ImageSource) addon.Addon {
	if src == Built {
		return addon.KubeRouter
	}
	return addon.Calico
}
