package controller

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance"

	"github.com/grpclab/grpclab/gatewayapi"
	"github.com/grpclab/grpclab/manifests"
)

// The upstream GRPCRoute conformance tests (sigs.k8s.io/gateway-api/conformance v1.6.3), fed
// through the gatewayapi model and this renderer onto a real nginx. The YAML is the module's
// own (conformance.Manifests: base/manifests.yaml and the test's file), unmodified but for the
// GatewayClass placeholder; the expectations are the test's Go table, restated here with the
// file each comes from. Backends answer x-served-by with their Service's name, where the
// upstream echo server reports its pod.

// conformanceBackends are the Services of base/manifests.yaml the GRPCRoute tests reach.
var conformanceBackends = []string{"grpc-infra-backend-v1", "grpc-infra-backend-v2", "grpc-infra-backend-v3"}

const (
	conformanceNS   = "gateway-conformance-infra"
	grpcEchoService = "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/"
)

// conformanceRequest is one row of an upstream test's table.
type conformanceRequest struct {
	method    string // Echo, EchoTwo, EchoThree
	authority string // "" is the Gateway's address, as the upstream client dials it
	md        map[string]string
	backend   string     // the Service that must answer; "" expects code
	code      codes.Code // when backend is ""
}

type conformanceCase struct {
	test     string // the upstream ShortName
	manifest string // in the conformance module
	requests []conformanceRequest
	// weights, when set, are the shares each backend must take of 500 Echo calls, within 0.05
	// (utils/weight: TestWeightedDistribution).
	weights map[string]float64
}

var conformanceCases = []conformanceCase{
	{ // tests/grpcroute-exact-method-matching.go
		test: "GRPCExactMethodMatching", manifest: "tests/grpcroute-exact-method-matching.yaml",
		requests: []conformanceRequest{
			{method: "Echo", backend: "grpc-infra-backend-v1"},
			{method: "EchoTwo", backend: "grpc-infra-backend-v2"},
			{method: "EchoThree", code: codes.Unimplemented},
		},
	},
	{ // tests/grpcroute-header-matching.go
		test: "GRPCRouteHeaderMatching", manifest: "tests/grpcroute-header-matching.yaml",
		requests: []conformanceRequest{
			{method: "Echo", md: map[string]string{"Version": "one"}, backend: "grpc-infra-backend-v1"},
			{method: "Echo", md: map[string]string{"Version": "two"}, backend: "grpc-infra-backend-v2"},
			{method: "Echo", md: map[string]string{"Version": "two", "Color": "orange"}, backend: "grpc-infra-backend-v1"},
			{method: "Echo", md: map[string]string{"Version": "two", "Color": "blue"}, backend: "grpc-infra-backend-v2"},
			{method: "Echo", md: map[string]string{"Color": "orange"}, code: codes.Unimplemented},
			{method: "Echo", md: map[string]string{"Some-Other-Header": "one"}, code: codes.Unimplemented},
			{method: "Echo", md: map[string]string{"Color": "blue"}, backend: "grpc-infra-backend-v1"},
			{method: "Echo", md: map[string]string{"Color": "green"}, backend: "grpc-infra-backend-v1"},
			{method: "Echo", md: map[string]string{"Color": "red"}, backend: "grpc-infra-backend-v2"},
			{method: "Echo", md: map[string]string{"Color": "yellow"}, backend: "grpc-infra-backend-v2"},
			{method: "Echo", md: map[string]string{"Color": "purple"}, code: codes.Unimplemented},
		},
	},
	{ // tests/grpcroute-listener-hostname-matching.go
		test: "GRPCRouteListenerHostnameMatching", manifest: "tests/grpcroute-listener-hostname-matching.yaml",
		requests: []conformanceRequest{
			{method: "Echo", authority: "bar.com", backend: "grpc-infra-backend-v1"},
			{method: "Echo", authority: "foo.bar.com", backend: "grpc-infra-backend-v2"},
			{method: "Echo", authority: "baz.bar.com", backend: "grpc-infra-backend-v3"},
			{method: "Echo", authority: "boo.bar.com", backend: "grpc-infra-backend-v3"},
			{method: "Echo", authority: "multiple.prefixes.bar.com", backend: "grpc-infra-backend-v3"},
			{method: "Echo", authority: "multiple.prefixes.foo.com", backend: "grpc-infra-backend-v3"},
			{method: "Echo", authority: "foo.com", code: codes.Unimplemented},
			{method: "Echo", authority: "no.matching.host", code: codes.Unimplemented},
		},
	},
	{ // tests/grpcroute-named-rule.go
		test: "GRPCRouteNamedRule", manifest: "tests/grpcroute-named-rule.yaml",
		requests: []conformanceRequest{
			{method: "Echo", backend: "grpc-infra-backend-v1"},
			{method: "EchoTwo", backend: "grpc-infra-backend-v2"},
		},
	},
	{ // tests/grpcroute-weight.go
		test: "GRPCRouteWeight", manifest: "tests/grpcroute-weight.yaml",
		requests: []conformanceRequest{{method: "Echo", code: codes.OK}},
		weights:  map[string]float64{"grpc-infra-backend-v1": 0.7, "grpc-infra-backend-v2": 0.3, "grpc-infra-backend-v3": 0},
	},
}

