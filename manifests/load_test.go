package manifests

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/manifests/manifeststest"
)

// production is the combination every scenario starts from.
var production = DefaultVariants()

func TestVariants(t *testing.T) {
	// Other packages code against these names.
	want := []string{
		"base", "base/prestop", "gateway-api", "gateway-api/canary-0", "gateway-api/canary-100",
		"gateway-api/reflection", "gateway-api/weighted-canary",
		"ingress-nginx", "ingress-nginx/migration", "ingress-nginx/recycling-tuned", "ingress-nginx/stream-timeouts",
		"networkpolicy/article", "networkpolicy/default-deny", "networkpolicy/gateway-only",
	}
	if got := Variants(); !slices.Equal(got, want) {
		t.Fatalf("Variants() = %q, want %q", got, want)
	}
}

func grpcRoute(t *testing.T, objs []Object, name string) *gatewayv1.GRPCRoute {
	t.Helper()
	for _, r := range Of[*gatewayv1.GRPCRoute](objs) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no GRPCRoute %s", name)
	return nil
}

func TestLoadCombinations(t *testing.T) {
	tests := []struct {
		extra []string
		// check asserts what the variant on top changes.
		check func(t *testing.T, objs []Object)
	}{
		{nil, func(t *testing.T, objs []Object) {
			foo := grpcRoute(t, objs, "foo-route")
			if len(foo.Spec.Rules) != 1 || *foo.Spec.Rules[0].Matches[0].Method.Method != "Login" {
				t.Errorf("foo-route rules = %+v, want only com.example.User/Login", foo.Spec.Rules)
			}
			bar := grpcRoute(t, objs, "bar-route")
			if len(bar.Spec.Rules) != 2 || bar.Spec.Rules[0].Matches[0].Headers[0].Value != "canary" {
				t.Errorf("bar-route rules = %+v, want the env: canary header rule first", bar.Spec.Rules)
			}
		}},
		{[]string{"gateway-api/reflection"}, func(t *testing.T, objs []Object) {
			var services []string
			for _, r := range grpcRoute(t, objs, "foo-route").Spec.Rules {
				for _, m := range r.Matches {
					services = append(services, string(*m.Method.Service))
				}
			}
			want := []string{"com.example.User", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
			if !slices.Equal(services, want) {
				t.Errorf("foo-route services = %q, want %q", services, want)
			}
		}},
		{[]string{"gateway-api/weighted-canary"}, func(t *testing.T, objs []Object) {
			bar := grpcRoute(t, objs, "bar-route")
			if len(bar.Spec.Rules) != 1 || len(bar.Spec.Rules[0].Matches) != 0 {
				t.Fatalf("bar-route rules = %+v, want one rule with no match", bar.Spec.Rules)
			}
			weights := map[string]int32{}
			for _, b := range bar.Spec.Rules[0].BackendRefs {
				weights[string(b.Name)] = *b.Weight
			}
			if weights["bar-svc"] != 90 || weights["bar-svc-canary"] != 10 {
				t.Errorf("weights = %v, want bar-svc 90, bar-svc-canary 10", weights)
			}
		}},
		{[]string{"ingress-nginx/stream-timeouts"}, func(t *testing.T, objs []Object) {
			ing := Of[*networkingv1.Ingress](objs)
			if len(ing) != 1 {
				t.Fatalf("%d Ingresses, want 1 (the variant replaces fortune-ingress)", len(ing))
			}
			for _, a := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
				if v := ing[0].Annotations["nginx.ingress.kubernetes.io/"+a]; v != "3600" {
					t.Errorf("annotation %s = %q, want 3600", a, v)
				}
			}
			if ing[0].Annotations["nginx.ingress.kubernetes.io/backend-protocol"] != "GRPC" {
				t.Errorf("backend-protocol annotation lost")
			}
		}},
		{[]string{"ingress-nginx/migration"}, func(t *testing.T, objs []Object) {
			byName := map[string]*networkingv1.Ingress{}
			for _, ing := range Of[*networkingv1.Ingress](objs) {
				byName[ing.Name] = ing
			}
			if len(byName) != 3 || byName["fortune-ingress"] == nil {
				t.Fatalf("Ingresses %v, want fortune-ingress and the canary pair", slices.Sorted(maps.Keys(byName)))
			}
			main, canary := byName["bar-ingress"], byName["bar-ingress-canary"]
			if main == nil || canary == nil || main.Spec.Rules[0].Host != canary.Spec.Rules[0].Host {
				t.Fatalf("want bar-ingress and bar-ingress-canary on one host")
			}
			if a := canary.Annotations; a["nginx.ingress.kubernetes.io/canary"] != "true" || a["nginx.ingress.kubernetes.io/canary-by-header"] != "env" ||
				a["nginx.ingress.kubernetes.io/canary-by-header-value"] != "canary" {
				t.Errorf("canary annotations = %v, want canary by header env: canary", a)
			}
		}},
		{[]string{"networkpolicy/article"}, func(t *testing.T, objs []Object) {
			np := Of[*networkingv1.NetworkPolicy](objs)
			if len(np) != 1 || np[0].Spec.Ingress[0].From[0].IPBlock.CIDR != "172.17.0.0/16" {
				t.Errorf("test-network-policy = %+v, want the corrected CIDR 172.17.0.0/16", np)
			}
		}},
		{[]string{"networkpolicy/default-deny"}, func(t *testing.T, objs []Object) {
			np := Of[*networkingv1.NetworkPolicy](objs)
			if len(np) != 1 || len(np[0].Spec.PodSelector.MatchLabels)+len(np[0].Spec.PodSelector.MatchExpressions) != 0 || len(np[0].Spec.Ingress) != 0 {
				t.Errorf("default-deny = %+v, want an empty pod selector and no ingress rule", np)
			}
		}},
		{[]string{"networkpolicy/gateway-only"}, func(t *testing.T, objs []Object) {
			np := Of[*networkingv1.NetworkPolicy](objs)
			if len(np) != 1 {
				t.Fatalf("%d policies, want 1", len(np))
			}
			ns := np[0].Spec.Ingress[0].From[0].NamespaceSelector.MatchExpressions[0].Values
			if !slices.Contains(ns, "grpclab-edge") || !slices.Contains(ns, "envoy-gateway-system") {
				t.Errorf("allowed namespaces = %q, want the controller namespaces and grpclab-edge", ns)
			}
		}},
		{[]string{"gateway-api/reflection", "gateway-api/weighted-canary", "ingress-nginx/stream-timeouts",
			"networkpolicy/article", "networkpolicy/default-deny", "networkpolicy/gateway-only"}, func(t *testing.T, objs []Object) {
			if n := len(Of[*networkingv1.NetworkPolicy](objs)); n != 3 {
				t.Errorf("%d policies, want 3", n)
			}
		}},
	}
	for _, tt := range tests {
		variants := append(slices.Clone(production), tt.extra...)
		t.Run(strings.Join(variants, "+"), func(t *testing.T) {
			objs, err := Load(variants)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			// Overlays replace, never add: still one foo-route and one bar-route.
			if n := len(Of[*gatewayv1.GRPCRoute](objs)); n != 2 {
				t.Errorf("%d GRPCRoutes, want 2", n)
			}
			tt.check(t, objs)
		})
	}
}

