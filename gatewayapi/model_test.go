package gatewayapi

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func ptr[T any](v T) *T { return &v }

// objects is a Gateway "infra/gw" with an HTTP listener "same" (routes from infra), one "sel"
// (routes from namespaces labelled grpc=yes) and an HTTPS one "tls" on *.example.com; Services
// "svc" in infra, apps and other.
func objects() Objects {
	sel := &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr(gatewayv1.NamespacesFromSelector),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"grpc": "yes"}}}}
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}, Spec: gatewayv1.GatewaySpec{Listeners: []gatewayv1.Listener{
		{Name: "same", Port: 80, Protocol: gatewayv1.HTTPProtocolType},
		{Name: "sel", Port: 8080, Protocol: gatewayv1.HTTPProtocolType, AllowedRoutes: sel},
		{Name: "tls", Port: 443, Protocol: gatewayv1.HTTPSProtocolType, Hostname: ptr(gatewayv1.Hostname("*.example.com")),
			TLS:           &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "cert"}}},
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr(gatewayv1.NamespacesFromAll)}}},
	}}}
	svc := func(ns string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "svc"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 50051}}}}
	}
	return Objects{
		Gateways:   []*gatewayv1.Gateway{gw},
		Services:   []*corev1.Service{svc("infra"), svc("apps"), svc("other")},
		Namespaces: []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: map[string]string{"grpc": "yes"}}}},
	}
}

func route(ns, name string, hosts []string, section string, backendNS string) *gatewayv1.GRPCRoute {
	r := &gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, h := range hosts {
		r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(h))
	}
	r.Spec.ParentRefs = []gatewayv1.ParentReference{{Namespace: ptr(gatewayv1.Namespace("infra")), Name: "gw", SectionName: ptr(gatewayv1.SectionName(section))}}
	b := gatewayv1.GRPCBackendRef{}
	b.Name, b.Port = "svc", ptr(gatewayv1.PortNumber(50051))
	if backendNS != "" {
		b.Namespace = ptr(gatewayv1.Namespace(backendNS))
	}
	r.Spec.Rules = []gatewayv1.GRPCRouteRule{{BackendRefs: []gatewayv1.GRPCBackendRef{b}}}
	return r
}

func grant(ns, fromNS string) *gatewayv1.ReferenceGrant {
	return &gatewayv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "g"}, Spec: gatewayv1.ReferenceGrantSpec{
		From: []gatewayv1.ReferenceGrantFrom{{Group: Group, Kind: "GRPCRoute", Namespace: gatewayv1.Namespace(fromNS)}},
		To:   []gatewayv1.ReferenceGrantTo{{Kind: "Service"}},
	}}
}