// conformanceObjects decodes one YAML file of the conformance module into typed objects.
func conformanceObjects(t *testing.T, file string) []client.Object {
	t.Helper()
	data, err := conformance.Manifests.ReadFile(file)
	if err != nil {
		t.Fatalf("%s in the conformance module: %v", file, err)
	}
	data = bytes.ReplaceAll(data, []byte("{GATEWAY_CLASS_NAME}"), []byte("grpclab"))
	decode := serializer.NewCodecFactory(manifests.Scheme).UniversalDeserializer().Decode
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []client.Object
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s#%d: %v", file, i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s#%d: %v", file, i, err)
		}
		if co, ok := obj.(client.Object); ok {
			out = append(out, co)
		}
	}
}

// TestGRPCRouteConformance runs every upstream GRPCRoute conformance test the local renderer can
// express: manifest validation must accept the YAML, the model must accept each route on each
// parent with its references resolved (GatewayAndRoutesMustBeAccepted upstream), and nginx must
// answer each request as the test's table says. tests/mesh/grpcroute-weight.yaml is the mesh
// profile's (a Service parentRef, no Gateway): not a Gateway's to serve.
func TestGRPCRouteConformance(t *testing.T) {
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("nginx not installed at %s: %v", Binary, err)
	}
	base := conformanceObjects(t, "base/manifests.yaml")
	endpoints := map[string][]string{}
	for _, b := range conformanceBackends {
		endpoints[EndpointKey(conformanceNS, b, 8080)] = []string{startBackend(t, b)}
	}
	ca := newTestCA(t)
	for _, tc := range conformanceCases {
		t.Run(tc.test, func(t *testing.T) {
			own := conformanceObjects(t, tc.manifest)
			objs := gatewayapi.Collect(append(append([]client.Object{}, base...), own...))
			objs.Gateways = parentsOf(objs)
			var mobjs []manifests.Object
			for _, o := range base {
				mobjs = append(mobjs, manifests.Object{Source: "base/manifests.yaml", Object: o})
			}
			for _, o := range own {
				mobjs = append(mobjs, manifests.Object{Source: tc.manifest, Object: o})
			}
			if err := manifests.Validate(mobjs); err != nil {
				t.Errorf("validation: %v", err)
			}
			model := gatewayapi.Build(objs)
			for _, r := range model.Routes {
				for _, p := range r.Parents {
					for _, c := range p.Conditions {
						if !c.Status {
							t.Errorf("%s %s/%s %s: %s %s: %s", r.Kind, r.Namespace, r.Name, p.Field, c.Type, c.Reason, c.Message)
						}
					}
				}
			}
			state := t.TempDir()
			if err := os.Chmod(filepath.Dir(state), 0o711); err != nil {
				t.Fatal(err)
			}
			in := Input{Objects: objs, Endpoints: endpoints, GatewayListen: map[string]string{},
				StateDir: state, Generation: 1, AdminListen: freePort(t)}
			byPort := map[string]string{} // listeners of one Gateway port share an address
			for _, gw := range objs.Gateways {
				for _, l := range gw.Spec.Listeners {
					k := fmt.Sprintf("%s/%s:%d", gw.Namespace, gw.Name, l.Port)
					if byPort[k] == "" {
						byPort[k] = freePort(t)
					}
					in.GatewayListen[listenKey(gw.Namespace, gw.Name, string(l.Name))] = byPort[k]
				}
			}
			cfg, err := Render(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range cfg.Diagnostics {
				t.Errorf("diagnostic: %s", d)
			}
			ctx := context.Background()
			if err := Start(ctx, state, cfg); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = Stop(ctx, state) })
			if len(byPort) != 1 {
				t.Fatalf("the test's routes are on %d Gateway ports, want one: %v", len(byPort), byPort)
			}
			var addr string
			for _, a := range byPort {
				addr = a
			}
			c := newClients(t, ca.pool)
			for i, rq := range tc.requests {
				host := rq.authority
				if host == "" {
					host = addr
				}
				var md []string
				for k, v := range rq.md {
					md = append(md, k, v)
				}
				served, st := c.call(addr, host, false, grpcEchoService+rq.method, md...)
				switch {
				case rq.backend != "" && (st.Code() != codes.OK || served != rq.backend):
					t.Errorf("request %d (%s, host %s, %v): served by %q (%v), want %s", i, rq.method, host, rq.md, served, st.Err(), rq.backend)
				case rq.backend == "" && st.Code() != rq.code:
					t.Errorf("request %d (%s, host %s, %v): %v, want %v", i, rq.method, host, rq.md, st.Err(), rq.code)
				}
			}
			if tc.weights != nil {
				checkWeights(t, c, addr, tc.weights)
			}
		})
	}
}

