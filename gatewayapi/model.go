// Package gatewayapi resolves Gateway API objects into one model, computed once: the listeners
// of every Gateway, the GRPCRoutes and HTTPRoutes attached to each with their effective
// hostnames, rules and matches in the spec's precedence, backends with weights and whether each
// resolved, and the Accepted and ResolvedRefs conditions the spec defines, per listener and per
// route parent. ReferenceGrants and the Namespaces' labels (allowedRoutes `from: Selector`) are
// honoured here and nowhere else.
//
// Manifest validation reports the model's Issues as errors; the local platform's nginx renderer
// serves what the model attached. Neither re-implements attachment, grants or hostnames.
package gatewayapi

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
)

// Group is the Gateway API group.
const Group = gatewayv1.GroupName

// Objects are what the model is computed from. Nil entries are skipped.
type Objects struct {
	Gateways   []*gatewayv1.Gateway
	GRPCRoutes []*gatewayv1.GRPCRoute
	HTTPRoutes []*gatewayv1.HTTPRoute
	Services   []*corev1.Service
	// ReferenceGrants permit cross-namespace backendRefs and certificateRefs.
	ReferenceGrants []*gatewayv1.ReferenceGrant
	// Namespaces give the labels that listener allowedRoutes selectors match; a namespace not
	// listed has only its kubernetes.io/metadata.name label.
	Namespaces []*corev1.Namespace
}

// Collect picks the kinds the model reads out of objs, in order. v1beta1 ReferenceGrants are
// taken as v1 (the two are the same schema).
func Collect(objs []client.Object) Objects {
	var o Objects
	for _, obj := range objs {
		switch v := obj.(type) {
		case *gatewayv1.Gateway:
			o.Gateways = append(o.Gateways, v)
		case *gatewayv1.GRPCRoute:
			o.GRPCRoutes = append(o.GRPCRoutes, v)
		case *gatewayv1.HTTPRoute:
			o.HTTPRoutes = append(o.HTTPRoutes, v)
		case *corev1.Service:
			o.Services = append(o.Services, v)
		case *gatewayv1.ReferenceGrant:
			o.ReferenceGrants = append(o.ReferenceGrants, v)
		case *gatewayv1beta1.ReferenceGrant:
			o.ReferenceGrants = append(o.ReferenceGrants, (*gatewayv1.ReferenceGrant)(v))
		case *corev1.Namespace:
			o.Namespaces = append(o.Namespaces, v)
		}
	}
	return o
}

// Model is the resolved view of the objects.
type Model struct {
	// Listeners in Gateway order, then spec order.
	Listeners []*Listener
	// Routes: the GRPCRoutes, then the HTTPRoutes, in input order.
	Routes []*Route
	// Issues are every condition that is not True, once each, in the order found: what
	// validation reports and what the renderer turns into Diagnostics.
	Issues []Issue
}

// Issue is one thing the spec says is wrong with an object, with the condition's reason.
type Issue struct {
	Object client.Object
	// Kind, Namespace and Name identify the object ("GRPCRoute", "default", "foo-route").
	Kind, Namespace, Name string
	// Field is the offending field's path ("spec.rules[0].backendRefs[1].namespace").
	Field string
	// Reason is the spec's condition reason ("RefNotPermitted").
	Reason, Message string
}

// Condition is a status condition as the spec shapes it.
type Condition struct {
	Type    string // "Accepted", "ResolvedRefs"
	Status  bool
	Reason  string
	Message string
}

// Listener is one Gateway listener.
type Listener struct {
	Gateway *gatewayv1.Gateway
	Index   int
	Field   string // "spec.listeners[2]"
	Spec    gatewayv1.Listener
	// Hostname is the listener's, lower case; AnyHost when unset.
	Hostname string
	// Certificates are the TLS certificateRefs, each resolved or not.
	Certificates []CertificateRef
	Conditions   []Condition
	// Routes are the routes attached here, with the hostnames each serves here.
	Routes []Attachment
	// accepts is false when the listener cannot take routes (an invalid hostname).
	accepts bool
	kinds   []string // route kinds allowed
}

