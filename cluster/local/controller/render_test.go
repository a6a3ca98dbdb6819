package controller

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/gatewayapi"
	"github.com/grpclab/grpclab/internal/expect"
)

// baseInput is a Gateway with an HTTPS listener on *.example.com (routes from All namespaces)
// and an HTTP listener (routes from the same namespace), and one healthy Service "svc".
func baseInput(t *testing.T) Input {
	t.Helper()
	gw := testGateway("tls", "http")
	return Input{
		Objects: gatewayapi.Objects{
			Gateways: []*gatewayv1.Gateway{gw},
			Services: []*corev1.Service{service("default", "svc"), service("other", "svc")},
		},
		Endpoints:     map[string][]string{EndpointKey("default", "svc", 50051): {"127.0.0.1:1"}, EndpointKey("other", "svc", 50051): {"127.0.0.1:2"}},
		Certs:         map[string]CertFiles{"default/tls": newTestCA(t).issue(t, "c", "*.example.com")},
		GatewayListen: map[string]string{"default/gw/https": "127.0.0.1:1443", "default/gw/http": "127.0.0.1:1080"},
		IngressClass:  "nginx", IngressHTTPS: "127.0.0.1:2443", IngressHTTP: "127.0.0.1:2080",
		StateDir: t.TempDir(), Generation: 1, AdminListen: "127.0.0.1:3000",
	}
}

