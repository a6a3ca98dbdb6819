package bench

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/internal/expect"
	"github.com/grpclab/grpclab/manifests"
)

// fakePlatform serves fixed entry points and pods.
type fakePlatform struct {
	ep   cluster.Endpoints
	pods map[string][]string // "service:port" → addresses
	err  error
}

func (f fakePlatform) Name() string                                     { return "fake" }
func (f fakePlatform) Up(context.Context) error                         { return nil }
func (f fakePlatform) Apply(context.Context, []manifests.Object) error  { return nil }
func (f fakePlatform) Delete(context.Context, []manifests.Object) error { return nil }
func (f fakePlatform) Endpoints() cluster.Endpoints                     { return f.ep }
func (f fakePlatform) Versions() map[string]string                      { return nil }
func (f fakePlatform) Limits() []cluster.Limit                          { return nil }
func (f fakePlatform) Down(context.Context) error                       { return nil }
func (f fakePlatform) Backends(_ context.Context, ns, svc string, port int32) ([]string, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.pods[svc+":"+strconv.Itoa(int(port))], nil
}

func TestRoutes(t *testing.T) {
	pods := map[string][]string{
		"bar-svc:50051":             {"127.0.0.1:1001", "127.0.0.1:1002"},
		"foo-svc:50051":             {"127.0.0.1:2001"},
		"go-grpc-greeter-server:80": {"127.0.0.1:3001"},
	}
	both := cluster.Endpoints{Gateway: cluster.Endpoint{Address: "127.0.0.1:443"}, Ingress: cluster.Endpoint{Address: "127.0.0.1:8443"}, CAFile: "/ca.crt"}
	gatewayOnly := both
	gatewayOnly.Ingress.Address = ""
	tests := []struct {
		name        string
		p           fakePlatform
		routes      int
		skipped     int
		errContains string
	}{
		{name: "gateway and ingress", p: fakePlatform{ep: both, pods: pods}, routes: 12},
		{name: "a gateway-only controller", p: fakePlatform{ep: gatewayOnly, pods: pods}, routes: 6, skipped: 3},
		{name: "no entry point", p: fakePlatform{pods: pods}, skipped: 6, errContains: "neither a Gateway nor an Ingress"},
		{name: "no ready pod", p: fakePlatform{ep: both, pods: map[string][]string{}}, errContains: "default/bar-svc port 50051: no ready pod"},
		{name: "backends fail", p: fakePlatform{ep: both, err: errors.New("port-forward refused")}, errContains: "default/bar-svc port 50051: port-forward refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, skipped, err := Routes(context.Background(), tt.p)
			if expect.Error(t, err, tt.errContains) {
				return
			}
			if len(routes) != tt.routes || len(skipped) != tt.skipped {
				t.Fatalf("%d routes, %d skipped (%q), want %d and %d", len(routes), len(skipped), skipped, tt.routes, tt.skipped)
			}
			for _, r := range routes {
				switch r.Path {
				case Direct:
					if !r.Target.Plaintext || r.Target.Host != "" || !strings.HasPrefix(r.Target.Address, "127.0.0.1:") {
						t.Errorf("%s direct→%s: target %+v, want plaintext to a pod", r.Method.Name, r.Backend, r.Target)
					}
				case Gateway:
					// The expectations of the manifests' routes: bar.example.com takes every
					// method, foo.example.com names Login, so Login goes there.
					wantHost := "bar.example.com"
					if r.Method.Name == Login.Name {
						wantHost = "foo.example.com"
					}
					if r.Target.Host != wantHost || r.Target.Plaintext || r.Target.CAFile != "/ca.crt" || r.Target.Address != "127.0.0.1:443" {
						t.Errorf("%s through the gateway: target %+v, want TLS to %s as %s", r.Method.Name, r.Target, "127.0.0.1:443", wantHost)
					}
				case Ingress:
					if r.Target.Host != "grpctest.dev.mydomain.com" || r.Backend != "go-grpc-greeter-server" || r.Target.Address != "127.0.0.1:8443" {
						t.Errorf("%s through the ingress: %+v, want grpctest.dev.mydomain.com to go-grpc-greeter-server", r.Method.Name, r)
					}
				}
			}
		})
	}
}

func TestPlan(t *testing.T) {
	routes := []Route{
		{Method: SayHello, Path: Direct, Backend: "bar-svc"},
		{Method: Login, Path: Gateway, Backend: "foo-svc"},
		{Method: SayHelloStream, Path: Gateway, Backend: "bar-svc"},
	}
	cases := Plan(routes, []int{1, 8})
	count := map[string]int{}
	for _, c := range cases {
		count[c.Tool+" "+string(c.Conn)]++
		if c.Tool == ToolClient && c.Method != SayHello.Name {
			t.Errorf("client case for %s: the client measures unary SayHello only", c.Method)
		}
	}
	// ghz: 3 routes × 2 concurrencies; client: 1 SayHello route × 2 × shared and per-call.
	want := map[string]int{"ghz shared": 6, "client shared": 2, "client per-call": 2}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d %s cases, want %d (all: %v)", count[k], k, n, count)
		}
	}
	// A route's cases are adjacent, so compared figures are measured close in time.
	if cases[0].Tool != ToolGHZ || cases[1].Tool != ToolClient || cases[1].Conn != Shared || cases[2].Conn != PerCall {
		t.Errorf("first cases %s, %s, %s: want ghz, client shared, client per-call on one route", cases[0].Name(), cases[1].Name(), cases[2].Name())
	}
}

// TestPlanFromManifests: a route change in the YAML moves the benchmark with it, and a
// manifest set that routes a method nowhere is an error naming the method, not a silent gap.
func TestPlanFromManifests(t *testing.T) {
	objs, err := manifests.Load(manifests.DefaultVariants())
	if err != nil {
		t.Fatal(err)
	}
	methods, err := plan(objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range methods {
		if len(m.via) != 2 || m.via[0].entry != Gateway || m.via[1].entry != Ingress {
			t.Fatalf("%s: %+v, want a Gateway and an Ingress backend", m.method.Name, m.via)
		}
		if m.via[0].port == 0 || m.via[1].port == 0 || m.via[0].namespace == "" {
			t.Errorf("%s: %+v: unresolved backend", m.method.Name, m.via)
		}
	}
	var noIngress []manifests.Object
	for _, o := range objs {
		if o.GetObjectKind().GroupVersionKind().Kind != "Ingress" {
			noIngress = append(noIngress, o)
		}
	}
	if _, err := plan(noIngress); err == nil || !strings.Contains(err.Error(), "no Ingress of the manifests routes /helloworld.Greeter/SayHello") {
		t.Errorf("plan without Ingresses: %v, want an error naming the method", err)
	}
}

func TestPathTakes(t *testing.T) {
	exact, prefix := networkingv1.PathTypeExact, networkingv1.PathTypePrefix
	const login = "/com.example.User/Login"
	for _, c := range []struct {
		path string
		typ  *networkingv1.PathType
		want bool
	}{
		{"/", &prefix, true},
		{"/com.example.User", &prefix, true},
		{"/com.example.User/", &prefix, true},
		{"/com.example.Use", &prefix, false}, // whole path elements only
		{login, &exact, true},
		{"/com.example.User", &exact, false},
		{"/", nil, true}, // ImplementationSpecific, read as Prefix
	} {
		if got := pathTakes(networkingv1.HTTPIngressPath{Path: c.path, PathType: c.typ}, login); got != c.want {
			t.Errorf("path %q (%v): takes %s = %v, want %v", c.path, c.typ, login, got, c.want)
		}
	}
}