// Accepted reports whether the listener takes routes (its Accepted condition).
func (l *Listener) Accepted() bool {
	return l.accepts
}

// CertificateRef is one TLS certificateRef of a listener.
type CertificateRef struct {
	Field           string // "spec.listeners[0].tls.certificateRefs[1]"
	Namespace, Name string
	Resolved        bool
}

// Attachment is a route attached to a listener.
type Attachment struct {
	Route *Route
	// Hostnames are the listener's and the route's hostnames intersected (spec: the
	// more specific of each pair); [AnyHost] means every host.
	Hostnames []string
}

// Route is one GRPCRoute or HTTPRoute.
type Route struct {
	Kind   string // "GRPCRoute", "HTTPRoute"
	Object client.Object
	// GRPC or HTTP is set, as Kind says.
	GRPC            *gatewayv1.GRPCRoute
	HTTP            *gatewayv1.HTTPRoute
	Namespace, Name string
	Created         metav1.Time
	// Hostnames are the route's, lower case.
	Hostnames []string
	Parents   []Parent
	Rules     []Rule
}

// Parent is one parentRef of a route, with what it attached to.
type Parent struct {
	Index   int
	Field   string // "spec.parentRefs[0]"
	Ref     gatewayv1.ParentReference
	Gateway *gatewayv1.Gateway // nil when not found
	// Listeners are those the route attached to through this parentRef.
	Listeners  []*Listener
	Conditions []Condition // Accepted, ResolvedRefs
}

// Accepted reports whether the parentRef attached to at least one listener.
func (p Parent) Accepted() bool {
	return len(p.Listeners) > 0
}

// Rule is one route rule.
type Rule struct {
	Index int
	Field string // "spec.rules[0]"
	// Matches of a GRPCRoute rule; a rule without matches has one that matches everything.
	// Empty for HTTPRoutes.
	Matches  []Match
	Backends []Backend
}

// Match is one GRPCRoute match, headers repeated by name dropped (the spec keeps the first).
type Match struct {
	Index   int
	Field   string // "spec.rules[0].matches[1]"; the rule's field for the implicit match
	Method  *gatewayv1.GRPCMethodMatch
	Headers []HeaderMatch
}

// HeaderMatch is a header condition with its field.
type HeaderMatch struct {
	Field string
	gatewayv1.GRPCHeaderMatch
}

// Backend is one backendRef.
type Backend struct {
	Index           int
	Field           string // "spec.rules[0].backendRefs[1]"
	Namespace, Name string
	Port            int32
	// Weight is the ref's, 1 when unset.
	Weight int32
	// Resolved: a core Service in a permitted namespace with that port. An unresolved
	// backend keeps its weight; its share of requests fails (the spec: 500 / Unavailable).
	Resolved bool
	Service  *corev1.Service
	// Reason and Message say why it did not resolve.
	Reason, Message string
}

// Build computes the model.
func Build(in Objects) *Model {
	b := &builder{
		m:        &Model{},
		gateways: map[string]*gatewayv1.Gateway{},
		services: map[string]*corev1.Service{},
		nsLabels: map[string]map[string]string{},
		byGW:     map[*gatewayv1.Gateway][]*Listener{},
		grants:   in.ReferenceGrants,
	}
	for _, s := range in.Services {
		if s != nil {
			b.services[key(s.Namespace, s.Name)] = s
		}
	}
	for _, ns := range in.Namespaces {
		if ns != nil {
			b.nsLabels[ns.Name] = ns.Labels
		}
	}
	for _, gw := range in.Gateways {
		if gw != nil {
			b.gateways[key(gw.Namespace, gw.Name)] = gw
			b.listeners(gw)
		}
	}
	for _, r := range in.GRPCRoutes {
		if r != nil {
			b.route(&Route{Kind: "GRPCRoute", Object: r, GRPC: r, Namespace: r.Namespace, Name: r.Name, Created: r.CreationTimestamp},
				r.Spec.Hostnames, r.Spec.ParentRefs, grpcRules(r))
		}
	}
	for _, r := range in.HTTPRoutes {
		if r != nil {
			b.route(&Route{Kind: "HTTPRoute", Object: r, HTTP: r, Namespace: r.Namespace, Name: r.Name, Created: r.CreationTimestamp},
				r.Spec.Hostnames, r.Spec.ParentRefs, httpRules(r))
		}
	}
	return b.m
}