func TestRenderDiagnostics(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := rule(nil, backend("", "svc", 50051, nil))
	// addRoute adds the GRPCRoute r, in ns, with one parentRef.
	addRoute := func(in *Input, ns string, hosts []string, p gatewayv1.ParentReference, rules ...gatewayv1.GRPCRouteRule) {
		in.GRPCRoutes = append(in.GRPCRoutes, grpcRoute(ns, "r", t0, hosts, []gatewayv1.ParentReference{p}, rules...))
	}
	cases := []struct {
		name   string
		edit   func(in *Input)
		kind   string
		field  string
		reason string
	}{
		{"route hostname that is not a DNS name", func(in *Input) {
			addRoute(in, "default", []string{"a.example.com;evil"}, parent("", "gw", ""), ok)
		}, "GRPCRoute", "spec.hostnames[0]", "UnsupportedValue"},
		{"listener hostname that is not a DNS name", func(in *Input) {
			in.Gateways[0].Spec.Listeners[0].Hostname = ptr(gatewayv1.Hostname("{x}"))
		}, "Gateway", "spec.listeners[0].hostname", "UnsupportedValue"},
		{"Ingress host that is not a DNS name", func(in *Input) {
			in.Ingresses = append(in.Ingresses, ingress("i", "a b", "tls", map[string]string{annBackendProtocol: "GRPC"}, networkingv1.ServiceBackendPort{Number: 50051}))
		}, "Ingress", "spec.rules[0].host", "UnsupportedValue"},
		{"endpoint that is not host:port", func(in *Input) {
			in.Endpoints[EndpointKey("default", "svc", 50051)] = []string{"127.0.0.1"}
			addRoute(in, "default", nil, parent("", "gw", ""), ok)
		}, "GRPCRoute", "spec.rules[0].backendRefs[0]", "BackendNotFound"},
		{"parentRef to a missing Gateway", func(in *Input) {
			addRoute(in, "default", nil, parent("", "nope", ""), ok)
		}, "GRPCRoute", "spec.parentRefs[0].name", "NoMatchingParent"},
		{"parentRef sectionName matches no listener", func(in *Input) {
			addRoute(in, "default", nil, parent("", "gw", "grpc"), ok)
		}, "GRPCRoute", "spec.parentRefs[0].sectionName", "NoMatchingParent"},
		{"no hostname intersection", func(in *Input) {
			addRoute(in, "default", []string{"foo.other.org"}, parent("", "gw", "https"), ok)
		}, "GRPCRoute", "spec.parentRefs[0]", "NoMatchingListenerHostname"},
		{"allowedRoutes Same rejects another namespace", func(in *Input) {
			addRoute(in, "other", nil, parent("default", "gw", "http"), ok)
		}, "GRPCRoute", "spec.parentRefs[0]", "NotAllowedByListeners"},
		{"allowedRoutes Selector rejects an unlabelled namespace", func(in *Input) {
			in.Gateways[0].Spec.Listeners[1].AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
				From: ptr(gatewayv1.NamespacesFromSelector), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"grpc": "yes"}}}}
			addRoute(in, "other", nil, parent("default", "gw", "http"), ok)
		}, "GRPCRoute", "spec.parentRefs[0]", "NotAllowedByListeners"},
		{"backendRef to a missing Service", func(in *Input) {
			addRoute(in, "default", nil, parent("", "gw", ""), rule(nil, backend("", "nope", 50051, nil)))
		}, "GRPCRoute", "spec.rules[0].backendRefs[0].name", "BackendNotFound"},
		{"backendRef port not on the Service", func(in *Input) {
			addRoute(in, "default", nil, parent("", "gw", ""), rule(nil, backend("", "svc", 1, nil)))
		}, "GRPCRoute", "spec.rules[0].backendRefs[0].port", "BackendNotFound"},
		{"cross-namespace backendRef without ReferenceGrant", func(in *Input) {
			addRoute(in, "default", nil, parent("", "gw", ""), rule(nil, backend("other", "svc", 50051, nil)))
		}, "GRPCRoute", "spec.rules[0].backendRefs[0].namespace", "RefNotPermitted"},
		{"backendRef of another kind", func(in *Input) {
			b := backend("", "svc", 50051, nil)
			b.Kind = ptr(gatewayv1.Kind("ServiceImport"))
			addRoute(in, "default", nil, parent("", "gw", ""), rule(nil, b))
		}, "GRPCRoute", "spec.rules[0].backendRefs[0].kind", "InvalidKind"},
		{"unimplemented filter", func(in *Input) {
			r := rule(nil, backend("", "svc", 50051, nil))
			r.Filters = []gatewayv1.GRPCRouteFilter{{Type: gatewayv1.GRPCRouteFilterRequestMirror}}
			addRoute(in, "default", nil, parent("", "gw", ""), r)
		}, "GRPCRoute", "spec.rules[0].filters[0]", "UnsupportedValue"},
		{"invalid header regular expression", func(in *Input) {
			addRoute(in, "default", nil, parent("", "gw", ""), rule(matches(headers("env", "~(unclosed")), backend("", "svc", 50051, nil)))
		}, "GRPCRoute", "spec.rules[0].matches[0].headers[0].value", "UnsupportedValue"},
		{"method match without service or method", func(in *Input) {
			addRoute(in, "default", nil, parent("", "gw", ""), rule(matches(method("", "")), backend("", "svc", 50051, nil)))
		}, "GRPCRoute", "spec.rules[0].matches[0].method", "UnsupportedValue"},
		{"header name nginx cannot see", func(in *Input) {
			addRoute(in, "default", nil, parent("", "gw", ""), rule(matches(headers("x_env", "a")), backend("", "svc", 50051, nil)))
		}, "GRPCRoute", "spec.rules[0].matches[0].headers[0].name", "UnsupportedValue"},
		{"listener certificate not in Certs", func(in *Input) {
			in.Certs = nil
		}, "Gateway", "spec.listeners[0].tls.certificateRefs[0]", "InvalidCertificateRef"},
		{"Ingress without the GRPC backend protocol", func(in *Input) {
			in.Ingresses = append(in.Ingresses, ingress("i", "a.example.com", "tls", nil, networkingv1.ServiceBackendPort{Number: 50051}))
		}, "Ingress", "metadata.annotations", "UnsupportedValue"},
		{"Ingress of another class", func(in *Input) {
			i := ingress("i", "a.example.com", "tls", nil, networkingv1.ServiceBackendPort{Number: 50051})
			i.Spec.IngressClassName = ptr("traefik")
			in.Ingresses = append(in.Ingresses, i)
		}, "Ingress", "spec.ingressClassName", "IgnoredClass"},
		{"Ingress backend port name not on the Service", func(in *Input) {
			in.Services = append(in.Services, service("default", "ing"))
			in.Ingresses = append(in.Ingresses, ingress("i", "a.example.com", "tls", map[string]string{annBackendProtocol: "GRPC"}, networkingv1.ServiceBackendPort{Name: "http"}))
		}, "Ingress", "spec.rules[0].http.paths[0].backend.service.port.name", "BackendNotFound"},
		{"Ingress annotation the emulator ignores", func(in *Input) {
			in.Services = append(in.Services, service("default", "ing"))
			in.Ingresses = append(in.Ingresses, ingress("i", "a.example.com", "tls", map[string]string{annBackendProtocol: "GRPC", annPrefix + "canary": "true"}, networkingv1.ServiceBackendPort{Number: 50051}))
		}, "Ingress", "metadata.annotations", "UnsupportedValue"},
		{"Ingress timeout that is not a number", func(in *Input) {
			in.Services = append(in.Services, service("default", "ing"))
			in.Ingresses = append(in.Ingresses, ingress("i", "a.example.com", "tls", map[string]string{annBackendProtocol: "GRPC", annReadTimeout: "1m"}, networkingv1.ServiceBackendPort{Number: 50051}))
		}, "Ingress", "metadata.annotations", "UnsupportedValue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := baseInput(t)
			tc.edit(&in)
			cfg, err := Render(in)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			checkSyntax(t, in.StateDir, cfg)
			for _, d := range cfg.Diagnostics {
				if d.Kind == tc.kind && d.Field == tc.field && d.Reason == tc.reason {
					return
				}
			}
			t.Errorf("no %s diagnostic %s %s; got:\n%s", tc.kind, tc.field, tc.reason, diagText(cfg.Diagnostics))
		})
	}
}

