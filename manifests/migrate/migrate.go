// Package migrate converts ingress-nginx Ingresses that proxy gRPC (backend-protocol GRPC or
// GRPCS) into Gateway API objects: one Gateway for all of them, a GRPCRoute per Ingress host,
// an HTTPRoute per redirected host and the ReferenceGrants the Gateway needs for Secrets in
// other namespaces. What has no Gateway API equivalent is reported as a Warning, never dropped
// silently.
//
// The mapping, in ingress-nginx terms:
//
//   - Each spec.tls host becomes an HTTPS listener on port 443 terminating TLS with that entry's
//     Secret; each rule host without TLS an HTTP listener on port 80. A host that redirects to
//     HTTPS (ssl-redirect, true by default once the host has TLS; force-ssl-redirect) also gets
//     an HTTP listener on port 80 carrying an HTTPRoute whose one rule redirects with
//     scheme https and status 301. ingress-nginx answers 308, but 301 is the status code
//     HTTPRoute supports at the Core level (308 is the extended feature
//     HTTPRoute308RedirectStatusCode), and gRPC clients do not follow redirects anyway: the
//     redirect only matters to browsers and curl.
//   - Each rule host becomes a GRPCRoute in the Ingress's namespace, attached to that host's
//     HTTPS listener (its HTTP listener when it has no TLS). Paths map to method matches:
//     "/" matches every call, "/pkg.Service/" one service, "/pkg.Service/Method" one method.
//     Other paths (REST prefixes, regular expressions) have no gRPC meaning and are reported.
//   - Canary Ingresses are merged into their main Ingress (same host and path): canary-by-header
//     becomes a header-matching rule to the canary, canary-weight a weighted pair of backendRefs.
//   - GRPCRoute has no timeouts (Gateway API v1.6.3), so the proxy-*-timeout annotations are
//     reported for the controller's own policy to set.
package migrate

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/manifests"
)

// Defaults for Options.
const (
	DefaultGatewayName = "migrated-gateway"
	// DefaultGatewayClass is the placeholder every platform replaces (manifests.SetGatewayClass).
	DefaultGatewayClass = "grpclab"
)

// Options name the Gateway the converted routes attach to.
type Options struct {
	GatewayName      string // default DefaultGatewayName
	GatewayNamespace string // default: the namespace of the first converted Ingress
	GatewayClass     string // default DefaultGatewayClass
}

// apply fills the defaults and rejects names the API server would reject.
func (o Options) apply(firstNamespace string) (Options, error) {
	o.GatewayName = cmp.Or(o.GatewayName, DefaultGatewayName)
	o.GatewayNamespace = cmp.Or(o.GatewayNamespace, firstNamespace)
	o.GatewayClass = cmp.Or(o.GatewayClass, DefaultGatewayClass)
	for _, c := range []struct {
		what, value string
		check       func(string) []string
	}{
		{"gateway name", o.GatewayName, validation.IsDNS1123Subdomain},
		{"gateway namespace", o.GatewayNamespace, validation.IsDNS1123Label},
		{"gateway class", o.GatewayClass, validation.IsDNS1123Subdomain},
	} {
		if msgs := c.check(c.value); len(msgs) > 0 {
			return o, fmt.Errorf("%s %q: %s", c.what, c.value, strings.Join(msgs, "; "))
		}
	}
	return o, nil
}

// Result is what Convert made.
type Result struct {
	// Objects are the Gateway first, then the GRPCRoutes, the redirect HTTPRoutes and the
	// ReferenceGrants. Source names the Ingress each came from (the Gateway's lists every
	// converted Ingress, separated by ", ").
	Objects []manifests.Object
	// Warnings are what was not carried over, grouped by Ingress in input order.
	Warnings []Warning
}

// Warning is one thing an Ingress asks for that the converted objects do not do.
type Warning struct {
	Source  string // the Ingress's manifests.Object Source: "dir/ingress.yaml#1"
	Object  string // "Ingress default/fortune-ingress"
	Key     string // the annotation key or the field path
	Message string
}

func (w Warning) String() string {
	if w.Key == "" {
		return fmt.Sprintf("%s: %s: %s", w.Source, w.Object, w.Message)
	}
	return fmt.Sprintf("%s: %s: %s: %s", w.Source, w.Object, w.Key, w.Message)
}