// TestConditions: each case's one route gets the Accepted and ResolvedRefs the spec gives it,
// and at most the one issue named.
func TestConditions(t *testing.T) {
	cases := []struct {
		name     string
		route    *gatewayv1.GRPCRoute
		grants   []*gatewayv1.ReferenceGrant
		accepted string // reason
		resolved string
		issue    string // "field reason", "" for none
	}{
		{"same namespace", route("infra", "r", nil, "same", ""), nil, "Accepted", "ResolvedRefs", ""},
		{"Same refuses another namespace", route("apps", "r", nil, "same", ""), nil,
			"NotAllowedByListeners", "ResolvedRefs", "spec.parentRefs[0] NotAllowedByListeners"},
		{"Selector admits a labelled namespace", route("apps", "r", nil, "sel", ""), nil, "Accepted", "ResolvedRefs", ""},
		{"Selector refuses an unlabelled namespace", route("other", "r", nil, "sel", ""), nil,
			"NotAllowedByListeners", "ResolvedRefs", "spec.parentRefs[0] NotAllowedByListeners"},
		{"cross-namespace backend without a grant", route("infra", "r", nil, "same", "apps"), nil,
			"Accepted", "RefNotPermitted", "spec.rules[0].backendRefs[0].namespace RefNotPermitted"},
		{"cross-namespace backend with a grant", route("infra", "r", nil, "same", "apps"), []*gatewayv1.ReferenceGrant{grant("apps", "infra")},
			"Accepted", "ResolvedRefs", ""},
		{"a grant in the wrong namespace", route("infra", "r", nil, "same", "apps"), []*gatewayv1.ReferenceGrant{grant("other", "infra")},
			"Accepted", "RefNotPermitted", "spec.rules[0].backendRefs[0].namespace RefNotPermitted"},
		{"a grant from another namespace", route("infra", "r", nil, "same", "apps"), []*gatewayv1.ReferenceGrant{grant("apps", "other")},
			"Accepted", "RefNotPermitted", "spec.rules[0].backendRefs[0].namespace RefNotPermitted"},
		{"no hostname intersection", route("apps", "r", []string{"foo.other.org"}, "tls", ""), nil,
			"NoMatchingListenerHostname", "ResolvedRefs", "spec.parentRefs[0] NoMatchingListenerHostname"},
		{"missing listener", route("infra", "r", nil, "nope", ""), nil,
			"NoMatchingParent", "ResolvedRefs", "spec.parentRefs[0].sectionName NoMatchingParent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := objects()
			in.GRPCRoutes = []*gatewayv1.GRPCRoute{tc.route}
			in.ReferenceGrants = tc.grants
			m := Build(in)
			p := m.Routes[0].Parents[0]
			if got := p.Conditions[0].Reason; got != tc.accepted {
				t.Errorf("Accepted reason %s, want %s (%s)", got, tc.accepted, p.Conditions[0].Message)
			}
			if got := p.Conditions[1].Reason; got != tc.resolved {
				t.Errorf("ResolvedRefs reason %s, want %s", got, tc.resolved)
			}
			var issues []string
			for _, is := range m.Issues {
				issues = append(issues, is.Field+" "+is.Reason)
			}
			if strings.Join(issues, "\n") != tc.issue {
				t.Errorf("issues:\n%s\nwant %q", strings.Join(issues, "\n"), tc.issue)
			}
		})
	}
}

// TestAttachmentHostnames: a route's effective hostnames on a wildcard listener.
func TestAttachmentHostnames(t *testing.T) {
	in := objects()
	in.GRPCRoutes = []*gatewayv1.GRPCRoute{route("apps", "r", []string{"a.example.com", "b.other.org", "*.example.com"}, "tls", "")}
	m := Build(in)
	tls := m.Listeners[2]
	if len(tls.Routes) != 1 || fmt.Sprint(tls.Routes[0].Hostnames) != "[a.example.com *.example.com]" {
		t.Errorf("attachments %+v", tls.Routes)
	}
}

// TestCandidatesPrecedence: hostname, then service, method and header count, then age.
func TestCandidatesPrecedence(t *testing.T) {
	in := objects()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(name string, created time.Time, host string, ms ...gatewayv1.GRPCRouteMatch) *gatewayv1.GRPCRoute {
		r := route("infra", name, []string{host}, "tls", "")
		r.CreationTimestamp = metav1.NewTime(created)
		r.Spec.Rules[0].Matches = ms
		return r
	}
	svc := func(mm gatewayv1.GRPCMethodMatch) gatewayv1.GRPCRouteMatch {
		return gatewayv1.GRPCRouteMatch{Method: &mm}
	}
	hdr := gatewayv1.GRPCRouteMatch{Headers: []gatewayv1.GRPCHeaderMatch{{Name: "a", Value: "1"}, {Name: "A", Value: "2"}, {Name: "b", Value: "3"}}}
	in.GRPCRoutes = []*gatewayv1.GRPCRoute{
		mk("wild", t0, "*.example.com", svc(gatewayv1.GRPCMethodMatch{Service: ptr("a.Service")})),
		mk("young", t0.Add(time.Hour), "x.example.com"),
		mk("old", t0, "x.example.com", hdr),
		mk("exact", t0, "x.example.com", svc(gatewayv1.GRPCMethodMatch{Service: ptr("a.S"), Method: ptr("M")}), svc(gatewayv1.GRPCMethodMatch{Service: ptr("a.S")})),
	}
	m := Build(in)
	var got []string
	for _, c := range m.Listeners[2].Candidates("x.example.com", nil) {
		got = append(got, fmt.Sprintf("%s/%d/%d", c.Route.Name, c.Match.Index, len(c.Match.Headers)))
	}
	want := "exact/0/0 exact/1/0 old/0/2 young/0/0 wild/0/0"
	if strings.Join(got, " ") != want {
		t.Errorf("candidates %s, want %s", strings.Join(got, " "), want)
	}
}