// A valid route, and a cross-namespace backend a ReferenceGrant allows, render silently.
func TestRenderAcceptsValidRoutes(t *testing.T) {
	in := baseInput(t)
	in.GRPCRoutes = []*gatewayv1.GRPCRoute{grpcRoute("default", "r", time.Now(), []string{"a.example.com"},
		[]gatewayv1.ParentReference{parent("", "gw", "")}, rule(nil, backend("other", "svc", 50051, nil)))}
	in.ReferenceGrants = []*gatewayv1.ReferenceGrant{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "g"},
		Spec: gatewayv1.ReferenceGrantSpec{
			From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayapi.Group, Kind: "GRPCRoute", Namespace: "default"}},
			To:   []gatewayv1.ReferenceGrantTo{{Kind: "Service"}},
		},
	}}
	cfg := renderClean(t, in)
	if !strings.Contains(cfg.Text, "upstream svc.other.50051.svc {") {
		t.Errorf("granted backend has no upstream:\n%s", cfg.Text)
	}
}

func TestRenderErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(in *Input)
		want string
	}{
		{"relative state dir", func(in *Input) { in.StateDir = "state" }, "stateDir"},
		{"no admin address", func(in *Input) { in.AdminListen = "" }, "adminListen"},
		{"listen address that is not host:port", func(in *Input) { in.GatewayListen["default/gw/http"] = "127.0.0.1:80; evil" },
			`gateway default/gw spec.listeners[1] (listener "http"): GatewayListen: address`},
		{"listener without listen address", func(in *Input) { delete(in.GatewayListen, "default/gw/http") },
			`gateway default/gw spec.listeners[1] (listener "http"): no listen address`},
		{"HTTP and HTTPS on one address", func(in *Input) { in.GatewayListen["default/gw/http"] = "127.0.0.1:1443" }, "mixes HTTP and HTTPS"},
		{"listener on the admin address", func(in *Input) { in.GatewayListen["default/gw/http"] = in.AdminListen }, "already used by the admin endpoint"},
		{"ingress port on the admin address", func(in *Input) { in.IngressHTTP = in.AdminListen }, "already used by the admin endpoint"},
		{"nil route", func(in *Input) { in.GRPCRoutes = []*gatewayv1.GRPCRoute{nil} }, "grpcRoutes[0]: nil GRPCRoute"},
		{"default ingress cert unknown", func(in *Input) { in.IngressDefaultCert = "default/nope" }, `ingressDefaultCert "default/nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := baseInput(t)
			tc.edit(&in)
			_, err := Render(in)
			expect.Error(t, err, tc.want)
		})
	}
}

// TestSplitPercentages checks the split_clients body: shares by weight, the rest to "*",
// weight 0 left out, nothing valid → Unavailable.
func TestSplitPercentages(t *testing.T) {
	cases := []struct {
		name   string
		shares []weighted
		want   string // the target, or the split body when it is a variable
	}{
		{"single backend is direct", []weighted{{"a", 1}}, "a"},
		{"weight 0 never chosen", []weighted{{"a", 5}, {"b", 0}}, "a"},
		{"all zero is Unavailable", []weighted{{"a", 0}}, markUnavailable},
		{"no backends is Unavailable", nil, markUnavailable},
		{"80/20", []weighted{{"a", 20}, {"b", 80}}, "        80.00% \"b\";\n        * \"a\";\n"},
		{"thirds round to 0.01%", []weighted{{"a", 1}, {"b", 1}, {"c", 1}}, "        33.33% \"a\";\n        33.33% \"b\";\n        * \"c\";\n"},
		{"invalid share answers Unavailable", []weighted{{"a", 1}, {markUnavailable, 1}}, "        50.00% \"@unavailable\";\n        * \"a\";\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &renderer{splitByBody: map[string]string{}}
			got := r.target(tc.shares)
			if strings.HasPrefix(got, "$") {
				got = r.splits[0].body
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLocationMatches(t *testing.T) {
	exact, prefix := networkingv1.PathTypeExact, networkingv1.PathTypePrefix
	cases := []struct {
		path string
		pt   *networkingv1.PathType
		want []string
	}{
		{"/", &prefix, []string{"/"}},
		{"/helloworld.Greeter", &prefix, []string{"= /helloworld.Greeter", "/helloworld.Greeter/"}},
		{"/helloworld.Greeter/", &prefix, []string{"= /helloworld.Greeter", "/helloworld.Greeter/"}},
		{"/helloworld.Greeter/SayHello", &exact, []string{"= /helloworld.Greeter/SayHello"}},
		{"/x", nil, []string{"= /x", "/x/"}},
	}
	for _, tc := range cases {
		got, msg := locationMatches(networkingv1.HTTPIngressPath{Path: tc.path, PathType: tc.pt})
		if msg != "" || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q %q, want %q", tc.path, got, msg, tc.want)
		}
	}
	if _, msg := locationMatches(networkingv1.HTTPIngressPath{Path: "/a;b", PathType: &prefix}); msg == "" {
		t.Error("path with ';' accepted")
	}
}

// TestQuoteKeepsRegex checks that quoting hands PCRE the regex unchanged after nginx's own
// unescaping of '\\' and '"'.
func TestQuoteKeepsRegex(t *testing.T) {
	unescape := regexp.MustCompile(`\\(["\\])`)
	for _, s := range []string{`^/a\.b/[^/?]+\n1\z`, `say "hi"`, `\\`} {
		q := quote(s)
		inner := unescape.ReplaceAllString(q[1:len(q)-1], "$1")
		if inner != s {
			t.Errorf("quote(%q) = %s, unescapes to %q", s, q, inner)
		}
	}
}

func diagText(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}

// TestSharedPortListeners: when listeners share an address, a host goes to the most specific
// listener hostname, takes its certificate, and sees only the routes attached to it.
func TestSharedPortListeners(t *testing.T) {
	in := baseInput(t)
	in.Gateways[0].Spec.Listeners = append(in.Gateways[0].Spec.Listeners, gatewayv1.Listener{
		Name: "foo", Port: 443, Protocol: gatewayv1.HTTPSProtocolType, Hostname: ptr(gatewayv1.Hostname("foo.example.com")),
		TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "foo-tls"}}},
	})
	in.GatewayListen["default/gw/foo"] = in.GatewayListen["default/gw/https"]
	fooCert := newTestCA(t).issue(t, "foo", "foo.example.com")
	in.Certs["default/foo-tls"] = fooCert
	t0 := time.Now()
	in.GRPCRoutes = []*gatewayv1.GRPCRoute{
		grpcRoute("default", "on-wild", t0, nil, []gatewayv1.ParentReference{parent("", "gw", "https")}, rule(nil, backend("", "svc", 50051, nil))),
		grpcRoute("default", "on-foo", t0, nil, []gatewayv1.ParentReference{parent("", "gw", "foo")}, rule(nil, backend("", "svc", 50051, nil))),
	}
	cfg := renderClean(t, in)
	blocks := map[string]string{}
	for _, part := range strings.Split(cfg.Text, "\n    # Gateway ")[1:] {
		head, _, _ := strings.Cut(part, "\n")
		head, _, _ = strings.Cut(head, ",")
		blocks[head] = part
	}
	cases := []struct {
		block, cert, route, notRoute string
	}{
		{"127.0.0.1:1443 foo.example.com", fooCert.CertFile, "default/on-foo", "default/on-wild"},
		{"127.0.0.1:1443 *.example.com", in.Certs["default/tls"].CertFile, "default/on-wild", "default/on-foo"},
	}
	for _, tc := range cases {
		b, ok := blocks[tc.block]
		if !ok {
			t.Errorf("no server block %q in:\n%s", tc.block, cfg.Text)
			continue
		}
		if !strings.Contains(b, `ssl_certificate "`+tc.cert+`"`) || !strings.Contains(b, "# "+tc.route+" rule") || strings.Contains(b, "# "+tc.notRoute+" rule") {
			t.Errorf("block %q: want certificate %s and only route %s:\n%s", tc.block, tc.cert, tc.route, b)
		}
	}
	if b := blocks["127.0.0.1:1443 (default server)"]; !strings.Contains(b, "ssl_reject_handshake on;") {
		t.Errorf("default server of the TLS port does not reject unknown SNI:\n%s", b)
	}
}