type builder struct {
	m        *Model
	gateways map[string]*gatewayv1.Gateway
	services map[string]*corev1.Service
	nsLabels map[string]map[string]string
	byGW     map[*gatewayv1.Gateway][]*Listener
	grants   []*gatewayv1.ReferenceGrant
}

func key(ns, name string) string { return ns + "/" + name }

func (b *builder) issue(o client.Object, kind, field, reason, format string, args ...any) {
	b.m.Issues = append(b.m.Issues, Issue{Object: o, Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName(),
		Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

// granted reports whether a ReferenceGrant in toNS lets fromKind objects of fromNS refer to
// the named object of toGroup/toKind.
func (b *builder) granted(fromKind, fromNS, toGroup, toKind, toNS, toName string) bool {
	for _, g := range b.grants {
		if g == nil || g.Namespace != toNS {
			continue
		}
		fromOK := false
		for _, f := range g.Spec.From {
			fromOK = fromOK || (string(f.Group) == Group && string(f.Kind) == fromKind && string(f.Namespace) == fromNS)
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

// protocolKinds are the route kinds each listener protocol carries.
var protocolKinds = map[gatewayv1.ProtocolType][]string{
	gatewayv1.HTTPProtocolType:  {"HTTPRoute", "GRPCRoute"},
	gatewayv1.HTTPSProtocolType: {"HTTPRoute", "GRPCRoute"},
	gatewayv1.TLSProtocolType:   {"TLSRoute"},
	gatewayv1.TCPProtocolType:   {"TCPRoute"},
	gatewayv1.UDPProtocolType:   {"UDPRoute"},
}

func (b *builder) listeners(gw *gatewayv1.Gateway) {
	for i, spec := range gw.Spec.Listeners {
		l := &Listener{Gateway: gw, Index: i, Field: fmt.Sprintf("spec.listeners[%d]", i), Spec: spec, accepts: true}
		accepted := Condition{Type: string(gatewayv1.ListenerConditionAccepted), Status: true, Reason: string(gatewayv1.ListenerReasonAccepted)}
		resolved := Condition{Type: string(gatewayv1.ListenerConditionResolvedRefs), Status: true, Reason: string(gatewayv1.ListenerReasonResolvedRefs)}
		fail := func(c *Condition, field string, reason gatewayv1.ListenerConditionReason, format string, args ...any) {
			b.issue(gw, "Gateway", l.Field+field, string(reason), format, args...)
			if c.Status {
				*c = Condition{Type: c.Type, Reason: string(reason), Message: b.m.Issues[len(b.m.Issues)-1].Message}
			}
		}
		if spec.Hostname != nil {
			l.Hostname = strings.ToLower(string(*spec.Hostname))
			if !ValidHostname(l.Hostname) {
				l.accepts = false
				fail(&accepted, ".hostname", gatewayv1.ListenerReasonUnsupportedValue, "listener %q: invalid hostname %q", spec.Name, *spec.Hostname)
			}
		}
		supported := protocolKinds[spec.Protocol]
		if spec.AllowedRoutes != nil && len(spec.AllowedRoutes.Kinds) > 0 {
			for ki, k := range spec.AllowedRoutes.Kinds {
				g := Group
				if k.Group != nil {
					g = string(*k.Group)
				}
				if g != Group || !slices.Contains(supported, string(k.Kind)) {
					fail(&resolved, fmt.Sprintf(".allowedRoutes.kinds[%d]", ki), gatewayv1.ListenerReasonInvalidRouteKinds,
						"listener %q (%s) cannot carry %s/%s", spec.Name, spec.Protocol, g, k.Kind)
					continue
				}
				l.kinds = append(l.kinds, string(k.Kind))
			}
		} else {
			l.kinds = supported
		}
		if spec.TLS != nil {
			for ci, ref := range spec.TLS.CertificateRefs {
				cf := fmt.Sprintf(".tls.certificateRefs[%d]", ci)
				ns := gw.Namespace
				if ref.Namespace != nil {
					ns = string(*ref.Namespace)
				}
				c := CertificateRef{Field: l.Field + cf, Namespace: ns, Name: string(ref.Name)}
				switch {
				case (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret"):
					fail(&resolved, cf+".kind", gatewayv1.ListenerReasonInvalidCertificateRef, "listener %q: a certificateRef must be a core Secret, not %s/%s",
						spec.Name, deref(ref.Group), deref(ref.Kind))
				case ns != gw.Namespace && !b.granted("Gateway", gw.Namespace, "", "Secret", ns, string(ref.Name)):
					fail(&resolved, cf+".namespace", gatewayv1.ListenerReasonRefNotPermitted,
						"no ReferenceGrant in namespace %q lets Gateway %s/%s reference Secret %s", ns, gw.Namespace, gw.Name, ref.Name)
				default:
					c.Resolved = true
				}
				l.Certificates = append(l.Certificates, c)
			}
		}
		if spec.Protocol == gatewayv1.HTTPSProtocolType && (spec.TLS == nil || len(spec.TLS.CertificateRefs) == 0) {
			fail(&resolved, ".tls.certificateRefs", gatewayv1.ListenerReasonInvalidCertificateRef, "HTTPS listener %q needs a certificateRef", spec.Name)
		}
		l.Conditions = []Condition{accepted, resolved}
		b.m.Listeners = append(b.m.Listeners, l)
		b.byGW[gw] = append(b.byGW[gw], l)
	}
	b.conflicts(gw)
}

// httpFamily are the protocols whose listeners are told apart by port and hostname; the
// others (TCP, UDP) by port alone.
var httpFamily = []gatewayv1.ProtocolType{gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType, gatewayv1.TLSProtocolType}

// conflicts applies the spec's "Handling indistinct Listeners" (GatewaySpec.Listeners): two
// listeners of the Gateway on one port conflict when their protocols differ
// (ProtocolConflict), or when they share the protocol and, for HTTP, HTTPS and TLS, the
// hostname (HostnameConflict). Every conflicted listener gets Conflicted=True and none is
// accepted: the spec forbids picking a winner.
func (b *builder) conflicts(gw *gatewayv1.Gateway) {
	ls := b.byGW[gw]
	reasons := make([]gatewayv1.ListenerConditionReason, len(ls))
	with := make([]string, len(ls))
	for i, a := range ls {
		for j, c := range ls {
			if i == j || a.Spec.Port != c.Spec.Port {
				continue
			}
			var reason gatewayv1.ListenerConditionReason
			switch {
			case a.Spec.Protocol != c.Spec.Protocol:
				reason = gatewayv1.ListenerReasonProtocolConflict
			case !slices.Contains(httpFamily, a.Spec.Protocol) || a.Hostname == c.Hostname:
				reason = gatewayv1.ListenerReasonHostnameConflict
			default:
				continue
			}
			if reasons[i] == "" || reason == gatewayv1.ListenerReasonProtocolConflict {
				reasons[i], with[i] = reason, string(c.Spec.Name)
			}
		}
	}
	for i, l := range ls {
		if reasons[i] == "" {
			continue
		}
		b.issue(gw, "Gateway", l.Field, string(reasons[i]), "listener %q (%s, port %d) conflicts with listener %q: neither is accepted",
			l.Spec.Name, l.Spec.Protocol, l.Spec.Port, with[i])
		// As the conformance suite expects (tests/listenerset-hostname-conflict.go): Accepted
		// False and Conflicted True, both with the conflict's reason.
		msg := b.m.Issues[len(b.m.Issues)-1].Message
		l.accepts = false
		if l.Conditions[0].Status {
			l.Conditions[0] = Condition{Type: string(gatewayv1.ListenerConditionAccepted), Reason: string(reasons[i]), Message: msg}
		}
		l.Conditions = append(l.Conditions, Condition{Type: string(gatewayv1.ListenerConditionConflicted), Status: true, Reason: string(reasons[i]), Message: msg})
	}
}

func deref[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// ruleSpec is what the builder needs of one rule of either kind.
type ruleSpec struct {
	matches  []gatewayv1.GRPCRouteMatch
	grpc     bool
	backends []gatewayv1.BackendRef
}

func grpcRules(r *gatewayv1.GRPCRoute) []ruleSpec {
	var out []ruleSpec
	for _, rule := range r.Spec.Rules {
		rs := ruleSpec{matches: rule.Matches, grpc: true}
		for _, br := range rule.BackendRefs {
			rs.backends = append(rs.backends, br.BackendRef)
		}
		out = append(out, rs)
	}
	return out
}

func httpRules(r *gatewayv1.HTTPRoute) []ruleSpec {
	var out []ruleSpec
	for _, rule := range r.Spec.Rules {
		rs := ruleSpec{}
		for _, br := range rule.BackendRefs {
			rs.backends = append(rs.backends, br.BackendRef)
		}
		out = append(out, rs)
	}
	return out
}

func (b *builder) route(r *Route, hostnames []gatewayv1.Hostname, parents []gatewayv1.ParentReference, rules []ruleSpec) {
	b.m.Routes = append(b.m.Routes, r)
	hostsOK := true
	for hi, h := range hostnames {
		host := strings.ToLower(string(h))
		if !ValidHostname(host) {
			b.issue(r.Object, r.Kind, fmt.Sprintf("spec.hostnames[%d]", hi), string(gatewayv1.RouteReasonUnsupportedValue), "invalid hostname %q", h)
			hostsOK = false
		}
		r.Hostnames = append(r.Hostnames, host)
	}
	resolved := Condition{Type: string(gatewayv1.RouteConditionResolvedRefs), Status: true, Reason: string(gatewayv1.RouteReasonResolvedRefs)}
	for ri, rs := range rules {
		rule := Rule{Index: ri, Field: fmt.Sprintf("spec.rules[%d]", ri)}
		if rs.grpc {
			rule.Matches = matchesOf(rule.Field, rs.matches)
		}
		for bi, br := range rs.backends {
			be := b.backend(r, fmt.Sprintf("%s.backendRefs[%d]", rule.Field, bi), bi, br)
			if !be.Resolved && resolved.Status {
				resolved = Condition{Type: resolved.Type, Reason: be.Reason, Message: be.Message}
			}
			rule.Backends = append(rule.Backends, be)
		}
		r.Rules = append(r.Rules, rule)
	}
	for pi, ref := range parents {
		p := Parent{Index: pi, Field: fmt.Sprintf("spec.parentRefs[%d]", pi), Ref: ref}
		reason, field, msg := string(gatewayv1.RouteReasonUnsupportedValue), "", "the route's hostnames are invalid"
		if hostsOK {
			reason, field, msg = b.attach(r, &p)
		}
		accepted := Condition{Type: string(gatewayv1.RouteConditionAccepted), Status: true, Reason: string(gatewayv1.RouteReasonAccepted)}
		if !p.Accepted() {
			accepted = Condition{Type: accepted.Type, Reason: reason, Message: msg}
			if hostsOK {
				b.issue(r.Object, r.Kind, p.Field+field, reason, "%s", msg)
			}
		}
		p.Conditions = []Condition{accepted, resolved}
		r.Parents = append(r.Parents, p)
	}
}

// attach resolves one parentRef to listeners; when none takes the route it returns the spec's
// reason, the offending field below the parentRef and a message.
func (b *builder) attach(r *Route, p *Parent) (reason, field, msg string) {
	ref := p.Ref
	if g := deref(ref.Group); ref.Group != nil && g != Group {
		return string(gatewayv1.RouteReasonInvalidKind), ".group", fmt.Sprintf("parentRef group %q: only %s Gateways are parents", g, Group)
	}
	if k := deref(ref.Kind); ref.Kind != nil && k != "Gateway" {
		return string(gatewayv1.RouteReasonInvalidKind), ".kind", fmt.Sprintf("parentRef kind %q: only Gateways are parents", k)
	}
	ns := r.Namespace
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	gw, ok := b.gateways[key(ns, string(ref.Name))]
	if !ok {
		return string(gatewayv1.RouteReasonNoMatchingParent), ".name", fmt.Sprintf("Gateway %s/%s not found", ns, ref.Name)
	}
	p.Gateway = gw
	var selected []*Listener
	for _, l := range b.byGW[gw] {
		if ref.SectionName != nil && string(*ref.SectionName) != string(l.Spec.Name) {
			continue
		}
		if ref.Port != nil && *ref.Port != l.Spec.Port {
			continue
		}
		selected = append(selected, l)
	}
	switch {
	case len(selected) == 0 && ref.SectionName != nil:
		return string(gatewayv1.RouteReasonNoMatchingParent), ".sectionName", fmt.Sprintf("no listener %s of Gateway %s/%s", *ref.SectionName, ns, ref.Name)
	case len(selected) == 0 && ref.Port != nil:
		return string(gatewayv1.RouteReasonNoMatchingParent), ".port", fmt.Sprintf("no listener on port %d of Gateway %s/%s", *ref.Port, ns, ref.Name)
	case len(selected) == 0:
		return string(gatewayv1.RouteReasonNoMatchingParent), "", fmt.Sprintf("Gateway %s/%s has no listeners", ns, ref.Name)
	}
	var notAllowed, noHost []string
	for _, l := range selected {
		if why := b.allows(l, r.Kind, r.Namespace); why != "" {
			notAllowed = append(notAllowed, fmt.Sprintf("listener %q: %s", l.Spec.Name, why))
			continue
		}
		hosts := Intersect(l.Hostname, r.Hostnames)
		if len(hosts) == 0 {
			noHost = append(noHost, fmt.Sprintf("listener %q: no route hostname intersects %q", l.Spec.Name, l.Hostname))
			continue
		}
		l.Routes = append(l.Routes, Attachment{Route: r, Hostnames: hosts})
		p.Listeners = append(p.Listeners, l)
	}
	if len(noHost) > 0 {
		return string(gatewayv1.RouteReasonNoMatchingListenerHostname), "", strings.Join(append(noHost, notAllowed...), "; ")
	}
	return string(gatewayv1.RouteReasonNotAllowedByListeners), "", fmt.Sprintf("no listener of Gateway %s/%s admits a %s from namespace %q: %s",
		ns, ref.Name, r.Kind, r.Namespace, strings.Join(notAllowed, "; "))
}

// allows says why a listener does not accept a route of kind from namespace ("" when it does):
// allowedRoutes kinds (by default those of the listener's protocol) and namespaces (Same by
// default, All, or a Selector over the namespace's labels).
func (b *builder) allows(l *Listener, kind, namespace string) string {
	if !l.accepts {
		return "the listener is not accepted"
	}
	if !slices.Contains(l.kinds, kind) {
		return fmt.Sprintf("%s listeners with these allowedRoutes.kinds do not carry %s", l.Spec.Protocol, kind)
	}
	ar := l.Spec.AllowedRoutes
	from := gatewayv1.NamespacesFromSame
	if ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil {
		from = *ar.Namespaces.From
	}
	switch from {
	case gatewayv1.NamespacesFromAll:
		return ""
	case gatewayv1.NamespacesFromSame:
		if namespace == l.Gateway.Namespace {
			return ""
		}
		return fmt.Sprintf("routes only from namespace %q", l.Gateway.Namespace)
	case gatewayv1.NamespacesFromSelector:
		if ar.Namespaces.Selector == nil {
			return "allowedRoutes.namespaces.from is Selector but no selector is set"
		}
		sel, err := metav1.LabelSelectorAsSelector(ar.Namespaces.Selector)
		if err != nil {
			return fmt.Sprintf("invalid allowedRoutes.namespaces.selector: %v", err)
		}
		set := labels.Set{"kubernetes.io/metadata.name": namespace}
		for k, v := range b.nsLabels[namespace] {
			set[k] = v
		}
		if sel.Matches(set) {
			return ""
		}
		return fmt.Sprintf("namespace %q does not match the allowedRoutes selector %s", namespace, sel)
	default:
		return fmt.Sprintf("allowedRoutes.namespaces.from is %q", from)
	}
}

func (b *builder) backend(r *Route, field string, index int, br gatewayv1.BackendRef) Backend {
	be := Backend{Index: index, Field: field, Namespace: r.Namespace, Name: string(br.Name), Weight: 1}
	if br.Namespace != nil {
		be.Namespace = string(*br.Namespace)
	}
	if br.Weight != nil {
		be.Weight = *br.Weight
	}
	if br.Port != nil {
		be.Port = int32(*br.Port)
	}
	fail := func(sub string, reason gatewayv1.RouteConditionReason, format string, args ...any) Backend {
		be.Reason, be.Message = string(reason), fmt.Sprintf(format, args...)
		b.issue(r.Object, r.Kind, field+sub, be.Reason, "%s", be.Message)
		return be
	}
	if (br.Group != nil && *br.Group != "") || (br.Kind != nil && *br.Kind != "Service") {
		return fail(".kind", gatewayv1.RouteReasonInvalidKind, "a backendRef must be a core Service, not %s/%s", deref(br.Group), deref(br.Kind))
	}
	if be.Namespace != r.Namespace && !b.granted(r.Kind, r.Namespace, "", "Service", be.Namespace, be.Name) {
		return fail(".namespace", gatewayv1.RouteReasonRefNotPermitted,
			"no ReferenceGrant in namespace %q lets a %s from %q reference Service %s", be.Namespace, r.Kind, r.Namespace, be.Name)
	}
	svc, ok := b.services[key(be.Namespace, be.Name)]
	if !ok {
		return fail(".name", gatewayv1.RouteReasonBackendNotFound, "Service %s/%s not found", be.Namespace, be.Name)
	}
	if br.Port == nil {
		return fail(".port", gatewayv1.RouteReasonUnsupportedValue, "a backendRef to a Service needs a port")
	}
	var ports []string
	for _, sp := range svc.Spec.Ports {
		if sp.Port == be.Port {
			be.Resolved, be.Service = true, svc
			return be
		}
		ports = append(ports, fmt.Sprint(sp.Port))
	}
	if len(ports) == 0 {
		ports = []string{"none"}
	}
	return fail(".port", gatewayv1.RouteReasonBackendNotFound, "port %d on Service %s/%s not found (it has %s)",
		be.Port, be.Namespace, be.Name, strings.Join(ports, ", "))
}

// matchesOf normalises a GRPCRoute rule's matches: an empty list is one match-all, and a header
// name repeated (case-insensitively) keeps its first condition, as the spec says.
func matchesOf(ruleField string, ms []gatewayv1.GRPCRouteMatch) []Match {
	if len(ms) == 0 {
		return []Match{{Field: ruleField}}
	}
	var out []Match
	for mi, m := range ms {
		mm := Match{Index: mi, Field: fmt.Sprintf("%s.matches[%d]", ruleField, mi), Method: m.Method}
		seen := map[string]bool{}
		for hi, h := range m.Headers {
			name := strings.ToLower(string(h.Name))
			if seen[name] {
				continue
			}
			seen[name] = true
			mm.Headers = append(mm.Headers, HeaderMatch{Field: fmt.Sprintf("%s.headers[%d]", mm.Field, hi), GRPCHeaderMatch: h})
		}
		out = append(out, mm)
	}
	return out
}
