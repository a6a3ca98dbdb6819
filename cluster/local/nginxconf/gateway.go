package nginxconf

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

const gatewayGroup = "gateway.networking.k8s.io"

// listenerInfo is one Gateway listener that can carry GRPCRoutes.
type listenerInfo struct {
	gw       *gatewayv1.Gateway
	spec     gatewayv1.Listener
	field    string // "spec.listeners[2]"
	addr     string
	hostname string // anyHost when unset
	tls      bool
	certs    []CertFiles
	attached []attachment
	// redirects are the HTTPRoutes accepted here; only a plaintext address without
	// GRPCRoutes serves them (see redirectServers).
	redirects []redirect
}

// attachment is a route accepted on a listener, with the hostnames it serves there.
type attachment struct {
	route *gatewayv1.GRPCRoute
	hosts []string
	rules []compiledRule
}

// gatewayAddr is one local address and the listeners sharing it.
type gatewayAddr struct {
	addr      string
	tls       bool
	listeners []*listenerInfo
}

// compiledRule is a GRPCRoute rule ready for the map: its matches and where it sends traffic.
type compiledRule struct {
	matches []compiledMatch
	target  string
}

type compiledMatch struct {
	pathRe          string // regex on $request_uri, without anchors
	service, method int    // characters, for precedence
	headers         []int  // header condition indexes
}

// headerCond is one header condition; each gets a map yielding "1" when it holds.
type headerCond struct {
	variable string // nginx variable of the header, "http_x_env"
	regex    string // full-match PCRE
}

func (r *renderer) collectListeners() error {
	for gi, gw := range r.in.Gateways {
		if gw == nil {
			return fmt.Errorf("gateways[%d]: nil Gateway", gi)
		}
		seenHost := map[string]string{} // addr+hostname -> listener, for conflicts
		for li, l := range gw.Spec.Listeners {
			field := fmt.Sprintf("spec.listeners[%d]", li)
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
			li := &listenerInfo{gw: gw, spec: l, field: field, addr: addr, tls: l.Protocol == gatewayv1.HTTPSProtocolType}
			if l.Hostname != nil {
				li.hostname = strings.ToLower(string(*l.Hostname))
				if !validHostname(li.hostname) {
					r.diag("Gateway", gw.Namespace, gw.Name, field+".hostname", "UnsupportedValue",
						fmt.Sprintf("listener %q: invalid hostname %q; not rendered", l.Name, *l.Hostname))
					continue
				}
			}
			if err := checkAddr(addr); err != nil {
				return fmt.Errorf("gateway %s/%s %s (listener %q): GatewayListen: %w", gw.Namespace, gw.Name, field, l.Name, err)
			}
			if prev, dup := seenHost[addr+" "+li.hostname]; dup {
				diag("HostnameConflict", "listener %q: same address and hostname as listener %q; not rendered", l.Name, prev)
				continue
			}
			if li.tls && !r.listenerCerts(li) {
				continue
			}
			seenHost[addr+" "+li.hostname] = string(l.Name)
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
	}
	return nil
}

// listenerCerts resolves an HTTPS listener's certificateRefs; false means the listener is not
// programmed and a diagnostic says why.
func (r *renderer) listenerCerts(li *listenerInfo) bool {
	gw := li.gw
	diag := func(field, reason, format string, args ...any) {
		r.diag("Gateway", gw.Namespace, gw.Name, li.field+field, reason, fmt.Sprintf(format, args...))
	}
	tls := li.spec.TLS
	if tls == nil || len(tls.CertificateRefs) == 0 {
		diag(".tls.certificateRefs", "InvalidCertificateRef", "HTTPS listener %q needs a certificateRef", li.spec.Name)
		return false
	}
	if tls.Mode != nil && *tls.Mode != gatewayv1.TLSModeTerminate {
		diag(".tls.mode", "UnsupportedValue", "HTTPS listener %q: mode %q is not supported (Terminate only)", li.spec.Name, *tls.Mode)
		return false
	}
	for ci, ref := range tls.CertificateRefs {
		field := fmt.Sprintf(".tls.certificateRefs[%d]", ci)
		if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") {
			diag(field, "InvalidCertificateRef", "only core Secrets are supported")
			continue
		}
		ns := gw.Namespace
		if ref.Namespace != nil {
			ns = string(*ref.Namespace)
		}
		if ns != gw.Namespace && !r.granted(gw.Namespace, "Gateway", ns, "", "Secret", string(ref.Name)) {
			diag(field, "RefNotPermitted", "Secret %s/%s is in another namespace and no ReferenceGrant allows it", ns, ref.Name)
			continue
		}
		cf, ok := r.in.Certs[objKey(ns, string(ref.Name))]
		if !ok {
			diag(field, "InvalidCertificateRef", "Secret %s/%s not found in Certs", ns, ref.Name)
			continue
		}
		li.certs = append(li.certs, cf)
	}
	if len(li.certs) == 0 {
		return false
	}
	return true
}

