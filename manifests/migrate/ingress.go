package migrate

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/manifests"
)

const annotationPrefix = "nginx.ingress.kubernetes.io/"

// timeouts are the ingress-nginx timeout annotations gRPC users set; GRPCRoute has no field
// for any of them.
var timeouts = map[string]bool{
	"proxy-read-timeout":          true,
	"proxy-send-timeout":          true,
	"proxy-connect-timeout":       true,
	"proxy-next-upstream-timeout": true,
}

// mainIngress is a non-canary gRPC Ingress as read, before any Gateway API object is made.
type mainIngress struct {
	obj manifests.Object
	ing *networkingv1.Ingress
	// sslRedirect is ingress-nginx's ssl-redirect: true unless the annotation says false. It
	// only redirects hosts with TLS; forceSSLRedirect redirects hosts without TLS too.
	sslRedirect, sslRedirectSet, forceSSLRedirect bool
	hosts                                         []*hostPaths // in rule order
	tls                                           []tlsHost
}

func (m *mainIngress) hasPaths() bool {
	return slices.ContainsFunc(m.hosts, func(h *hostPaths) bool { return len(h.paths) > 0 })
}

// host returns the paths of one host, creating the entry the first time (rules may repeat a host).
func (m *mainIngress) host(host, field string) *hostPaths {
	for _, h := range m.hosts {
		if h.host == host {
			return h
		}
	}
	h := &hostPaths{host: host, field: field}
	m.hosts = append(m.hosts, h)
	return h
}

// hostPaths are the converted paths of one Ingress host: one GRPCRoute.
type hostPaths struct {
	host  string // "" for a rule without host
	field string // the first rule's host field, for warnings
	paths []*grpcPath
}

// grpcPath is one Ingress path that converts to a GRPCRoute rule.
type grpcPath struct {
	field   string // "spec.rules[0].http.paths[1]"
	path    string // as written, which is what a canary must repeat
	match   *gatewayv1.GRPCMethodMatch
	backend backend
	canary  *canaryPath
}

type tlsHost struct {
	host, secret, field string
}

type backend struct {
	name string
	port int32
}

// canaryConfig is what one canary Ingress's annotations ask for.
type canaryConfig struct {
	header, value string // no header rule when header is ""
	// never adds a rule sending "header: never" to the main backend: ingress-nginx keeps
	// such requests off the canary even when weights would send them there.
	never         bool
	weighted      bool
	weight, total int32
}

// canaryPath is a canary merged into one main path.
type canaryPath struct {
	from    manifests.Object
	cfg     *canaryConfig
	backend backend
}

func annotation(ing *networkingv1.Ingress, name string) (string, bool) {
	v, ok := ing.Annotations[annotationPrefix+name]
	return v, ok
}

// backendProtocol is the annotation as ingress-nginx reads it: case-insensitive, HTTP by default.
func backendProtocol(ing *networkingv1.Ingress) string {
	v, ok := annotation(ing, "backend-protocol")
	if !ok {
		return "HTTP"
	}
	return strings.ToUpper(strings.TrimSpace(v))
}

func describeProtocol(ing *networkingv1.Ingress) string {
	if v, ok := annotation(ing, "backend-protocol"); ok {
		return strconv.Quote(v)
	}
	return "not set, so HTTP"
}