// TestListenerConditions: certificateRefs across namespaces need a ReferenceGrant from the
// Gateway; route kinds a protocol cannot carry and invalid hostnames are refused.
func TestListenerConditions(t *testing.T) {
	secretGrant := &gatewayv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "g"}, Spec: gatewayv1.ReferenceGrantSpec{
		From: []gatewayv1.ReferenceGrantFrom{{Group: Group, Kind: "Gateway", Namespace: "infra"}},
		To:   []gatewayv1.ReferenceGrantTo{{Kind: "Secret"}},
	}}
	cases := []struct {
		name     string
		edit     func(l *gatewayv1.Listener)
		grants   []*gatewayv1.ReferenceGrant
		accepted string
		resolved string
		issue    string
	}{
		{"as given", func(*gatewayv1.Listener) {}, nil, "Accepted", "ResolvedRefs", ""},
		{"certificate in another namespace without a grant", func(l *gatewayv1.Listener) {
			l.TLS.CertificateRefs[0].Namespace = ptr(gatewayv1.Namespace("certs"))
		}, nil, "Accepted", "RefNotPermitted", "spec.listeners[2].tls.certificateRefs[0].namespace RefNotPermitted"},
		{"certificate in another namespace with a grant", func(l *gatewayv1.Listener) {
			l.TLS.CertificateRefs[0].Namespace = ptr(gatewayv1.Namespace("certs"))
		}, []*gatewayv1.ReferenceGrant{secretGrant}, "Accepted", "ResolvedRefs", ""},
		{"certificate of another kind", func(l *gatewayv1.Listener) {
			l.TLS.CertificateRefs[0].Kind = ptr(gatewayv1.Kind("ConfigMap"))
		}, nil, "Accepted", "InvalidCertificateRef", "spec.listeners[2].tls.certificateRefs[0].kind InvalidCertificateRef"},
		{"HTTPS without certificates", func(l *gatewayv1.Listener) { l.TLS = nil },
			nil, "Accepted", "InvalidCertificateRef", "spec.listeners[2].tls.certificateRefs InvalidCertificateRef"},
		{"a route kind HTTPS cannot carry", func(l *gatewayv1.Listener) {
			l.AllowedRoutes.Kinds = []gatewayv1.RouteGroupKind{{Kind: "TCPRoute"}}
		}, nil, "Accepted", "InvalidRouteKinds", "spec.listeners[2].allowedRoutes.kinds[0] InvalidRouteKinds"},
		{"invalid hostname", func(l *gatewayv1.Listener) { l.Hostname = ptr(gatewayv1.Hostname("a_b.example.com")) },
			nil, "UnsupportedValue", "ResolvedRefs", "spec.listeners[2].hostname UnsupportedValue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := objects()
			tc.edit(&in.Gateways[0].Spec.Listeners[2])
			in.ReferenceGrants = tc.grants
			in.GRPCRoutes = []*gatewayv1.GRPCRoute{route("apps", "r", []string{"a.example.com"}, "tls", "")}
			m := Build(in)
			l := m.Listeners[2]
			if l.Conditions[0].Reason != tc.accepted || l.Conditions[1].Reason != tc.resolved {
				t.Errorf("conditions %+v, want Accepted %s, ResolvedRefs %s", l.Conditions, tc.accepted, tc.resolved)
			}
			var issues []string
			for _, is := range m.Issues {
				if is.Kind == "Gateway" {
					issues = append(issues, is.Field+" "+is.Reason)
				}
			}
			if strings.Join(issues, "\n") != tc.issue {
				t.Errorf("issues:\n%s\nwant %q", strings.Join(issues, "\n"), tc.issue)
			}
			// A listener that is not accepted takes no routes; an unresolved reference does not stop them.
			if attached := len(l.Routes) == 1; attached != (tc.accepted == "Accepted" && tc.resolved != "InvalidRouteKinds") {
				t.Errorf("route attached: %v", attached)
			}
		})
	}
}