// granted reports whether a ReferenceGrant in toNS lets fromKind objects of fromNS refer to
// the named object.
func (r *renderer) granted(fromNS, fromKind, toNS, toGroup, toKind, toName string) bool {
	for _, g := range r.in.ReferenceGrants {
		if g == nil || g.Namespace != toNS {
			continue
		}
		fromOK := false
		for _, f := range g.Spec.From {
			if string(f.Group) == gatewayGroup && string(f.Kind) == fromKind && string(f.Namespace) == fromNS {
				fromOK = true
			}
		}
		if !fromOK {
			continue
		}
		for _, t := range g.Spec.To {
			if string(t.Group) == toGroup && string(t.Kind) == toKind && (t.Name == nil || string(*t.Name) == toName) {
				return true
			}
		}
	}
	return false
}

// attachRoutes attaches every GRPCRoute to the listeners its parentRefs select.
func (r *renderer) attachRoutes() error {
	gateways := map[string]*gatewayv1.Gateway{}
	for _, gw := range r.in.Gateways {
		gateways[objKey(gw.Namespace, gw.Name)] = gw
	}
	listenersOf := map[*gatewayv1.Gateway][]*listenerInfo{}
	for _, addr := range r.gwAddrOrder {
		for _, li := range r.gwAddrs[addr].listeners {
			listenersOf[li.gw] = append(listenersOf[li.gw], li)
		}
	}
	for ri, route := range r.in.GRPCRoutes {
		if route == nil {
			return fmt.Errorf("grpcRoutes[%d]: nil GRPCRoute", ri)
		}
		rules, ok := r.compileRules(route)
		if !ok {
			continue // compileRules said why
		}
		r.attach("GRPCRoute", &route.ObjectMeta, route.Spec.Hostnames, route.Spec.ParentRefs, gateways, listenersOf,
			func(li *listenerInfo, hosts []string) {
				li.attached = append(li.attached, attachment{route: route, hosts: hosts, rules: rules})
			})
	}
	for ri, route := range r.in.HTTPRoutes {
		if route == nil {
			return fmt.Errorf("httpRoutes[%d]: nil HTTPRoute", ri)
		}
		rd, ok := r.compileRedirect(route)
		if !ok {
			continue // compileRedirect said why
		}
		r.attach("HTTPRoute", &route.ObjectMeta, route.Spec.Hostnames, route.Spec.ParentRefs, gateways, listenersOf,
			func(li *listenerInfo, hosts []string) {
				a := rd
				a.hosts = hosts
				li.redirects = append(li.redirects, a)
			})
	}
	return nil
}