// parentsOf keeps the Gateways that the routes name as parents: the other Gateways of the base
// manifests need certificates and ports no test here uses.
func parentsOf(o gatewayapi.Objects) []*gatewayv1.Gateway {
	named := map[string]bool{}
	for _, r := range o.GRPCRoutes {
		for _, p := range r.Spec.ParentRefs {
			ns := r.Namespace
			if p.Namespace != nil {
				ns = string(*p.Namespace)
			}
			named[objKey(ns, string(p.Name))] = true
		}
	}
	var out []*gatewayv1.Gateway
	for _, gw := range o.Gateways {
		if named[objKey(gw.Namespace, gw.Name)] {
			out = append(out, gw)
		}
	}
	return out
}

// checkWeights sends 500 Echo calls and compares each backend's share with its weight, within
// the upstream tolerance; like upstream, a few tries are allowed.
func checkWeights(t *testing.T, c *clients, addr string, want map[string]float64) {
	t.Helper()
	const total, tolerance, tries = 500, 0.05, 3
	var last string
	for range tries {
		got := map[string]int{}
		for range total {
			served, st := c.call(addr, addr, false, grpcEchoService+"Echo")
			if st.Code() != codes.OK {
				t.Fatalf("weighted call: %v", st.Err())
			}
			got[served]++
		}
		var off []string
		for b, w := range want {
			share := float64(got[b]) / total
			if math.Abs(share-w) > tolerance || (w == 0 && got[b] > 0) {
				off = append(off, fmt.Sprintf("%s %.3f (want %.2f)", b, share, w))
			}
		}
		if len(off) == 0 {
			return
		}
		last = strings.Join(off, ", ")
	}
	t.Errorf("weights off after %d tries of %d calls: %s", tries, total, last)
}