func TestLoadBase(t *testing.T) {
	objs, err := Load([]string{"base"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// The contract the platforms and scenarios code against.
	services := map[string]int32{"foo-svc": 50051, "bar-svc": 50051, "bar-svc-canary": 50051, "go-grpc-greeter-server": 80}
	for _, s := range Of[*corev1.Service](objs) {
		want, ok := services[s.Name]
		if !ok {
			t.Errorf("unexpected Service %s", s.Name)
			continue
		}
		delete(services, s.Name)
		p := s.Spec.Ports[0]
		if p.Port != want || p.Name != "grpc" || p.TargetPort.StrVal != "grpc" || p.AppProtocol == nil || *p.AppProtocol != "kubernetes.io/h2c" {
			t.Errorf("Service %s port = %+v, want %d named grpc to targetPort grpc, appProtocol kubernetes.io/h2c", s.Name, p, want)
		}
	}
	if len(services) != 0 {
		t.Errorf("missing Services %v", services)
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.Source, "base/") || !strings.Contains(o.Source, ".yaml#") {
			t.Errorf("Source %q, want base/<file>.yaml#<n>", o.Source)
		}
	}
}

func TestLoadUnknownVariant(t *testing.T) {
	objs, err := Load([]string{"base", "gateway-api/nope"})
	if err == nil || !strings.Contains(err.Error(), `"gateway-api/nope"`) {
		t.Fatalf("Load = %v, want an error naming the variant", err)
	}
	if objs != nil {
		t.Errorf("Load returned %d objects with an error", len(objs))
	}
}

func TestLoadUserDir(t *testing.T) {
	// A user's route in a nested folder, and a replacement for bar-route.
	dir := manifeststest.Dir(t, map[string]string{
		"routes/extra.yml": `
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: greeter-route
spec:
  parentRefs: [{name: example-gateway, sectionName: grpc}]
  hostnames: ["greeter.example.com"]
  rules:
    - backendRefs: [{name: go-grpc-greeter-server, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: bar-route
  namespace: default
spec:
  parentRefs: [{name: example-gateway}]
  hostnames: ["bar.example.com"]
  rules:
    - backendRefs: [{name: bar-svc-canary, port: 50051}]
`})
	objs, err := Load(production, dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	g := grpcRoute(t, objs, "greeter-route")
	if g.Namespace != "default" {
		t.Errorf("namespace %q, want default when unset", g.Namespace)
	}
	bar := grpcRoute(t, objs, "bar-route")
	if len(bar.Spec.Rules) != 1 {
		t.Errorf("bar-route has %d rules, want the user's replacement (1)", len(bar.Spec.Rules))
	}
	var src string
	for _, o := range objs {
		if o.Object == bar {
			src = o.Source
		}
	}
	if want := filepath.Join(dir, "routes/extra.yml") + "#2"; src != want {
		t.Errorf("Source = %q, want %q", src, want)
	}
	// The new route's host joins the certificate.
	for _, s := range TLSSecrets(objs) {
		if s.Name == "example-com-cert" && !slices.Contains(s.Hosts, "greeter.example.com") {
			t.Errorf("example-com-cert hosts = %q, want greeter.example.com added", s.Hosts)
		}
	}
}

func TestSetGatewayClass(t *testing.T) {
	objs, err := Load(production)
	if err != nil {
		t.Fatal(err)
	}
	gws := Of[*gatewayv1.Gateway](objs)
	if len(gws) != 1 || gws[0].Spec.GatewayClassName != "grpclab" {
		t.Fatalf("Gateways = %+v, want one with the grpclab placeholder", gws)
	}
	SetGatewayClass(objs, "envoy-gateway")
	if got := gws[0].Spec.GatewayClassName; got != "envoy-gateway" {
		t.Errorf("gatewayClassName = %q, want envoy-gateway", got)
	}
}

func TestTLSSecrets(t *testing.T) {
	objs, err := Load(production)
	if err != nil {
		t.Fatal(err)
	}
	got := TLSSecrets(objs)
	want := []TLSSecret{
		// The listener has no hostname: the hosts of the routes attached to it.
		{"default", "example-com-cert", []string{"bar.example.com", "foo.example.com"}},
		{"default", "wildcard.dev.mydomain.com", []string{"grpctest.dev.mydomain.com"}},
	}
	if len(got) != len(want) {
		t.Fatalf("TLSSecrets = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Namespace != want[i].Namespace || got[i].Name != want[i].Name || !slices.Equal(got[i].Hosts, want[i].Hosts) {
			t.Errorf("TLSSecrets[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestLoadKeepsTypeMeta(t *testing.T) {
	objs, err := Load(production)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if gvk := o.GetObjectKind().GroupVersionKind(); gvk.Kind == "" || gvk.Version == "" {
			t.Errorf("%s: empty apiVersion/kind after decoding; appliers need them", o.Source)
		}
	}
}

func TestLoadSkipsHiddenFolders(t *testing.T) {
	dir := manifeststest.Dir(t, map[string]string{
		".github/workflows/ci.yaml": "on: push\njobs: {}\n",
		"ns.yaml":                   "apiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n",
	})
	objs, err := Load(nil, dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(objs) != 1 {
		t.Errorf("%d objects, want the Namespace only", len(objs))
	}
}

// Every variant directory on disk must be embedded: a new top-level folder needs the go:embed line.
func TestEveryDirectoryIsEmbedded(t *testing.T) {
	var onDisk []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == "." {
			return err
		}
		if p == crdDir {
			return filepath.SkipDir
		}
		if files, _ := filepath.Glob(filepath.Join(p, "*.yaml")); len(files) > 0 {
			onDisk = append(onDisk, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(onDisk)
	if got := Variants(); !slices.Equal(got, onDisk) {
		t.Errorf("embedded variants %q, directories on disk %q: add the folder to go:embed in load.go", got, onDisk)
	}
}