// attach resolves a route's parentRefs to listeners and calls add for each listener that
// accepts it, with the hostnames it serves there; a parentRef that attaches nowhere gets a
// diagnostic with the spec's reason.
func (r *renderer) attach(kind string, meta *metav1.ObjectMeta, hostnames []gatewayv1.Hostname, parents []gatewayv1.ParentReference,
	gateways map[string]*gatewayv1.Gateway, listenersOf map[*gatewayv1.Gateway][]*listenerInfo, add func(*listenerInfo, []string)) {
	diag := func(field, reason, format string, args ...any) {
		r.diag(kind, meta.Namespace, meta.Name, field, reason, fmt.Sprintf(format, args...))
	}
	var routeHosts []string
	for hi, h := range hostnames {
		host := strings.ToLower(string(h))
		if !validHostname(host) {
			diag(fmt.Sprintf("spec.hostnames[%d]", hi), "UnsupportedValue", "invalid hostname %q; route not accepted", h)
			return
		}
		routeHosts = append(routeHosts, host)
	}
	for pi, pr := range parents {
		field := fmt.Sprintf("spec.parentRefs[%d]", pi)
		if (pr.Group != nil && string(*pr.Group) != gatewayGroup) || (pr.Kind != nil && *pr.Kind != "Gateway") {
			diag(field, "InvalidKind", "parentRef must be a %s Gateway", gatewayGroup)
			continue
		}
		ns := meta.Namespace
		if pr.Namespace != nil {
			ns = string(*pr.Namespace)
		}
		gw, ok := gateways[objKey(ns, string(pr.Name))]
		if !ok {
			diag(field, "NoMatchingParent", "Gateway %s/%s not found", ns, pr.Name)
			continue
		}
		var reasons []string
		attachedHere := 0
		for _, li := range listenersOf[gw] {
			if pr.SectionName != nil && string(*pr.SectionName) != string(li.spec.Name) {
				continue
			}
			if pr.Port != nil && *pr.Port != li.spec.Port {
				continue
			}
			if why := r.allows(li, kind, meta.Namespace); why != "" {
				reasons = append(reasons, fmt.Sprintf("listener %q: %s", li.spec.Name, why))
				continue
			}
			hosts := intersect(li.hostname, routeHosts)
			if len(hosts) == 0 {
				reasons = append(reasons, fmt.Sprintf("listener %q: no hostname intersects %q", li.spec.Name, li.hostname))
				continue
			}
			add(li, hosts)
			attachedHere++
		}
		switch {
		case attachedHere > 0:
		case len(reasons) == 0:
			diag(field, "NoMatchingParent", "Gateway %s/%s has no programmed HTTP or HTTPS listener matching sectionName/port", ns, pr.Name)
		case strings.Contains(strings.Join(reasons, ""), "no hostname intersects"):
			diag(field, "NoMatchingListenerHostname", "%s", strings.Join(reasons, "; "))
		default:
			diag(field, "NotAllowedByListeners", "%s", strings.Join(reasons, "; "))
		}
	}
}

// allows says why a listener does not accept the route ("" when it does).
func (r *renderer) allows(li *listenerInfo, kind, namespace string) string {
	ar := li.spec.AllowedRoutes
	if ar != nil && len(ar.Kinds) > 0 {
		ok := false
		for _, k := range ar.Kinds {
			if (k.Group == nil || string(*k.Group) == gatewayGroup) && string(k.Kind) == kind {
				ok = true
			}
		}
		if !ok {
			return "allowedRoutes.kinds excludes " + kind
		}
	}
	from := gatewayv1.NamespacesFromSame
	if ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil {
		from = *ar.Namespaces.From
	}
	switch from {
	case gatewayv1.NamespacesFromAll:
		return ""
	case gatewayv1.NamespacesFromSame:
		if namespace == li.gw.Namespace {
			return ""
		}
		return fmt.Sprintf("routes only from namespace %q", li.gw.Namespace)
	case gatewayv1.NamespacesFromSelector:
		if ar.Namespaces.Selector == nil {
			return "allowedRoutes.namespaces.from is Selector but no selector is set"
		}
		sel, err := metav1.LabelSelectorAsSelector(ar.Namespaces.Selector)
		if err != nil {
			return fmt.Sprintf("invalid allowedRoutes.namespaces.selector: %v", err)
		}
		if sel.Matches(labels.Set(r.namespaceLabels(namespace))) {
			return ""
		}
		return fmt.Sprintf("namespace %q does not match the allowedRoutes selector", namespace)
	default:
		return fmt.Sprintf("allowedRoutes.namespaces.from is %q", from)
	}
}

func (r *renderer) namespaceLabels(ns string) map[string]string {
	out := map[string]string{"kubernetes.io/metadata.name": ns}
	for _, n := range r.in.Namespaces {
		if n != nil && n.Name == ns {
			for k, v := range n.Labels {
				out[k] = v
			}
		}
	}
	return out
}