// TestListenerConflicts: listeners of one Gateway that the spec cannot tell apart are all
// Conflicted and none is accepted (no winner); a distinct listener beside them is untouched.
func TestListenerConflicts(t *testing.T) {
	h := func(s string) *gatewayv1.Hostname { v := gatewayv1.Hostname(s); return &v }
	for _, tc := range []struct {
		name      string
		listeners []gatewayv1.Listener
		want      []string // each listener's Conflicted reason, "" for none
	}{
		{"same port and hostname", []gatewayv1.Listener{
			{Name: "a", Port: 80, Protocol: gatewayv1.HTTPProtocolType, Hostname: h("x.example.com")},
			{Name: "b", Port: 80, Protocol: gatewayv1.HTTPProtocolType, Hostname: h("x.example.com")},
			{Name: "c", Port: 80, Protocol: gatewayv1.HTTPProtocolType, Hostname: h("y.example.com")},
		}, []string{"HostnameConflict", "HostnameConflict", ""}},
		{"both without a hostname", []gatewayv1.Listener{
			{Name: "a", Port: 80, Protocol: gatewayv1.HTTPProtocolType},
			{Name: "b", Port: 80, Protocol: gatewayv1.HTTPProtocolType},
		}, []string{"HostnameConflict", "HostnameConflict"}},
		{"HTTP and HTTPS on one port", []gatewayv1.Listener{
			{Name: "a", Port: 443, Protocol: gatewayv1.HTTPProtocolType},
			{Name: "b", Port: 443, Protocol: gatewayv1.HTTPSProtocolType, Hostname: h("x.example.com"),
				TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "cert"}}}},
			{Name: "c", Port: 80, Protocol: gatewayv1.HTTPProtocolType},
		}, []string{"ProtocolConflict", "ProtocolConflict", ""}},
		{"distinct by port or hostname", []gatewayv1.Listener{
			{Name: "a", Port: 80, Protocol: gatewayv1.HTTPProtocolType},
			{Name: "b", Port: 8080, Protocol: gatewayv1.HTTPProtocolType},
			{Name: "c", Port: 80, Protocol: gatewayv1.HTTPProtocolType, Hostname: h("*.example.com")},
		}, []string{"", "", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := objects()
			in.Gateways[0].Spec.Listeners = tc.listeners
			m := Build(in)
			for i, l := range m.Listeners {
				got := ""
				for _, c := range l.Conditions {
					if c.Type == "Conflicted" && c.Status {
						got = c.Reason
					}
				}
				if got != tc.want[i] {
					t.Errorf("listener %s: Conflicted %q, want %q (%+v)", l.Spec.Name, got, tc.want[i], l.Conditions)
				}
				if l.Accepted() != (got == "") || l.Conditions[0].Status != (got == "") {
					t.Errorf("listener %s: accepted %v (%+v), want %v", l.Spec.Name, l.Accepted(), l.Conditions[0], got == "")
				}
			}
		})
	}
}