// TestRenderOddInputNoPanic feeds half-filled objects a typo or a hand-written manifest can
// produce; Render must answer with a config or an error, never a panic.
func TestRenderOddInputNoPanic(t *testing.T) {
	t0 := time.Now()
	edits := map[string]func(in *Input){
		"HTTPS listener without tls": func(in *Input) { in.Gateways[0].Spec.Listeners[0].TLS = nil },
		"Selector without selector": func(in *Input) {
			in.Gateways[0].Spec.Listeners[1].AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr(gatewayv1.NamespacesFromSelector)}}
			in.GRPCRoutes = []*gatewayv1.GRPCRoute{grpcRoute("default", "r", t0, nil, []gatewayv1.ParentReference{parent("", "gw", "http")}, rule(nil))}
		},
		"empty method match and empty rule": func(in *Input) {
			in.GRPCRoutes = []*gatewayv1.GRPCRoute{grpcRoute("default", "r", t0, nil, []gatewayv1.ParentReference{{}},
				gatewayv1.GRPCRouteRule{Matches: []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{}}, {}}})}
		},
		"Ingress with nothing but a class": func(in *Input) {
			in.Ingresses = []*networkingv1.Ingress{{ObjectMeta: metav1.ObjectMeta{Name: "i"}, Spec: networkingv1.IngressSpec{
				IngressClassName: ptr("nginx"), Rules: []networkingv1.IngressRule{{}, {Host: "a.test", IngressRuleValue: networkingv1.IngressRuleValue{
					HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{}}}}}},
				DefaultBackend: &networkingv1.IngressBackend{}, TLS: []networkingv1.IngressTLS{{}}}}}
		},
		"nil entries in optional lists": func(in *Input) {
			in.ReferenceGrants = []*gatewayv1.ReferenceGrant{nil}
			in.Namespaces = []*corev1.Namespace{nil}
			in.GRPCRoutes = []*gatewayv1.GRPCRoute{grpcRoute("other", "r", t0, nil, []gatewayv1.ParentReference{parent("default", "gw", "")}, rule(nil, backend("default", "svc", 50051, nil)))}
		},
		"backendRef without port, parentRef by a port no listener has, kinds without group": func(in *Input) {
			b := backend("", "svc", 50051, nil)
			b.Port = nil
			p := parent("", "gw", "")
			p.Port = ptr(gatewayv1.PortNumber(9))
			in.Gateways[0].Spec.Listeners[1].AllowedRoutes = &gatewayv1.AllowedRoutes{Kinds: []gatewayv1.RouteGroupKind{{Kind: "GRPCRoute"}, {}}}
			in.GRPCRoutes = []*gatewayv1.GRPCRoute{grpcRoute("default", "r", t0, nil, []gatewayv1.ParentReference{p, parent("", "gw", "http")}, rule(nil, b))}
		},
		"grant with empty from and to": func(in *Input) {
			in.ReferenceGrants = []*gatewayv1.ReferenceGrant{{ObjectMeta: metav1.ObjectMeta{Namespace: "other"}}}
			in.GRPCRoutes = []*gatewayv1.GRPCRoute{grpcRoute("default", "r", t0, nil, []gatewayv1.ParentReference{parent("", "gw", "")}, rule(nil, backend("other", "svc", 50051, nil)))}
		},
		"nil Gateway": func(in *Input) { in.Gateways = append(in.Gateways, nil) },
		"nil Ingress": func(in *Input) { in.Ingresses = []*networkingv1.Ingress{nil} },
		"nil Service": func(in *Input) { in.Services = append(in.Services, nil) },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			in := baseInput(t)
			edit(&in)
			cfg, err := Render(in)
			if err == nil && cfg == nil {
				t.Fatal("nil config without an error")
			}
			if err == nil {
				checkSyntax(t, in.StateDir, cfg)
			}
		})
	}
}

// renderClean renders in and fails t unless Render succeeds without diagnostics and nginx -t
// accepts the result.
func renderClean(t *testing.T, in Input) *Config {
	t.Helper()
	cfg, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Diagnostics) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", diagText(cfg.Diagnostics))
	}
	checkSyntax(t, in.StateDir, cfg)
	return cfg
}

// checkSyntax runs `nginx -t` on a rendered config: what Render accepts, nginx must accept.
func checkSyntax(t *testing.T, stateDir string, cfg *Config) {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		return // the pure assertions still ran; TestNginx reports the skip
	}
	if err := prepareState(stateDir); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(stateDir, "check.conf")
	if err := os.WriteFile(conf, []byte(cfg.Text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := testConfig(context.Background(), stateDir, conf); err != nil {
		t.Errorf("rendered config fails nginx -t: %v\n%s", err, cfg.Text)
	}
}