var (
	headerNameRe = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	serviceRe    = regexp.MustCompile(`^\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$`)
	methodRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9]*$`)
)

// compileRules validates a route's rules and resolves their backends. A match the emulator
// cannot express rejects the whole route, as a controller sets Accepted=False.
func (r *renderer) compileRules(route *gatewayv1.GRPCRoute) ([]compiledRule, bool) {
	reject := func(field, reason, format string, args ...any) ([]compiledRule, bool) {
		r.diag("GRPCRoute", route.Namespace, route.Name, field, reason, fmt.Sprintf(format, args...))
		return nil, false
	}
	var rules []compiledRule
	for i, rule := range route.Spec.Rules {
		field := fmt.Sprintf("spec.rules[%d]", i)
		var cr compiledRule
		for j, m := range rule.Matches {
			mfield := fmt.Sprintf("%s.matches[%d]", field, j)
			cm := compiledMatch{pathRe: `/[^/?]+/[^/?]+`}
			if m.Method != nil {
				svc, meth, err := methodRegex(m.Method)
				if err != nil {
					return reject(mfield+".method", "UnsupportedValue", "%v", err)
				}
				cm.pathRe = "/" + svc + "/" + meth
				if m.Method.Service != nil {
					cm.service = len(*m.Method.Service)
				}
				if m.Method.Method != nil {
					cm.method = len(*m.Method.Method)
				}
			}
			seen := map[string]bool{}
			for k, h := range m.Headers {
				hfield := fmt.Sprintf("%s.headers[%d]", mfield, k)
				name := strings.ToLower(string(h.Name))
				if !headerNameRe.MatchString(name) {
					return reject(hfield+".name", "UnsupportedValue", "header name %q: only letters, digits and '-' can be matched", h.Name)
				}
				if seen[name] {
					// The spec keeps the first condition for a repeated name.
					continue
				}
				seen[name] = true
				var re string
				switch {
				case h.Type == nil || *h.Type == gatewayv1.GRPCHeaderMatchExact:
					re = "^" + regexp.QuoteMeta(h.Value) + `\z`
				case *h.Type == gatewayv1.GRPCHeaderMatchRegularExpression:
					if _, err := regexp.Compile(h.Value); err != nil {
						return reject(hfield+".value", "UnsupportedValue", "invalid regular expression %q: %v", h.Value, err)
					}
					re = "^(?:" + h.Value + `)\z`
				default:
					return reject(hfield+".type", "UnsupportedValue", "header match type %q", *h.Type)
				}
				cm.headers = append(cm.headers, r.headerCond(headerCond{variable: "http_" + strings.ReplaceAll(name, "-", "_"), regex: re}))
			}
			cr.matches = append(cr.matches, cm)
		}
		if len(cr.matches) == 0 {
			// No matches: the rule matches every request.
			cr.matches = []compiledMatch{{pathRe: `/[^/?]+/[^/?]+`}}
		}
		for fi, f := range rule.Filters {
			r.diag("GRPCRoute", route.Namespace, route.Name, fmt.Sprintf("%s.filters[%d]", field, fi), "UnsupportedValue",
				fmt.Sprintf("filter %q is not implemented by the local emulator; the rule is rendered without it", f.Type))
		}
		if rule.SessionPersistence != nil {
			r.diag("GRPCRoute", route.Namespace, route.Name, field+".sessionPersistence", "UnsupportedValue",
				"sessionPersistence is not implemented by the local emulator")
		}
		cr.target = r.target(r.ruleShares(route, field, rule))
		rules = append(rules, cr)
	}
	return rules, true
}

// ruleShares resolves a rule's backendRefs; invalid ones keep their weight and answer
// Unavailable, as the spec asks.
func (r *renderer) ruleShares(route *gatewayv1.GRPCRoute, field string, rule gatewayv1.GRPCRouteRule) []weighted {
	var shares []weighted
	for bi, br := range rule.BackendRefs {
		bfield := fmt.Sprintf("%s.backendRefs[%d]", field, bi)
		diag := func(reason, msg string) {
			r.diag("GRPCRoute", route.Namespace, route.Name, bfield, reason, msg)
		}
		w := int64(1)
		if br.Weight != nil {
			w = int64(*br.Weight)
		}
		if w < 0 {
			diag("UnsupportedValue", fmt.Sprintf("negative weight %d is treated as 0", w))
			w = 0
		}
		for fi, f := range br.Filters {
			r.diag("GRPCRoute", route.Namespace, route.Name, fmt.Sprintf("%s.filters[%d]", bfield, fi), "UnsupportedValue",
				fmt.Sprintf("filter %q is not implemented by the local emulator; the backend is used without it", f.Type))
		}
		bad := weighted{target: markUnavailable, weight: w}
		if (br.Group != nil && *br.Group != "") || (br.Kind != nil && *br.Kind != "Service") {
			diag("InvalidKind", "backendRef must be a core Service")
			shares = append(shares, bad)
			continue
		}
		ns := route.Namespace
		if br.Namespace != nil {
			ns = string(*br.Namespace)
		}
		if ns != route.Namespace && !r.granted(route.Namespace, "GRPCRoute", ns, "", "Service", string(br.Name)) {
			diag("RefNotPermitted", fmt.Sprintf("Service %s/%s is in another namespace and no ReferenceGrant allows it", ns, br.Name))
			shares = append(shares, bad)
			continue
		}
		if br.Port == nil {
			diag("UnsupportedValue", "backendRef to a Service needs a port")
			shares = append(shares, bad)
			continue
		}
		up, reason, msg := r.resolveService(ns, string(br.Name), int32(*br.Port))
		if up == "" {
			diag(reason, msg)
			shares = append(shares, bad)
			continue
		}
		shares = append(shares, weighted{target: up, weight: w})
	}
	if len(rule.BackendRefs) == 0 {
		r.diag("GRPCRoute", route.Namespace, route.Name, field+".backendRefs", "BackendNotFound",
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
	name     string        // server_name pattern; anyHost for the default server
	listener *listenerInfo // nil: no listener takes this host
	entries  []candidate
	conds    []int // header conditions the entries use, in flag order
}

// candidate is one rule match in a server block, with its precedence keys.
type candidate struct {
	hostExact, hostAll, service, method, headers int
	created                                      metav1.Time
	nsName                                       string
	rule, match                                  int
	m                                            compiledMatch
	target                                       string
}

// gatewayServers builds the server blocks of one address: one per listener hostname and
// per route hostname, plus the default server.
func (r *renderer) gatewayServers(ga *gatewayAddr) []*gwServer {
	names := []string{}
	for _, li := range ga.listeners {
		if li.hostname != anyHost {
			names = append(names, li.hostname)
		}
		for _, a := range li.attached {
			for _, h := range a.hosts {
				if h != anyHost {
					names = append(names, h)
				}
			}
		}
	}
	names = dedupe(names)
	sort.Strings(names)
	names = append([]string{anyHost}, names...)
	var out []*gwServer
	for _, name := range names {
		s := &gwServer{addr: ga, name: name, listener: listenerFor(ga, name)}
		if s.listener != nil {
			s.entries = candidates(s.listener, name)
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

// listenerFor picks the listener a host pattern reaches: the most specific listener hostname
// covering it, as the spec requires when listeners share a port.
func listenerFor(ga *gatewayAddr, name string) *listenerInfo {
	var best *listenerInfo
	for _, li := range ga.listeners {
		if !covers(li.hostname, name) {
			continue
		}
		if best == nil || moreSpecific(li.hostname, best.hostname) {
			best = li
		}
	}
	return best
}

// candidates lists, in precedence order, every rule match of the routes attached to li whose
// hostnames cover the server name.
func candidates(li *listenerInfo, name string) []candidate {
	var out []candidate
	for _, a := range li.attached {
		matched, found := anyHost, false
		for _, h := range a.hosts {
			if covers(h, name) && (!found || moreSpecific(h, matched)) {
				matched, found = h, true
			}
		}
		if !found {
			continue
		}
		he, ha := specificity(matched)
		for ri, rule := range a.rules {
			for mi, m := range rule.matches {
				out = append(out, candidate{
					hostExact: he, hostAll: ha, service: m.service, method: m.method, headers: len(m.headers),
					created: a.route.CreationTimestamp, nsName: objKey(a.route.Namespace, a.route.Name),
					rule: ri, match: mi, m: m, target: rule.target,
				})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return precedes(out[i], out[j]) })
	return out
}

// precedes is the GRPCRoute precedence order: hostname, service, method, header count, then
// the oldest route, then namespace/name, then rule and match order.
func precedes(a, b candidate) bool {
	if a.hostExact != b.hostExact {
		return a.hostExact > b.hostExact
	}
	if a.hostAll != b.hostAll {
		return a.hostAll > b.hostAll
	}
	if a.service != b.service {
		return a.service > b.service
	}
	if a.method != b.method {
		return a.method > b.method
	}
	if a.headers != b.headers {
		return a.headers > b.headers
	}
	if !a.created.Equal(&b.created) {
		return a.created.Before(&b.created)
	}
	if a.nsName != b.nsName {
		return a.nsName < b.nsName
	}
	if a.rule != b.rule {
		return a.rule < b.rule
	}
	return a.match < b.match
}
