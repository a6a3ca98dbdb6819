package controller

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/gatewayapi"
)

// listenerInfo is one Gateway listener of the model that nginx serves.
type listenerInfo struct {
	model *gatewayapi.Listener
	gw    *gatewayv1.Gateway
	spec  gatewayv1.Listener
	addr  string
	tls   bool
	certs []CertFiles
	// attached are the GRPCRoutes the model attached here that compiled.
	attached []gatewayapi.Attachment
	// redirects are the HTTPRoutes attached here that compiled; only a plaintext address
	// without GRPCRoutes serves them (see redirectServers).
	redirects []redirect
}

// gatewayAddr is one local address and the listeners sharing it.
type gatewayAddr struct {
	addr      string
	tls       bool
	listeners []*listenerInfo
}

// compiledRule is a GRPCRoute rule ready for the map: its matches (one per model match, in
// the same order) and where it sends traffic.
type compiledRule struct {
	matches []compiledMatch
	target  string
}

type compiledMatch struct {
	pathRe  string // regex on $request_uri, without anchors
	headers []int  // header condition indexes
}

// headerCond is one header condition; each gets a map yielding "1" when it holds.
type headerCond struct {
	variable string // nginx variable of the header, "http_x_env"
	regex    string // full-match PCRE
}

// modelDiagnostics reports what the model did not accept, as Diagnostics.
func (r *renderer) modelDiagnostics() {
	for _, is := range r.model.Issues {
		r.diag(is.Kind, is.Namespace, is.Name, is.Field, is.Reason, is.Message)
	}
}

// collectListeners takes the model's listeners that nginx can serve and groups them by
// address.
func (r *renderer) collectListeners() error {
	for _, ml := range r.model.Listeners {
		gw, l := ml.Gateway, ml.Spec
		field := ml.Field
		diag := func(reason, format string, args ...any) {
			r.diag("Gateway", gw.Namespace, gw.Name, field, reason, fmt.Sprintf(format, args...))
		}
		if l.Protocol != gatewayv1.HTTPProtocolType && l.Protocol != gatewayv1.HTTPSProtocolType {
			diag("UnsupportedProtocol", "listener %q: protocol %q is not rendered (HTTP and HTTPS only)", l.Name, l.Protocol)
			continue
		}
		addr, ok := r.in.GatewayListen[listenKey(gw.Namespace, gw.Name, string(l.Name))]
		if !ok || addr == "" {
			return fmt.Errorf("gateway %s/%s %s (listener %q): no listen address in GatewayListen",
				gw.Namespace, gw.Name, field, l.Name)
		}
		if !ml.Accepted() {
			continue // not accepted; the model said why
		}
		if err := checkAddr(addr); err != nil {
			return fmt.Errorf("gateway %s/%s %s (listener %q): GatewayListen: %w", gw.Namespace, gw.Name, field, l.Name, err)
		}
		li := &listenerInfo{model: ml, gw: gw, spec: l, addr: addr, tls: l.Protocol == gatewayv1.HTTPSProtocolType}
		if li.tls && !r.listenerCerts(li) {
			continue
		}
		ga, ok := r.gwAddrs[addr]
		if !ok {
			if owner, taken := r.reserved[addr]; taken {
				return fmt.Errorf("gateway %s/%s %s (listener %q): address %s is already used by %s",
					gw.Namespace, gw.Name, field, l.Name, addr, owner)
			}
			ga = &gatewayAddr{addr: addr, tls: li.tls}
			r.gwAddrs[addr] = ga
			r.gwAddrOrder = append(r.gwAddrOrder, addr)
		}
		if ga.tls != li.tls {
			return fmt.Errorf("gateway %s/%s %s (listener %q): address %s mixes HTTP and HTTPS listeners",
				gw.Namespace, gw.Name, field, l.Name, addr)
		}
		ga.listeners = append(ga.listeners, li)
	}
	return nil
}

// listenerCerts finds the files of an HTTPS listener's resolved certificateRefs; false means
// the listener is not programmed and a diagnostic says why.
func (r *renderer) listenerCerts(li *listenerInfo) bool {
	gw := li.gw
	diag := func(field, reason, format string, args ...any) {
		r.diag("Gateway", gw.Namespace, gw.Name, field, reason, fmt.Sprintf(format, args...))
	}
	if tls := li.spec.TLS; tls != nil && tls.Mode != nil && *tls.Mode != gatewayv1.TLSModeTerminate {
		diag(li.model.Field+".tls.mode", "UnsupportedValue", "HTTPS listener %q: mode %q is not supported (Terminate only)", li.spec.Name, *tls.Mode)
		return false
	}
	for _, c := range li.model.Certificates {
		if !c.Resolved {
			continue // the model said why
		}
		cf, ok := r.in.Certs[objKey(c.Namespace, c.Name)]
		if !ok {
			diag(c.Field, "InvalidCertificateRef", "Secret %s/%s not found in Certs", c.Namespace, c.Name)
			continue
		}
		li.certs = append(li.certs, cf)
	}
	return len(li.certs) > 0
}