// Convert turns the gRPC Ingresses among objs (those with nginx.ingress.kubernetes.io/backend-protocol
// GRPC or GRPCS) into Gateway API objects. Other Ingresses are left as they are, with a Warning each.
//
// objs are expected to be what manifests.Load returns: backends are looked up among them (a
// named port through its Service), and the converted objects are validated with them
// (manifests.Validate, Ingresses left out since the routes replace them). Input that cannot be
// converted at all is an error naming the source, the object and the field; when there is
// nothing to convert the error comes with the Warnings that say why.
func Convert(objs []manifests.Object, opts Options) (Result, error) {
	c := &converter{services: map[string]*corev1.Service{}}
	for _, s := range manifests.Of[*corev1.Service](objs) {
		c.services[s.Namespace+"/"+s.Name] = s
	}
	var mains []*mainIngress
	var canaries []manifests.Object
	for _, o := range objs {
		ing, ok := o.Object.(*networkingv1.Ingress)
		if !ok {
			continue
		}
		if isCanary(ing) {
			canaries = append(canaries, o)
			continue
		}
		if proto := backendProtocol(ing); proto != "GRPC" && proto != "GRPCS" {
			c.warn(o, annotationPrefix+"backend-protocol", "not a gRPC Ingress (backend-protocol is %s), left as it is", describeProtocol(ing))
			continue
		}
		m, err := c.readMain(o)
		if err != nil {
			return Result{}, err
		}
		mains = append(mains, m)
	}
	for _, o := range canaries {
		c.mergeCanary(o, mains)
	}
	c.sortWarnings(objs)
	first := slices.IndexFunc(mains, (*mainIngress).hasPaths)
	if first < 0 {
		return Result{Warnings: c.warnings}, errors.New("nothing to convert: no Ingress with backend-protocol GRPC or GRPCS has a path that converts (the warnings say why)")
	}
	opts, err := opts.apply(mains[first].ing.Namespace)
	if err != nil {
		return Result{}, fmt.Errorf("options: %w", err)
	}
	out, err := c.build(mains, opts)
	if err != nil {
		return Result{}, err
	}
	c.sortWarnings(objs)
	if err := checkCollisions(objs, out); err != nil {
		return Result{}, err
	}
	others := slices.DeleteFunc(slices.Clone(objs), func(o manifests.Object) bool {
		_, ing := o.Object.(*networkingv1.Ingress)
		return ing
	})
	if err := manifests.Validate(append(others, out...)); err != nil {
		return Result{}, fmt.Errorf("the converted objects do not validate: %w", err)
	}
	return Result{Objects: out, Warnings: c.warnings}, nil
}

// converter holds what every step reads, and collects the warnings.
type converter struct {
	services map[string]*corev1.Service // by namespace/name
	warnings []Warning
}

// sortWarnings groups the warnings by Ingress, in input order; each Ingress's stay in the
// order they were found.
func (c *converter) sortWarnings(objs []manifests.Object) {
	at := map[string]int{}
	for i, o := range objs {
		at[o.Source] = i
	}
	slices.SortStableFunc(c.warnings, func(a, b Warning) int { return cmp.Compare(at[a.Source], at[b.Source]) })
}

func (c *converter) warn(o manifests.Object, key, format string, args ...any) {
	c.warnings = append(c.warnings, Warning{
		Source: o.Source, Object: describe(o.Object), Key: key, Message: fmt.Sprintf(format, args...),
	})
}

// describe names an object the way manifests errors do: "Ingress default/fortune-ingress".
func describe(o client.Object) string {
	kind := "object"
	if gvks, _, err := manifests.Scheme.ObjectKinds(o); err == nil && len(gvks) > 0 {
		kind = gvks[0].Kind
	}
	if o.GetNamespace() == "" {
		return kind + " " + o.GetName()
	}
	return kind + " " + o.GetNamespace() + "/" + o.GetName()
}

// checkCollisions refuses to emit an object that already exists among the input: applying
// both would overwrite one with the other.
func checkCollisions(in, out []manifests.Object) error {
	have := map[string]string{}
	for _, o := range in {
		have[describe(o.Object)] = o.Source
	}
	for _, o := range out {
		if prev, ok := have[describe(o.Object)]; ok {
			hint := "remove or rename it"
			if _, gw := o.Object.(*gatewayv1.Gateway); gw {
				hint = "choose another Gateway name"
			}
			return fmt.Errorf("%s: converting would make %s, which already exists in %s; %s",
				firstSource(o.Source), describe(o.Object), prev, hint)
		}
	}
	return nil
}

func firstSource(s string) string {
	first, _, _ := strings.Cut(s, ", ")
	return first
}