func isCanary(ing *networkingv1.Ingress) bool {
	v, _ := annotation(ing, "canary")
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// readMain reads a gRPC Ingress: its annotations, hosts, paths and TLS.
func (c *converter) readMain(o manifests.Object) (*mainIngress, error) {
	ing := o.Object.(*networkingv1.Ingress)
	m := &mainIngress{obj: o, ing: ing, sslRedirect: true}
	regex := false
	for _, key := range slices.Sorted(maps.Keys(ing.Annotations)) {
		name, ok := strings.CutPrefix(key, annotationPrefix)
		if !ok {
			continue // other controllers' annotations, and kubernetes.io/ingress.class
		}
		switch name {
		case "backend-protocol":
			// GRPC is what a GRPCRoute does; GRPCS is reported once the backends are known.
		case "ssl-redirect":
			m.sslRedirect, m.sslRedirectSet = c.boolAnnotation(o, key, true), true
		case "force-ssl-redirect":
			m.forceSSLRedirect = c.boolAnnotation(o, key, false)
		case "use-regex":
			regex = c.boolAnnotation(o, key, false)
		case "canary":
			c.boolAnnotation(o, key, false) // not "true", or this would be a canary
		default:
			c.otherAnnotation(o, key, name, false)
		}
	}
	if ing.Spec.DefaultBackend != nil {
		c.warn(o, "spec.defaultBackend", "not converted: GRPCRoute has no default backend; add a rule without matches to a route if you need one")
	}
	for i, r := range ing.Spec.Rules {
		hostField := fmt.Sprintf("spec.rules[%d].host", i)
		host, err := checkHost(o, hostField, r.Host)
		if err != nil {
			return nil, err
		}
		if host == "" {
			c.warn(o, hostField, "no host: its listener has no hostname and takes every host on port 80 (ingress-nginx serves such rules from its default server)")
		}
		if r.HTTP == nil || len(r.HTTP.Paths) == 0 {
			c.warn(o, fmt.Sprintf("spec.rules[%d].http", i), "no paths: nothing to route")
			continue
		}
		hp := m.host(host, hostField)
		for j, p := range r.HTTP.Paths {
			field := fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)
			match, why := methodMatch(p, regex)
			if why != "" {
				c.warn(o, field+".path", "%s: no rule", why)
				continue
			}
			be, ok := c.resolve(o, field+".backend", ing.Namespace, p.Backend)
			if !ok {
				continue
			}
			if prev := hp.find(match); prev != nil {
				c.warn(o, field+".path", "path %q matches the same calls as %s.path: skipped", p.Path, prev.field)
				continue
			}
			hp.paths = append(hp.paths, &grpcPath{field: field, path: p.Path, match: match, backend: be})
		}
	}
	for i, t := range ing.Spec.TLS {
		if t.SecretName == "" {
			c.warn(o, fmt.Sprintf("spec.tls[%d].secretName", i),
				"empty: ingress-nginx serves its default certificate, Gateway API needs a Secret, so these hosts get no HTTPS listener")
			continue
		}
		for j, h := range t.Hosts {
			field := fmt.Sprintf("spec.tls[%d].hosts[%d]", i, j)
			host, err := checkHost(o, field, h)
			if err != nil {
				return nil, err
			}
			if host == "" {
				return nil, fmt.Errorf("%s: %s: %s: Required: a TLS host names the HTTPS listener", o.Source, describe(ing), field)
			}
			m.tls = append(m.tls, tlsHost{host: host, secret: t.SecretName, field: field})
		}
	}
	if backendProtocol(ing) == "GRPCS" {
		var svcs []string
		for _, h := range m.hosts {
			for _, p := range h.paths {
				if s := "Service " + p.backend.name; !slices.Contains(svcs, s) {
					svcs = append(svcs, s)
				}
			}
		}
		c.warn(o, annotationPrefix+"backend-protocol",
			"GRPCS: the backend speaks TLS, but a GRPCRoute connects in cleartext (h2c) unless a BackendTLSPolicy with the backend's CA and hostname targets %s; none is generated",
			cmp.Or(strings.Join(svcs, ", "), "each backend Service"))
	}
	return m, nil
}

// find returns the path already matching the same calls, if any.
func (h *hostPaths) find(match *gatewayv1.GRPCMethodMatch) *grpcPath {
	for _, p := range h.paths {
		if methodKey(p.match) == methodKey(match) {
			return p
		}
	}
	return nil
}

