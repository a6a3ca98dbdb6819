// Package addon describes what the kind platform installs on a fresh cluster: the CNI
// (Calico), the Gateway API CRDs and one traffic controller. Each addon is data, an
// ordered plan of steps with pinned sources, so the plan can be printed and tested
// without a cluster; package kind executes it.
package addon

import (
	"embed"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

//go:embed yaml/*.yaml
var embedded embed.FS

// Action says what a step does.
type Action string

const (
	// ApplyURL server-side applies every document of a pinned remote manifest.
	ApplyURL Action = "apply-url"
	// ApplyEmbedded server-side applies an embedded YAML file of this package.
	ApplyEmbedded Action = "apply-embedded"
	// ApplyGatewayAPICRDs server-side applies the Gateway API CRDs package manifests embeds.
	ApplyGatewayAPICRDs Action = "apply-gateway-api-crds"
	// WaitCondition waits until every matching object reports a condition True.
	WaitCondition Action = "wait"
)

// Step is one thing an install does, in order.
type Step struct {
	Action Action
	// Source is the pinned URL (ApplyURL) or the embedded file name (ApplyEmbedded).
	Source string
	// SkipGatewayAPICRDs drops gateway.networking.k8s.io CRDs from the source, so the
	// Gateway API version pinned here wins over the one a controller bundles.
	SkipGatewayAPICRDs bool
	// Wait is set for WaitCondition steps.
	Wait *Wait
}

// Wait names objects and the condition they must report True.
type Wait struct {
	Resource  schema.GroupVersionResource
	Namespace string // "" for cluster-scoped objects or all namespaces
	Name      string // "" for every object matching Selector
	Selector  string // label selector; "" with Name ""  means every object
	Condition string
}

func (w Wait) String() string {
	target := w.Resource.Resource
	if w.Resource.Group != "" {
		target += "." + w.Resource.Group
	}
	switch {
	case w.Name != "":
		target += "/" + w.Name
	case w.Selector != "":
		target += "[" + w.Selector + "]"
	default:
		target += "/*"
	}
	if w.Namespace != "" {
		target = w.Namespace + "/" + target
	}
	return target + " " + w.Condition
}

func (s Step) String() string {
	switch s.Action {
	case WaitCondition:
		return "wait  " + s.Wait.String()
	case ApplyEmbedded:
		return "apply embedded:" + s.Source
	case ApplyGatewayAPICRDs:
		return "apply the Gateway API CRDs embedded in " + s.Source
	case WriteCNIConfig:
		return "write the CNI config " + s.Source + " on every node"
	default:
		out := "apply " + s.Source
		if s.SkipGatewayAPICRDs {
			out += " (without its gateway.networking.k8s.io CRDs)"
		}
		return out
	}
}

// Addon is one installable component with a pinned version.
type Addon struct {
	Name    string
	Version string
	// GatewayClass is the class the controller serves; "" for controllers without
	// Gateway API support.
	GatewayClass string
	// IngressClass is the class the controller serves; "" for Gateway API controllers.
	IngressClass string
	// IngressPorts are the node ports the Ingress entry point listens on, which the kind
	// config maps to the host (ingress-nginx: hostPorts 443/80; Traefik: NodePorts).
	IngressPorts IngressPorts
	// Images are the container images the addon's manifests run. On a cluster that can
	// pull, they are pulled; on the hermetic cluster (no registry) the platform loads the
	// locally built image of each into the nodes and rewrites the manifests to run it.
	Images []Image
	Steps  []Step
	// Conformance is how the upstream Gateway API conformance suite runs against the
	// controller; nil where grpclab does not know how to reach its Gateways from the host.
	Conformance *Conformance
	// EntryPoints is where the controller's connection-recycling limits are read; nil where
	// grpclab does not read them (the disruption suite then says so).
	EntryPoints *EntryPointAPI
}

// EntryPointAPI is an admin API that serves each entry point's effective static
// configuration, defaults included, as Traefik's GET /api/entrypoints/{name} does.
type EntryPointAPI struct {
	// Namespace and Selector (a label selector) find the controller's pods; Port names the
	// API's container port.
	Namespace, Selector, Port string
	// Gateway, Ingress and IngressHTTP name the controller's entry points behind the
	// platform's entry points of those names (cluster.Endpoints).
	Gateway, Ingress, IngressHTTP string
	// Knob is the flag that sets the limits of an entry point, with %s for its name.
	Knob string
}

// Conformance describes a Gateway API controller to the upstream conformance suite, which
// dials each Gateway at the address the controller publishes in its status.
type Conformance struct {
	// Organization, Project, URL and Contact name the implementation in the
	// ConformanceReport, as the controller's own published reports do.
	Organization, Project, URL string
	Contact                    []string
	// PodAddress: the controller publishes its own pod's IP as every Gateway's address, which
	// the host reaches only where it routes pod IPs (the hermetic pod network).
	PodAddress bool
}

// IngressPorts are node ports of an Ingress controller's TLS and plaintext entry points.
type IngressPorts struct{ HTTPS, HTTP int32 }

// Image is one container image an addon runs, under its upstream reference and under the
// name `make images` gives the copy it builds here (images/pins.env); Built is "" when the
// image cannot be built here (the addon then needs a registry).
type Image struct {
	Upstream string
	Built    string
}

// Plan prints the ordered steps, one a line, with the addon's pin on the first.
func (a Addon) Plan() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s %s\n", a.Name, a.Version)
	for i, s := range a.Steps {
		fmt.Fprintf(&b, "%2d. %s\n", i+1, s)
	}
	return b.String()
}

// Embedded returns the content of an embedded YAML file named by an ApplyEmbedded step.
func Embedded(name string) ([]byte, error) {
	b, err := embedded.ReadFile("yaml/" + name)
	if err != nil {
		return nil, fmt.Errorf("embedded manifest %q: %w", name, err)
	}
	return b, nil
}

// Controller returns the controller addon named name (the CONTROLLER= value).
func Controller(name string) (Addon, error) {
	c, ok := controllers[name]
	if !ok {
		return Addon{}, fmt.Errorf("controller %q: unknown, want one of %s", name, strings.Join(Controllers(), ", "))
	}
	return c, nil
}

// Controllers lists the controller names, sorted.
func Controllers() []string {
	names := make([]string, 0, len(controllers))
	for n := range controllers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var controllers = map[string]Addon{
	EnvoyGateway.Name:       EnvoyGateway,
	NGINXGatewayFabric.Name: NGINXGatewayFabric,
	IngressNGINX.Name:       IngressNGINX,
	Traefik.Name:            Traefik,
}

// Common resources the waits name.
var (
	deployments  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	jobs         = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	nodes        = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
	gatewayClass = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gatewayclasses"}
	crds         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

func apply(url string) Step          { return Step{Action: ApplyURL, Source: url} }
func applyEmbedded(name string) Step { return Step{Action: ApplyEmbedded, Source: name} }
func wait(w Wait) Step               { return Step{Action: WaitCondition, Wait: &w} }
