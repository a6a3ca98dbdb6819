package controller

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/gatewayapi"
)

// callExpect is one request through the gateway or the ingress and what must come back.
type callExpect struct {
	name   string
	host   string
	method string
	md     []string
	h2c    bool // the plaintext listener instead of the TLS one
	served string
	code   codes.Code
}

// TestNginx renders real configurations, runs Debian's nginx on them, and checks who answers
// each request: the gateway group first, then a Reload to the ingress group, then Stop.
func TestNginx(t *testing.T) {
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("nginx not installed at %s: %v", Binary, err)
	}
	if _, err := exec.LookPath(Binary); err != nil {
		t.Skipf("nginx not runnable: %v", err)
	}
	ctx := context.Background()
	ca := newTestCA(t)
	wildCert := ca.issue(t, "wild", "*.example.com", "*.b.example.com")
	ingCert := ca.issue(t, "ing", "ing.example.com")

	// Every backend is its own Service with one endpoint, so x-served-by names the rule.
	names := []string{"exact", "wild", "svcmethod", "svconly", "methodonly", "catchall", "hdr1", "hdr2",
		"regex", "and", "or", "remethod", "old", "new", "nsb", "rule1", "rule2", "w80", "w20", "wzero", "half", "inter", "plain", "ing"}
	endpoints := map[string][]string{}
	var services []*corev1.Service
	for _, n := range names {
		services = append(services, service("default", n))
		endpoints[EndpointKey("default", n, 50051)] = []string{startBackend(t, n)}
	}
	services = append(services, service("apps", "nsa"), service("default", "empty"))
	endpoints[EndpointKey("apps", "nsa", 50051)] = []string{startBackend(t, "nsa")}

	state := t.TempDir()
	// t.TempDir's parent is 0700; nginx workers run as nobody when we are root and must be able
	// to reach their temp paths.
	if err := os.Chmod(filepath.Dir(state), 0o711); err != nil {
		t.Fatal(err)
	}
	httpsAddr, h2cAddr, admin := freePort(t), freePort(t), freePort(t)
	ingHTTPS, ingHTTP := freePort(t), freePort(t)

	gw := testGateway("wild-tls", "h2c")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	https := []gatewayv1.ParentReference{parent("", "gw", "https")}
	httpsFromApps := []gatewayv1.ParentReference{parent("default", "gw", "https")}
	be := func(n string) gatewayv1.GRPCBackendRef { return backend("", n, 50051, nil) }
	routes := []*gatewayv1.GRPCRoute{
		grpcRoute("default", "exact-host", t0, []string{"foo.example.com"}, https,
			rule(matches(method("grpclab.Test", "")), be("exact"))),
		grpcRoute("default", "wild-host", t0, []string{"*.example.com"}, https,
			rule(matches(method("grpclab.Test", "")), be("wild")),
			rule(matches(method("grpclab.Fallthrough", "")), be("wild"))),
		grpcRoute("default", "svc-precedence", t0, []string{"svc.example.com"}, https,
			rule(matches(method("grpclab.Svc", "")), be("svconly")),
			rule(matches(method("grpclab.Svc", "Get")), be("svcmethod")),
			rule(matches(method("", "Ping")), be("methodonly")),
			rule(matches(method("", "VeryLongMethodNameX")), be("methodonly")),
			rule(nil, be("catchall"))),
		grpcRoute("default", "headers", t0, []string{"hdr.example.com"}, https,
			rule(matches(headers("env", "canary")), be("hdr1")),
			rule(matches(headers("env", "canary", "tier", "gold")), be("hdr2")),
			rule(matches(headers("version", "~v[0-9]+")), be("regex")),
			rule(matches(both(method("grpclab.And", ""), headers("env", "prod"))), be("and")),
			rule(matches(method("grpclab.OrA", ""), method("grpclab.OrB", "")), be("or"))),
		grpcRoute("default", "regex-method", t0, []string{"re.example.com"}, https,
			rule(matches(regexMethod(`grpclab\.Re[a-z]+`, `Get.*`)), be("remethod"))),
		// Older but alphabetically later: creationTimestamp must win over the name.
		grpcRoute("default", "z-old", t0, []string{"age.example.com"}, https, rule(nil, be("old"))),
		grpcRoute("default", "a-new", t0.Add(time.Hour), []string{"age.example.com"}, https, rule(nil, be("new"))),
		// Same age: "apps/x-route" sorts before "default/a-route" though its name is later.
		grpcRoute("default", "a-route", t0, []string{"name.example.com"}, https, rule(nil, be("nsb"))),
		grpcRoute("apps", "x-route", t0, []string{"name.example.com"}, httpsFromApps, rule(nil, backend("", "nsa", 50051, nil))),
		grpcRoute("default", "rules", t0, []string{"rules.example.com"}, https,
			rule(matches(method("grpclab.Test", "")), be("rule1")),
			rule(matches(method("grpclab.Test", "")), be("rule2"))),
		grpcRoute("default", "weights", t0, []string{"weight.example.com"}, https,
			rule(nil, backend("", "w80", 50051, ptr(int32(80))), backend("", "w20", 50051, ptr(int32(20))),
				backend("", "wzero", 50051, ptr(int32(0))))),
		grpcRoute("default", "invalid", t0, []string{"invalid.example.com"}, https,
			rule(matches(method("grpclab.Missing", "")), be("no-such-service")),
			rule(matches(method("grpclab.NoEndpoints", "")), be("empty")),
			rule(matches(method("grpclab.BadPort", "")), backend("", "w80", 9999, nil)),
			rule(matches(method("grpclab.Half", "")), backend("", "half", 50051, ptr(int32(50))), backend("", "no-such-service", 50051, ptr(int32(50))))),
		grpcRoute("default", "inter", t0, []string{"inter.example.com", "inter.other.org"}, https, rule(nil, be("inter"))),
		grpcRoute("default", "plain", t0, nil, []gatewayv1.ParentReference{parent("", "gw", "h2c")}, rule(nil, be("plain"))),
	}
	// A second Gateway whose HTTP listener only redirects: the shape of a migrated ssl-redirect.
	redirAddr := freePort(t)
	redirGW := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "redir"},
		Spec:       gatewayv1.GatewaySpec{Listeners: []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}}},
	}
	redirectRoute := func(name, host string, f gatewayv1.HTTPRequestRedirectFilter, parents ...gatewayv1.ParentReference) *gatewayv1.HTTPRoute {
		return &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parents},
				Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(host)},
				Rules: []gatewayv1.HTTPRouteRule{{Filters: []gatewayv1.HTTPRouteFilter{{
					Type: gatewayv1.HTTPRouteFilterRequestRedirect, RequestRedirect: &f}}}},
			},
		}
	}
	httpRoutes := []*gatewayv1.HTTPRoute{
		redirectRoute("to-https", "r.example.com", gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr("https"), StatusCode: ptr(301)}, parent("", "redir", "http")),
		redirectRoute("to-port", "p.example.com", gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr("https"), Port: ptr(gatewayv1.PortNumber(8443))}, parent("", "redir", "http")),
		// The h2c listener carries GRPCRoutes: an nginx port is h2c or HTTP/1.1, not both.
		redirectRoute("on-h2c", "plain.example.com", gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr("https")}, parent("", "gw", "h2c")),
	}
	in := Input{
		Objects:       gatewayapi.Objects{Gateways: []*gatewayv1.Gateway{gw, redirGW}, GRPCRoutes: routes, HTTPRoutes: httpRoutes, Services: services},
		Endpoints:     endpoints,
		Certs:         map[string]CertFiles{"default/wild-tls": wildCert, "default/ing-tls": ingCert},
		GatewayListen: map[string]string{"default/gw/https": httpsAddr, "default/gw/h2c": h2cAddr, "default/redir/http": redirAddr},
		IngressClass:  "nginx", IngressHTTPS: ingHTTPS, IngressHTTP: ingHTTP,
		IdleTimeout: 10 * time.Second, StateDir: state, Generation: 1, AdminListen: admin,
	}
	cfg, err := Render(in)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if dump := os.Getenv("NGINXCONF_DUMP"); dump != "" {
		// For reading the rendered configuration: NGINXCONF_DUMP=/tmp/x.conf go test -run TestNginx
		_ = os.WriteFile(dump, []byte(cfg.Text), 0o644)
	}
	if !hasDiag(cfg.Diagnostics, "on-h2c", "UnsupportedValue") {
		t.Errorf("no diagnostic for the HTTPRoute on the h2c listener in %v", cfg.Diagnostics)
	}
	if err := Start(ctx, state, cfg); err != nil {
		t.Fatalf("start: %v\n%s", err, cfg.Text)
	}
	t.Cleanup(func() { _ = Stop(context.Background(), state) })

	c := newClients(t, ca.pool)
	t.Run("gateway", func(t *testing.T) {
		cases := []callExpect{
			{name: "exact hostname beats wildcard", host: "foo.example.com", method: "/grpclab.Test/Any", served: "exact"},
			{name: "wildcard covers one label", host: "bar.example.com", method: "/grpclab.Test/Any", served: "wild"},
			{name: "wildcard covers several labels", host: "a.b.example.com", method: "/grpclab.Test/Any", served: "wild"},
			{name: "wildcard rule applies when the exact route has no matching rule", host: "foo.example.com", method: "/grpclab.Fallthrough/X", served: "wild"},
			{name: "service and method beat service only", host: "svc.example.com", method: "/grpclab.Svc/Get", served: "svcmethod"},
			{name: "service only", host: "svc.example.com", method: "/grpclab.Svc/List", served: "svconly"},
			{name: "method only", host: "svc.example.com", method: "/other.Svc/Ping", served: "methodonly"},
			{name: "service characters beat method characters", host: "svc.example.com", method: "/grpclab.Svc/VeryLongMethodNameX", served: "svconly"},
			{name: "rule without matches matches everything", host: "svc.example.com", method: "/other.Svc/Nope", served: "catchall"},
			{name: "more header matches win", host: "hdr.example.com", method: "/grpclab.Hdr/Call", md: []string{"env", "canary", "tier", "gold"}, served: "hdr2"},
			{name: "one header match", host: "hdr.example.com", method: "/grpclab.Hdr/Call", md: []string{"env", "canary"}, served: "hdr1"},
			{name: "header values are case sensitive", host: "hdr.example.com", method: "/grpclab.Hdr/Call", md: []string{"env", "Canary"}, code: codes.Unimplemented},
			{name: "regular expression header", host: "hdr.example.com", method: "/grpclab.Hdr/Call", md: []string{"version", "v12"}, served: "regex"},
			{name: "regular expression header is a full match", host: "hdr.example.com", method: "/grpclab.Hdr/Call", md: []string{"version", "v12x"}, code: codes.Unimplemented},
			{name: "unmatched is Unimplemented", host: "hdr.example.com", method: "/grpclab.Hdr/Call", code: codes.Unimplemented},
			{name: "method and header conditions are ANDed", host: "hdr.example.com", method: "/grpclab.And/M", md: []string{"env", "prod"}, served: "and"},
			{name: "method without its header does not match", host: "hdr.example.com", method: "/grpclab.And/M", code: codes.Unimplemented},
			{name: "header without its method does not match", host: "hdr.example.com", method: "/grpclab.Other/M", md: []string{"env", "prod"}, code: codes.Unimplemented},
			{name: "matches are ORed (first)", host: "hdr.example.com", method: "/grpclab.OrA/M", served: "or"},
			{name: "matches are ORed (second)", host: "hdr.example.com", method: "/grpclab.OrB/M", served: "or"},
			{name: "regular expression service and method", host: "re.example.com", method: "/grpclab.Reader/GetAll", served: "remethod"},
			{name: "regular expression method is a full match", host: "re.example.com", method: "/grpclab.Reader/List", code: codes.Unimplemented},
			{name: "regular expression service is a full match", host: "re.example.com", method: "/grpclab.Re1/GetAll", code: codes.Unimplemented},
			{name: "oldest route wins", host: "age.example.com", method: "/any.Svc/M", served: "old"},
			{name: "namespace/name order", host: "name.example.com", method: "/any.Svc/M", served: "nsa"},
			{name: "rule order", host: "rules.example.com", method: "/grpclab.Test/M", served: "rule1"},
			{name: "missing Service is Unavailable", host: "invalid.example.com", method: "/grpclab.Missing/M", code: codes.Unavailable},
			{name: "Service without endpoints is Unavailable", host: "invalid.example.com", method: "/grpclab.NoEndpoints/M", code: codes.Unavailable},
			{name: "port not on the Service is Unavailable", host: "invalid.example.com", method: "/grpclab.BadPort/M", code: codes.Unavailable},
			{name: "unmatched method on a route is Unimplemented", host: "invalid.example.com", method: "/grpclab.Other/M", code: codes.Unimplemented},
			{name: "listener hostname intersection keeps the covered host", host: "inter.example.com", method: "/any.Svc/M", served: "inter"},
			{name: "h2c listener, route without hostnames takes any host", host: "whatever.test", method: "/any.Svc/M", served: "plain", h2c: true},
		}
		c.expect(t, httpsAddr, h2cAddr, cases)
		t.Run("weighted split within tolerance, weight 0 never chosen", func(t *testing.T) {
			const n = 300
			counts := c.spread(t, httpsAddr, "weight.example.com", n)
			share := float64(counts["w20"]) / n
			if share < 0.12 || share > 0.28 || counts["wzero"] != 0 || counts["w80"]+counts["w20"] != n {
				t.Errorf("counts %v: want w20 share in [0.12, 0.28] (got %.2f), wzero 0", counts, share)
			}
		})
		t.Run("invalid share of a weighted rule is Unavailable", func(t *testing.T) {
			ok, unavailable := 0, 0
			for i := 0; i < 60; i++ {
				served, st := c.call(httpsAddr, "invalid.example.com", true, "/grpclab.Half/M")
				switch {
				case st.Code() == codes.OK && served == "half":
					ok++
				case st.Code() == codes.Unavailable:
					unavailable++
				default:
					t.Fatalf("call %d: served=%q %v", i, served, st.Err())
				}
			}
			if ok < 10 || unavailable < 10 {
				t.Errorf("ok=%d unavailable=%d of 60: want both near half", ok, unavailable)
			}
		})
		for _, host := range []string{"unknown.test", "example.com", "inter.other.org"} {
			t.Run("SNI "+host+" fails the handshake", func(t *testing.T) {
				fresh := newClients(t, ca.pool)
				_, st := fresh.call(httpsAddr, host, true, "/grpclab.Test/Any")
				if st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "handshake") {
					t.Errorf("got %v %q, want Unavailable from a failed handshake", st.Code(), st.Message())
				}
			})
		}
		t.Run("1 MiB request passes: the gateway sets no body size limit", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			big := wrapperspb.Bytes(make([]byte, 1<<20))
			var hdr metadata.MD
			err := c.conn(httpsAddr, "foo.example.com", true).Invoke(ctx, "/grpclab.Test/Big", big, &emptypb.Empty{}, grpc.Header(&hdr))
			if err != nil || len(hdr.Get("x-served-by")) == 0 || hdr.Get("x-served-by")[0] != "exact" {
				t.Errorf("got %v served=%v, want exact", err, hdr.Get("x-served-by"))
			}
		})
		for _, tc := range []struct{ host, want string }{
			{"r.example.com", "301 https://r.example.com/any.Svc/M"},
			{"p.example.com", "302 https://p.example.com:8443/any.Svc/M"},
			{"unknown.example.com", "404 "},
		} {
			t.Run("HTTPRoute redirect for "+tc.host, func(t *testing.T) {
				if got := get(t, redirAddr, tc.host); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
		t.Run("plaintext to the TLS port fails", func(t *testing.T) {
			fresh := newClients(t, ca.pool)
			_, st := fresh.call(httpsAddr, "foo.example.com", false, "/grpclab.Test/Any")
			if st.Code() == codes.OK {
				t.Errorf("plaintext call on the TLS port succeeded")
			}
		})
	})

	// Group 2: the ingress, after a Reload.
	ingresses := []*networkingv1.Ingress{
		ingress("ing", "ing.example.com", "ing-tls", map[string]string{annBackendProtocol: "GRPC"}, networkingv1.ServiceBackendPort{Name: "grpc"}),
		ingress("slow", "slow.example.com", "wild-tls", map[string]string{annBackendProtocol: "GRPC", annReadTimeout: "1", annSSLRedirect: "false"}, networkingv1.ServiceBackendPort{Number: 50051}),
		ingress("fast", "fast.example.com", "wild-tls", map[string]string{annBackendProtocol: "GRPC"}, networkingv1.ServiceBackendPort{Number: 50051}),
	}
	// Canary pairs, written the ingress-nginx way: a main Ingress and a canary one on the same
	// host and path.
	grpcAnn := func(kv ...string) map[string]string {
		ann := map[string]string{annBackendProtocol: "GRPC"}
		for i := 0; i+1 < len(kv); i += 2 {
			ann[kv[i]] = kv[i+1]
		}
		return ann
	}
	to := func(ing *networkingv1.Ingress, svc string) *networkingv1.Ingress {
		ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = svc
		return ing
	}
	port := networkingv1.ServiceBackendPort{Number: 50051}
	ingresses = append(ingresses,
		to(ingress("hdr-main", "chdr.example.com", "wild-tls", grpcAnn(), port), "hdr1"),
		to(ingress("hdr-canary", "chdr.example.com", "wild-tls", grpcAnn(annCanary, "true", annCanaryHeader, "env", annCanaryHeaderValue, "canary"), port), "hdr2"),
		to(ingress("w-main", "cweight.example.com", "wild-tls", grpcAnn(), port), "w80"),
		to(ingress("w-canary", "cweight.example.com", "wild-tls", grpcAnn(annCanary, "true", annCanaryWeight, "20"), port), "w20"),
		to(ingress("always-main", "calways.example.com", "wild-tls", grpcAnn(), port), "old"),
		to(ingress("always-canary", "calways.example.com", "wild-tls", grpcAnn(annCanary, "true", annCanaryHeader, "x-canary", annCanaryWeight, "100"), port), "new"),
		to(ingress("orphan-canary", "orphan.example.com", "wild-tls", grpcAnn(annCanary, "true", annCanaryWeight, "100"), port), "new"),
	)
	other := ingress("other", "other.example.com", "wild-tls", map[string]string{annBackendProtocol: "GRPC"}, networkingv1.ServiceBackendPort{Number: 50051})
	other.Spec.IngressClassName = ptr("traefik")
	in.Ingresses = append(ingresses, other)
	in.IngressDefaultCert = "default/wild-tls"
	in.Generation = 2
	cfg2, err := Render(in)
	if err != nil {
		t.Fatalf("render ingress group: %v", err)
	}
	if !hasDiag(cfg2.Diagnostics, "orphan-canary", "NoMainIngress") {
		t.Errorf("no NoMainIngress diagnostic for orphan-canary in %v", cfg2.Diagnostics)
	}
	if err := Reload(ctx, state, cfg2); err != nil {
		t.Fatalf("reload: %v", err)
	}
	t.Run("ingress", func(t *testing.T) {
		c := newClients(t, ca.pool)
		cases := []callExpect{
			{name: "canary-by-header-value sends the header to the canary", host: "chdr.example.com", method: "/any.Svc/M", md: []string{"env", "canary"}, served: "hdr2"},
			{name: "canary-by-header-value is case sensitive", host: "chdr.example.com", method: "/any.Svc/M", md: []string{"env", "Canary"}, served: "hdr1"},
			{name: "no canary header reaches the main backend", host: "chdr.example.com", method: "/any.Svc/M", served: "hdr1"},
			{name: "canary-by-header always reaches the canary", host: "calways.example.com", method: "/any.Svc/M", md: []string{"x-canary", "always"}, served: "new"},
			{name: "canary-by-header never beats canary-weight 100", host: "calways.example.com", method: "/any.Svc/M", md: []string{"x-canary", "never"}, served: "old"},
			{name: "other header values fall to the weight", host: "calways.example.com", method: "/any.Svc/M", md: []string{"x-canary", "maybe"}, served: "new"},
			{name: "a canary without a main Ingress serves nothing", host: "orphan.example.com", method: "/any.Svc/M", code: codes.Unimplemented},
			{name: "host rule with a named port", host: "ing.example.com", method: "/any.Svc/M", served: "ing"},
			{name: "unknown host is 404, read as Unimplemented", host: "unknown.example.com", method: "/any.Svc/M", code: codes.Unimplemented},
			{name: "other class is ignored", host: "other.example.com", method: "/any.Svc/M", code: codes.Unimplemented},
			{name: "proxy-read-timeout 1s cuts a 1.5s call", host: "slow.example.com", method: "/grpclab.Slow/M", code: codes.Unavailable},
			{name: "default idle timeout lets a 1.5s call finish", host: "fast.example.com", method: "/grpclab.Slow/M", served: "ing"},
		}
		c.expect(t, ingHTTPS, "", cases) // the ingress group has no h2c case
		t.Run("canary-weight 20 takes about a fifth", func(t *testing.T) {
			const n = 300
			counts := c.spread(t, ingHTTPS, "cweight.example.com", n)
			if share := float64(counts["w20"]) / n; share < 0.12 || share > 0.28 || counts["w80"]+counts["w20"] != n {
				t.Errorf("counts %v: want the canary's share in [0.12, 0.28] (got %.2f)", counts, share)
			}
		})
		t.Run("ssl-redirect answers 308 on the HTTP port", func(t *testing.T) {
			_, port, _ := strings.Cut(ingHTTPS, ":")
			if got, want := get(t, ingHTTP, "ing.example.com"), fmt.Sprintf("308 https://ing.example.com:%s/any.Svc/M", port); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
		t.Run("ssl-redirect false does not redirect", func(t *testing.T) {
			if got := get(t, ingHTTP, "slow.example.com"); strings.HasPrefix(got, "308") {
				t.Errorf("got %q, want no redirect", got)
			}
		})
		t.Run("gateway still routes after reload", func(t *testing.T) {
			if served, st := c.call(httpsAddr, "foo.example.com", true, "/grpclab.Test/Any"); served != "exact" {
				t.Errorf("got %q %v, want exact", served, st.Err())
			}
		})
	})

	t.Run("bad config leaves the running one", func(t *testing.T) {
		bad := &Config{Text: "this is not nginx;\n", Generation: 3, AdminListen: admin}
		if err := Reload(ctx, state, bad); err == nil || !strings.Contains(err.Error(), "nginx -t") {
			t.Fatalf("reload of a bad config: got %v, want an nginx -t error", err)
		}
		fresh := newClients(t, ca.pool)
		if served, st := fresh.call(ingHTTPS, "ing.example.com", true, "/any.Svc/M"); served != "ing" {
			t.Errorf("after a rejected reload: got %q %v, want ing", served, st.Err())
		}
	})

	t.Run("reload that cannot bind fails fast and keeps serving", func(t *testing.T) {
		// nginx -t does not bind, so this passes the syntax check and fails in the master.
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		in3 := in
		in3.GatewayListen = map[string]string{"default/gw/https": busy.Addr().String(), "default/gw/h2c": h2cAddr, "default/redir/http": redirAddr}
		in3.Generation = 4
		cfg3, err := Render(in3)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = Reload(ctx, state, cfg3)
		if err == nil || !strings.Contains(err.Error(), "[emerg]") {
			t.Fatalf("got %v, want the [emerg] nginx logged", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("failed reload took %v, want it reported from the log, not at the deadline", d)
		}
		fresh := newClients(t, ca.pool)
		if served, st := fresh.call(ingHTTPS, "ing.example.com", true, "/any.Svc/M"); served != "ing" {
			t.Errorf("after a failed reload: got %q %v, want ing", served, st.Err())
		}
		if b, err := os.ReadFile(filepath.Join(state, "nginx.conf")); err != nil || string(b) != cfg2.Text {
			t.Errorf("nginx.conf is not the running generation 2 config after the failed reload (err %v)", err)
		}
	})

	t.Run("start refuses a second nginx on the same state", func(t *testing.T) {
		if err := Start(ctx, state, cfg2); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Errorf("got %v, want an already-running error", err)
		}
	})

	t.Run("stop leaves no nginx behind", func(t *testing.T) {
		pid := PID(state)
		if pid == 0 {
			t.Fatal("no running nginx before Stop")
		}
		// Detached: the master leads its own session, so it outlives the process that started it.
		if sid := sessionID(t, pid); sid != pid {
			t.Errorf("master %d is in session %d, want its own", pid, sid)
		}
		workers := children(pid)
		if len(workers) == 0 {
			t.Fatal("no nginx workers found before Stop")
		}
		if err := Stop(ctx, state); err != nil {
			t.Fatalf("stop: %v", err)
		}
		for _, p := range append(workers, pid) {
			if alivePID(p) {
				t.Errorf("pid %d still alive after Stop", p)
			}
		}
		if err := Stop(ctx, state); err != nil {
			t.Errorf("second Stop: %v, want nil (nothing to do)", err)
		}
	})
}

func ingress(name, host, secret string, ann map[string]string, port networkingv1.ServiceBackendPort) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: ann},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("nginx"),
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: secret}},
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "ing", Port: port}}}},
			}}}},
		},
	}
}

// sessionID reads the session of pid from /proc/<pid>/stat.
func sessionID(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// After the comm: state ppid pgrp session ...
	var sid int
	if _, err := fmt.Sscan(f[3], &sid); err != nil {
		t.Fatal(err)
	}
	return sid
}

func hasDiag(diags []Diagnostic, name, reason string) bool {
	for _, d := range diags {
		if d.Name == name && d.Reason == reason {
			return true
		}
	}
	return false
}

// get sends GET /any.Svc/M over HTTP/1.1 to addr with this Host and returns "status Location".
func get(t *testing.T, addr, host string) string {
	t.Helper()
	client := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{}},
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/any.Svc/M", nil)
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s on %s: %v", host, addr, err)
	}
	resp.Body.Close()
	return fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
}