func methodKey(m *gatewayv1.GRPCMethodMatch) string {
	if m == nil {
		return "*"
	}
	return deref(m.Service) + "/" + deref(m.Method)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// checkHost lowercases a host and rejects what no listener hostname can hold.
func checkHost(o manifests.Object, field, host string) (string, error) {
	host = strings.ToLower(host)
	if host == "" {
		return "", nil
	}
	msgs := validation.IsDNS1123Subdomain(host)
	if strings.HasPrefix(host, "*.") {
		msgs = validation.IsWildcardDNS1123Subdomain(host)
	}
	if net.ParseIP(host) != nil {
		msgs = append(msgs, "an IP address cannot be a listener hostname")
	}
	if len(msgs) > 0 {
		return "", fmt.Errorf("%s: %s: %s: invalid host %q: %s", o.Source, describe(o.Object), field, host, strings.Join(msgs, "; "))
	}
	return host, nil
}

// boolAnnotation reads a boolean the way ingress-nginx does (strconv.ParseBool); a value
// that does not parse keeps the default, as there.
func (c *converter) boolAnnotation(o manifests.Object, key string, def bool) bool {
	v := o.Object.GetAnnotations()[key]
	b, err := strconv.ParseBool(v)
	if err != nil {
		c.warn(o, key, "%q is not a boolean: ingress-nginx uses the default (%t), and so does the conversion", v, def)
		return def
	}
	return b
}

// otherAnnotation reports an nginx annotation the conversion does not carry over.
func (c *converter) otherAnnotation(o manifests.Object, key, name string, onCanary bool) {
	v := o.Object.GetAnnotations()[key]
	switch {
	case name == "canary-by-header-pattern":
		c.warn(o, key, "%q not carried over: a RegularExpression header match is implementation-specific in Gateway API; add one by hand if the controller supports it", v)
	case name == "canary-by-cookie":
		c.warn(o, key, "%q not carried over: GRPCRoute matches headers, not cookies", v)
	case onCanary:
		c.warn(o, key, "not carried over: on a canary Ingress ingress-nginx applies the main Ingress's settings, and the conversion takes only the canary-by-header and canary-weight annotations")
	case timeouts[name]:
		c.warn(o, key, "%q not carried over: GRPCRoute has no timeouts field; the controller's own policy must set it", v)
	case strings.HasPrefix(name, "canary-"):
		c.warn(o, key, "ignored: the Ingress is not a canary (canary is not \"true\"), as in ingress-nginx")
	default:
		c.warn(o, key, "not carried over")
	}
}

// resolve finds the Service port a path's backend names. A backend that does not resolve
// skips the path: a route to it would not validate.
func (c *converter) resolve(o manifests.Object, field, ns string, b networkingv1.IngressBackend) (backend, bool) {
	if b.Service == nil {
		c.warn(o, field, "not a Service backend: path skipped")
		return backend{}, false
	}
	svc, ok := c.services[ns+"/"+b.Service.Name]
	if !ok {
		c.warn(o, field+".service.name", "Service %s/%s is not among the manifests: path skipped", ns, b.Service.Name)
		return backend{}, false
	}
	port := b.Service.Port
	for _, sp := range svc.Spec.Ports {
		if port.Name != "" && sp.Name == port.Name || port.Name == "" && port.Number != 0 && sp.Port == port.Number {
			return backend{name: svc.Name, port: sp.Port}, true
		}
	}
	if port.Name != "" {
		c.warn(o, field+".service.port.name", "Service %s/%s has no port named %q: path skipped", ns, svc.Name, port.Name)
	} else {
		c.warn(o, field+".service.port.number", "Service %s/%s has no port %d: path skipped", ns, svc.Name, port.Number)
	}
	return backend{}, false
}

// A gRPC call's path is /package.Service/Method. The service must be package-qualified:
// "/api" or "/api/v1" are REST prefixes, not services.
var (
	serviceName = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)+$`)
	methodName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9]*$`)
)