// attachRoutes compiles every route the emulator serves and puts the model's attachments of
// those that compiled on the listeners nginx serves.
func (r *renderer) attachRoutes() {
	grpcOK := map[*gatewayapi.Route]bool{}
	redirects := map[*gatewayapi.Route]redirect{}
	for _, route := range r.model.Routes {
		switch {
		case route.GRPC != nil:
			if rules, ok := r.compileRules(route); ok {
				r.compiled[route] = rules
				grpcOK[route] = true
			}
		case route.HTTP != nil:
			if rd, ok := r.compileRedirect(route.HTTP); ok {
				redirects[route] = rd
			}
		}
	}
	for _, addr := range r.gwAddrOrder {
		for _, li := range r.gwAddrs[addr].listeners {
			for _, a := range li.model.Routes {
				if grpcOK[a.Route] {
					li.attached = append(li.attached, a)
				}
				if rd, ok := redirects[a.Route]; ok {
					rd.hosts = a.Hostnames
					li.redirects = append(li.redirects, rd)
				}
			}
		}
	}
}

var (
	headerNameRe = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	serviceRe    = regexp.MustCompile(`^\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$`)
	methodRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9]*$`)
)

// compileRules turns the model's rules of a GRPCRoute into map entries and targets. A match
// the emulator cannot express rejects the whole route, as a controller sets Accepted=False.
func (r *renderer) compileRules(route *gatewayapi.Route) ([]compiledRule, bool) {
	reject := func(field, reason, format string, args ...any) ([]compiledRule, bool) {
		r.diag("GRPCRoute", route.Namespace, route.Name, field, reason, fmt.Sprintf(format, args...))
		return nil, false
	}
	var rules []compiledRule
	for _, rule := range route.Rules {
		var cr compiledRule
		for _, m := range rule.Matches {
			cm := compiledMatch{pathRe: `/[^/?]+/[^/?]+`}
			if m.Method != nil {
				svc, meth, err := methodRegex(m.Method)
				if err != nil {
					return reject(m.Field+".method", "UnsupportedValue", "%v", err)
				}
				cm.pathRe = "/" + svc + "/" + meth
			}
			for _, h := range m.Headers {
				name := strings.ToLower(string(h.Name))
				if !headerNameRe.MatchString(name) {
					return reject(h.Field+".name", "UnsupportedValue", "header name %q: only letters, digits and '-' can be matched", h.Name)
				}
				var re string
				switch {
				case h.Type == nil || *h.Type == gatewayv1.GRPCHeaderMatchExact:
					re = "^" + regexp.QuoteMeta(h.Value) + `\z`
				case *h.Type == gatewayv1.GRPCHeaderMatchRegularExpression:
					if _, err := regexp.Compile(h.Value); err != nil {
						return reject(h.Field+".value", "UnsupportedValue", "invalid regular expression %q: %v", h.Value, err)
					}
					re = "^(?:" + h.Value + `)\z`
				default:
					return reject(h.Field+".type", "UnsupportedValue", "header match type %q", *h.Type)
				}
				cm.headers = append(cm.headers, r.headerCond(headerCond{variable: "http_" + strings.ReplaceAll(name, "-", "_"), regex: re}))
			}
			cr.matches = append(cr.matches, cm)
		}
		spec := route.GRPC.Spec.Rules[rule.Index]
		for fi, f := range spec.Filters {
			r.diag("GRPCRoute", route.Namespace, route.Name, fmt.Sprintf("%s.filters[%d]", rule.Field, fi), "UnsupportedValue",
				fmt.Sprintf("filter %q is not implemented by the local emulator; the rule is rendered without it", f.Type))
		}
		if spec.SessionPersistence != nil {
			r.diag("GRPCRoute", route.Namespace, route.Name, rule.Field+".sessionPersistence", "UnsupportedValue",
				"sessionPersistence is not implemented by the local emulator")
		}
		cr.target = r.target(r.ruleShares(route, rule))
		rules = append(rules, cr)
	}
	return rules, true
}

// ruleShares turns a rule's backends into weighted targets; unresolved ones keep their weight
// and answer Unavailable, as the spec asks.
func (r *renderer) ruleShares(route *gatewayapi.Route, rule gatewayapi.Rule) []weighted {
	var shares []weighted
	spec := route.GRPC.Spec.Rules[rule.Index]
	for _, be := range rule.Backends {
		diag := func(reason, msg string) {
			r.diag("GRPCRoute", route.Namespace, route.Name, be.Field, reason, msg)
		}
		w := int64(be.Weight)
		if w < 0 {
			diag("UnsupportedValue", fmt.Sprintf("negative weight %d is treated as 0", w))
			w = 0
		}
		for fi, f := range spec.BackendRefs[be.Index].Filters {
			r.diag("GRPCRoute", route.Namespace, route.Name, fmt.Sprintf("%s.filters[%d]", be.Field, fi), "UnsupportedValue",
				fmt.Sprintf("filter %q is not implemented by the local emulator; the backend is used without it", f.Type))
		}
		up := ""
		if be.Resolved {
			var msg string
			if up, msg = r.upstream(be.Namespace, be.Name, be.Port); up == "" {
				diag("BackendNotFound", msg)
			}
		}
		if up == "" {
			up = markUnavailable
		}
		shares = append(shares, weighted{target: up, weight: w})
	}
	if len(rule.Backends) == 0 {
		r.diag("GRPCRoute", route.Namespace, route.Name, rule.Field+".backendRefs", "BackendNotFound",
			"rule has no backendRefs; matching requests get Unavailable")
	}
	return shares
}

// methodRegex returns the service and method parts of the path regex.
func methodRegex(m *gatewayv1.GRPCMethodMatch) (string, string, error) {
	if m.Service == nil && m.Method == nil {
		return "", "", fmt.Errorf("one of service or method must be set")
	}
	svc, meth := `[^/?]+`, `[^/?]+`
	regex := m.Type != nil && *m.Type == gatewayv1.GRPCMethodMatchRegularExpression
	if m.Type != nil && !regex && *m.Type != gatewayv1.GRPCMethodMatchExact {
		return "", "", fmt.Errorf("method match type %q is not supported", *m.Type)
	}
	part := func(v string, valid *regexp.Regexp, what string) (string, error) {
		if regex {
			if _, err := regexp.Compile(v); err != nil {
				return "", fmt.Errorf("invalid %s regular expression %q: %v", what, v, err)
			}
			return "(?:" + v + ")", nil
		}
		if !valid.MatchString(v) {
			return "", fmt.Errorf("invalid %s %q", what, v)
		}
		return regexp.QuoteMeta(v), nil
	}
	var err error
	if m.Service != nil {
		if svc, err = part(*m.Service, serviceRe, "service"); err != nil {
			return "", "", err
		}
	}
	if m.Method != nil {
		if meth, err = part(*m.Method, methodRe, "method"); err != nil {
			return "", "", err
		}
	}
	return svc, meth, nil
}

func (r *renderer) headerCond(c headerCond) int {
	if i, ok := r.condIndex[c]; ok {
		return i
	}
	r.conds = append(r.conds, c)
	r.condIndex[c] = len(r.conds) - 1
	return len(r.conds) - 1
}

// gwServer is one nginx server block on a gateway address.
type gwServer struct {
	addr     *gatewayAddr
	name     string        // server_name pattern; gatewayapi.AnyHost for the default server
	listener *listenerInfo // nil: no listener takes this host
	entries  []candidate
	conds    []int // header conditions the entries use, in flag order
}

// candidate is one rule match in a server block, in precedence order.
type candidate struct {
	nsName      string
	rule, match int
	m           compiledMatch
	target      string
}

// gatewayServers builds the server blocks of one address: one per listener hostname and
// per route hostname, plus the default server.
func (r *renderer) gatewayServers(ga *gatewayAddr) []*gwServer {
	names := map[string]bool{}
	byModel := map[*gatewayapi.Listener]*listenerInfo{}
	var models []*gatewayapi.Listener
	for _, li := range ga.listeners {
		byModel[li.model] = li
		models = append(models, li.model)
		names[li.model.Hostname] = true
		for _, a := range li.attached {
			for _, h := range a.Hostnames {
				names[h] = true
			}
		}
	}
	delete(names, gatewayapi.AnyHost)
	sorted := []string{gatewayapi.AnyHost}
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted[1:])
	var out []*gwServer
	for _, name := range sorted {
		s := &gwServer{addr: ga, name: name}
		if ml := gatewayapi.ListenerFor(models, name); ml != nil {
			s.listener = byModel[ml]
			s.entries = r.candidates(s.listener, name)
		}
		condSet := map[int]bool{}
		for _, e := range s.entries {
			for _, c := range e.m.headers {
				if !condSet[c] {
					condSet[c] = true
					s.conds = append(s.conds, c)
				}
			}
		}
		sort.Ints(s.conds)
		out = append(out, s)
	}
	return out
}

// candidates lists the compiled matches of the model's candidates for a server name, in
// the model's precedence order.
func (r *renderer) candidates(li *listenerInfo, name string) []candidate {
	var out []candidate
	for _, c := range li.model.Candidates(name, func(rt *gatewayapi.Route) bool { return r.compiled[rt] == nil }) {
		cr := r.compiled[c.Route][c.Rule.Index]
		out = append(out, candidate{
			nsName: objKey(c.Route.Namespace, c.Route.Name), rule: c.Rule.Index, match: c.Match.Index,
			m: cr.matches[c.Match.Index], target: cr.target,
		})
	}
	return out
}
