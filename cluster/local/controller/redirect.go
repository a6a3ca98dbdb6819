package controller

import (
	"fmt"
	"sort"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/gatewayapi"
)

// redirect is an HTTPRoute the emulator serves: one rule that only redirects, which is what a
// migrated ssl-redirect is (grpclab migrate writes exactly that). Anything else an HTTPRoute
// can say is not emulated, and a Diagnostic says so.
type redirect struct {
	from   string // "namespace/name"
	hosts  []string
	code   int
	scheme string // "" keeps the request's
	host   string // "" keeps the request's
	port   int32  // 0: none in Location
}

// compileRedirect accepts an HTTPRoute whose one rule has one RequestRedirect filter, no
// backendRefs and at most a PathPrefix "/" match.
func (r *renderer) compileRedirect(route *gatewayv1.HTTPRoute) (redirect, bool) {
	reject := func(field, format string, args ...any) (redirect, bool) {
		r.diag("HTTPRoute", route.Namespace, route.Name, field, "UnsupportedValue",
			fmt.Sprintf(format, args...)+"; the emulator serves only HTTPRoutes with one rule that redirects; route not rendered")
		return redirect{}, false
	}
	rules := route.Spec.Rules
	if len(rules) != 1 {
		return reject("spec.rules", "%d rules", len(rules))
	}
	rule := rules[0]
	if len(rule.BackendRefs) > 0 {
		return reject("spec.rules[0].backendRefs", "backendRefs are not emulated")
	}
	for mi, m := range rule.Matches {
		prefixRoot := m.Path == nil || ((m.Path.Type == nil || *m.Path.Type == gatewayv1.PathMatchPathPrefix) &&
			(m.Path.Value == nil || *m.Path.Value == "/"))
		if !prefixRoot || len(m.Headers) > 0 || len(m.QueryParams) > 0 || m.Method != nil {
			return reject(fmt.Sprintf("spec.rules[0].matches[%d]", mi), "only a PathPrefix \"/\" match is emulated")
		}
	}
	if len(rule.Filters) != 1 || rule.Filters[0].Type != gatewayv1.HTTPRouteFilterRequestRedirect || rule.Filters[0].RequestRedirect == nil {
		return reject("spec.rules[0].filters", "want exactly one RequestRedirect filter")
	}
	f := rule.Filters[0].RequestRedirect
	if f.Path != nil {
		return reject("spec.rules[0].filters[0].requestRedirect.path", "path rewrites are not emulated")
	}
	rd := redirect{from: objKey(route.Namespace, route.Name), code: 302}
	if f.StatusCode != nil {
		rd.code = *f.StatusCode
	}
	if f.Scheme != nil {
		rd.scheme = *f.Scheme
	}
	if f.Hostname != nil {
		rd.host = string(*f.Hostname)
	}
	if f.Port != nil {
		rd.port = int32(*f.Port)
	}
	return rd, true
}

// location is the redirect's Location for a listener with this port: the spec omits the
// port where it is the scheme's well-known one, and takes the listener's port when neither
// port nor scheme is set. It names the listener's port as the manifest says, not the local
// address nginx listens on.
func (rd redirect) location(listenerPort int32) string {
	scheme, port := rd.scheme, rd.port
	switch {
	case port != 0:
	case scheme == "https":
		port = 443
	case scheme == "http":
		port = 80
	default:
		port = listenerPort
	}
	s, show := "$scheme", true
	if scheme != "" {
		s = scheme
		show = !(scheme == "https" && port == 443) && !(scheme == "http" && port == 80)
	}
	host := "$host"
	if rd.host != "" {
		host = rd.host
	}
	if show {
		host += fmt.Sprintf(":%d", port)
	}
	return s + "://" + host + "$request_uri"
}

// redirectServers renders a plaintext address whose listeners carry only HTTPRoute
// redirects: HTTP/1.1 server blocks (no http2, which would make the port h2c only) that answer
// with the redirect, and a default server answering 404. It returns "" when the address
// serves GRPCRoutes too: an nginx port is either h2c or HTTP/1.1, so the redirects there are
// not rendered and a Diagnostic names each.
func (r *renderer) redirectServers(ga *gatewayAddr) string {
	var hasRedirects, hasGRPC bool
	for _, li := range ga.listeners {
		hasRedirects = hasRedirects || len(li.redirects) > 0
		hasGRPC = hasGRPC || len(li.attached) > 0
	}
	if !hasRedirects {
		return ""
	}
	if hasGRPC || ga.tls {
		for _, li := range ga.listeners {
			for _, rd := range li.redirects {
				ns, name, _ := strings.Cut(rd.from, "/")
				r.diag("HTTPRoute", ns, name, "spec.parentRefs", "UnsupportedValue", fmt.Sprintf(
					"listener %q: the emulator serves HTTPRoute redirects only on HTTP listeners that carry no GRPCRoute; not rendered", li.spec.Name))
			}
		}
		return ""
	}
	type block struct {
		host string
		rd   redirect
		li   *listenerInfo
	}
	var blocks []block
	seen := map[string]bool{}
	for _, li := range ga.listeners {
		for _, rd := range li.redirects {
			for _, h := range rd.hosts {
				if seen[h] {
					continue // the first route (input order) keeps a host
				}
				seen[h] = true
				blocks = append(blocks, block{h, rd, li})
			}
		}
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].host < blocks[j].host })
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("\n    # Gateway %s: HTTPRoute redirects (HTTP/1.1)\n", ga.addr)
	if !seen[gatewayapi.AnyHost] {
		p("    server {\n        listen %s default_server;\n        server_name \"\";\n        return 404;\n    }\n", ga.addr)
	}
	for _, bl := range blocks {
		name, def := bl.host, ""
		if name == gatewayapi.AnyHost {
			name, def = `""`, " default_server"
		}
		p("    server { # %s on listener %s/%s %s\n", bl.rd.from, bl.li.gw.Namespace, bl.li.gw.Name, bl.li.spec.Name)
		p("        listen %s%s;\n        server_name %s;\n", ga.addr, def, name)
		p("        return %d %s;\n    }\n", bl.rd.code, quote(bl.rd.location(int32(bl.li.spec.Port))))
	}
	return b.String()
}