// methodMatch maps an Ingress path to the calls it routes: nil for every call, else an Exact
// service or service+method match. why says why a path has no GRPCRoute equivalent.
// ImplementationSpecific is a prefix in ingress-nginx, so it maps like Prefix.
func methodMatch(p networkingv1.HTTPIngressPath, regex bool) (match *gatewayv1.GRPCMethodMatch, why string) {
	pt := networkingv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		pt = *p.PathType
	}
	path := p.Path
	if path == "" && pt == networkingv1.PathTypeImplementationSpecific {
		path = "/"
	}
	desc := fmt.Sprintf("path %q (%s)", path, pt)
	switch {
	case path == "/" && pt != networkingv1.PathTypeExact:
		return nil, ""
	case path == "/":
		return nil, desc + " matches no gRPC call: every call's path is /package.Service/Method"
	case regex:
		return nil, desc + " is a regular expression (use-regex), which a GRPCRoute method match cannot express"
	}
	rest, ok := strings.CutPrefix(path, "/")
	svc, method, _ := strings.Cut(rest, "/")
	if !ok || !serviceName.MatchString(svc) || method != "" && !methodName.MatchString(method) {
		return nil, desc + " is not a gRPC service or method path (/package.Service/ or /package.Service/Method)"
	}
	if method == "" && pt == networkingv1.PathTypeExact {
		return nil, desc + " matches no gRPC call: an Exact service path needs the method; use Prefix for the whole service"
	}
	exact := gatewayv1.GRPCMethodMatchExact
	match = &gatewayv1.GRPCMethodMatch{Type: &exact, Service: &svc}
	if method != "" {
		match.Method = &method
	}
	return match, ""
}

// mergeCanary attaches a canary Ingress to the main paths with its host and path, the way
// ingress-nginx pairs them.
func (c *converter) mergeCanary(o manifests.Object, mains []*mainIngress) {
	ing := o.Object.(*networkingv1.Ingress)
	type hit struct {
		field  string
		target *grpcPath
		main   *mainIngress
		b      networkingv1.IngressBackend
	}
	var hits []hit
	var misses []string
	for i, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		host := strings.ToLower(r.Host)
		for j, p := range r.HTTP.Paths {
			field := fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)
			h := hit{field: field, b: p.Backend}
			for _, m := range mains {
				for _, hp := range m.hosts {
					if hp.host != host {
						continue
					}
					for _, gp := range hp.paths {
						if h.target == nil && gp.path == p.Path {
							h.target, h.main = gp, m
						}
					}
				}
			}
			if h.target == nil {
				misses = append(misses, field)
				continue
			}
			hits = append(hits, h)
		}
	}
	if len(hits) == 0 {
		if proto := backendProtocol(ing); proto == "GRPC" || proto == "GRPCS" {
			c.warn(o, annotationPrefix+"canary", "canary with no main Ingress (a non-canary gRPC Ingress with the same host and a path that converts): not converted")
		} else {
			c.warn(o, annotationPrefix+"backend-protocol", "not a gRPC Ingress (backend-protocol is %s), left as it is", describeProtocol(ing))
		}
		return
	}
	cfg := c.readCanary(o, hits[0].main)
	for _, f := range misses {
		c.warn(o, f+".path", "no converted path of a main Ingress has this host and path: not merged")
	}
	if ing.Spec.DefaultBackend != nil {
		c.warn(o, "spec.defaultBackend", "not converted: a canary's default backend has no GRPCRoute equivalent")
	}
	if len(ing.Spec.TLS) > 0 {
		c.warn(o, "spec.tls", "ignored: the listeners take TLS from the main Ingresses")
	}
	if cfg == nil {
		return
	}
	for _, h := range hits {
		if h.main.ing.Namespace != ing.Namespace {
			c.warn(o, h.field+".path", "the main path %s.path is in %s, in another namespace: not merged", h.target.field, describe(h.main.ing))
			continue
		}
		if prev := h.target.canary; prev != nil {
			c.warn(o, h.field+".path", "%s.path of %s already has the canary %s (ingress-nginx takes one canary per path): not merged",
				h.target.field, describe(h.main.ing), describe(prev.from.Object))
			continue
		}
		be, ok := c.resolve(o, h.field+".backend", ing.Namespace, h.b)
		if !ok {
			continue
		}
		h.target.canary = &canaryPath{from: o, cfg: cfg, backend: be}
	}
}

// headerName is what GRPCRoute accepts as a header name.
var headerName = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$")

// readCanary reads a canary's annotations. It returns nil when nothing routes to the canary.
func (c *converter) readCanary(o manifests.Object, main *mainIngress) *canaryConfig {
	ing := o.Object.(*networkingv1.Ingress)
	cfg := &canaryConfig{total: 100}
	header, _ := annotation(ing, "canary-by-header")
	value, _ := annotation(ing, "canary-by-header-value")
	_, pattern := annotation(ing, "canary-by-header-pattern")
	_, weighted := annotation(ing, "canary-weight")
	for _, key := range slices.Sorted(maps.Keys(ing.Annotations)) {
		name, ok := strings.CutPrefix(key, annotationPrefix)
		if !ok {
			continue
		}
		v := ing.Annotations[key]
		switch name {
		case "canary":
		case "backend-protocol":
			if backendProtocol(ing) != backendProtocol(main.ing) {
				c.warn(o, key, "%q ignored: ingress-nginx proxies a canary with the main Ingress's backend-protocol (%s)", v, backendProtocol(main.ing))
			}
		case "canary-by-header":
			switch {
			case !headerName.MatchString(v):
				c.warn(o, key, "%q is not a valid header name: no header rule", v)
			case value != "":
				cfg.header, cfg.value = strings.ToLower(v), value
			case pattern:
				// ingress-nginx matches the pattern instead of always/never; reported below.
			default:
				// "always" and "never"; the warning waits for the weights.
				cfg.header, cfg.value = strings.ToLower(v), "always"
			}
		case "canary-by-header-value":
			if header == "" {
				c.warn(o, key, "ignored without canary-by-header, as in ingress-nginx")
			}
		case "canary-weight":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n < 0 {
				c.warn(o, key, "%q is not a non-negative integer: no weights", v)
				weighted = false
				continue
			}
			cfg.weighted, cfg.weight = true, int32(n)
		case "canary-weight-total":
			n, err := strconv.ParseInt(v, 10, 32)
			switch {
			case err != nil || n <= 0 || n > 1000000:
				c.warn(o, key, "%q is not an integer from 1 to 1000000: the total is 100", v)
			case !weighted:
				c.warn(o, key, "ignored without canary-weight")
			default:
				cfg.total = int32(n)
			}
		default:
			c.otherAnnotation(o, key, name, true)
		}
	}
	if cfg.value == "always" && value == "" {
		cfg.never = cfg.weighted
		then := "which is what the default rule does anyway"
		if cfg.weighted {
			then = "so a rule of its own sends it to the main backend alone, past the weights"
		}
		c.warn(o, annotationPrefix+"canary-by-header", "without canary-by-header-value ingress-nginx sends %q to the canary and %q away from it: the header rule matches \"always\"; \"never\" has no Gateway API equivalent beyond not matching, %s",
			header+": always", header+": never", then)
	}
	if cfg.weighted && cfg.weight > cfg.total {
		c.warn(o, annotationPrefix+"canary-weight", "%d is more than the total %d: the canary takes every call", cfg.weight, cfg.total)
		cfg.weight = cfg.total
	}
	if cfg.header == "" && !cfg.weighted {
		c.warn(o, annotationPrefix+"canary", "no canary-by-header or canary-weight to carry over: not converted")
		return nil
	}
	return cfg
}
