package manifests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpclab/grpclab/manifests/manifeststest"
)

// TestErrata loads the article's typos as a user directory: each must be rejected with the file,
// the object and the field named.
func TestErrata(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "apiVersion gateway.intnetworking.k8s.io",
			yaml: `apiVersion: gateway.intnetworking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: foo-route
spec:
  parentRefs: [{name: example-gateway}]
  hostnames: ["foo.example.com"]
  rules:
    - backendRefs: [{name: foo-svc, port: 50051}]
`,
			want: []string{"GRPCRoute foo-route", "apiVersion", "gateway.intnetworking.k8s.io/v1", "gateway.networking.k8s.io/v1"},
		},
		{
			name: "CIDR 172.1s.0.0/16",
			yaml: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Ingress]
  ingress:
    - from:
        - ipBlock: {cidr: 172.1s.0.0/16, except: [172.17.1.0/24]}
      ports: [{protocol: TCP, port: 6379}]
`,
			want: []string{"NetworkPolicy default/test-network-policy", "spec.ingress[0].from[0].ipBlock.cidr", "172.1s.0.0/16"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loadFails(t, "article.yaml", "#1", tt.yaml, "erratum", tt.want)
		})
	}
}

// A broken user directory fails whole, naming the file, the object and the field.
func TestLoadBrokenUserDir(t *testing.T) {
	const route = `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: broken-route
  namespace: default
spec:
  parentRefs: [{name: example-gateway}]
  hostnames: ["broken.example.com"]
`
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", route + `  rules:
    - backendRefs: [{name: foo-svc, port: 50051}]
      retries: 3
`, []string{"broken-route", `unknown field "spec.rules[0].retries"`}},
		{"bad enum (schema)", route + `  rules:
    - matches: [{headers: [{type: Prefix, name: env, value: canary}]}]
      backendRefs: [{name: foo-svc, port: 50051}]
`, []string{"broken-route", "spec.rules[0].matches[0].headers[0].type", `Unsupported value: "Prefix"`}},
		{"CEL rule", route + `  rules:
    - matches: [{method: {type: Exact}}]
      backendRefs: [{name: foo-svc, port: 50051}]
`, []string{"broken-route", "spec.rules[0].matches[0].method", "One or both of 'service' or 'method' must be specified"}},
		{"backendRef to a missing Service", route + `  rules:
    - backendRefs: [{name: baz-svc, port: 50051}]
`, []string{"broken-route", "spec.rules[0].backendRefs[0].name", "Service default/baz-svc"}},
		{"backendRef to a missing port", route + `  rules:
    - backendRefs: [{name: foo-svc, port: 8080}]
`, []string{"broken-route", "spec.rules[0].backendRefs[0].port", "port 8080"}},
		{"parentRef to a missing listener", strings.Replace(route, "{name: example-gateway}", "{name: example-gateway, sectionName: https}", 1) + `  rules:
    - backendRefs: [{name: foo-svc, port: 50051}]
`, []string{"broken-route", "spec.parentRefs[0].sectionName", "listener https of Gateway default/example-gateway"}},
		{"parentRef to a missing Gateway", strings.Replace(route, "example-gateway", "other-gateway", 1) + `  rules:
    - backendRefs: [{name: foo-svc, port: 50051}]
`, []string{"broken-route", "spec.parentRefs[0].name", "Gateway default/other-gateway"}},
		{"backendRef to another namespace without a ReferenceGrant", route + `  rules:
    - backendRefs: [{name: foo-svc, namespace: kube-system, port: 50051}]
`, []string{"broken-route", "spec.rules[0].backendRefs[0].namespace", "RefNotPermitted", `no ReferenceGrant in namespace "kube-system"`}},
		{"route from a namespace the listener does not admit", strings.Replace(strings.Replace(route, "namespace: default", "namespace: kube-system", 1),
			"{name: example-gateway}", "{name: example-gateway, namespace: default}", 1) + `  rules:
    - backendRefs: [{name: foo-svc, namespace: default, port: 50051}]
`, []string{"GRPCRoute kube-system/broken-route", "spec.parentRefs[0]", "NotAllowedByListeners"}},
		{"unknown kind", `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoutes
metadata: {name: broken-route}
`, []string{"GRPCRoutes broken-route", "kind", `unknown kind "GRPCRoutes"`}},
		{"Service selecting no Deployment", `apiVersion: v1
kind: Service
metadata: {name: broken-svc}
spec:
  selector: {app: nothing}
  ports: [{name: grpc, port: 50051, targetPort: grpc}]
`, []string{"Service default/broken-svc", "spec.selector", "app=nothing"}},
		{"Ingress backend port", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken-ingress}
spec:
  rules:
    - host: x.example.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: go-grpc-greeter-server, port: {number: 50051}}}}
`, []string{"Ingress default/broken-ingress", "spec.rules[0].http.paths[0].backend.service.port.number"}},
		{"Ingress TLS without hosts", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken-ingress}
spec:
  tls: [{secretName: x-cert}]
  rules:
    - host: x.example.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: go-grpc-greeter-server, port: {name: grpc}}}}
`, []string{"Ingress default/broken-ingress", "spec.tls[0].hosts"}},
		{"listener without hosts for its certificate", `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: lonely-gateway}
spec:
  gatewayClassName: grpclab
  listeners:
    - {name: grpc, protocol: HTTPS, port: 443, tls: {certificateRefs: [{name: lonely-cert}]}}
`, []string{"Gateway default/lonely-gateway", "spec.listeners[0].tls.certificateRefs[0].name", "no host"}},
		{"Secret the harness generates", `apiVersion: v1
kind: Secret
metadata: {name: example-com-cert}
type: kubernetes.io/tls
`, []string{"Secret default/example-com-cert", "metadata.name", "generates"}},
		{"same object twice in one directory", route + `  rules:
    - backendRefs: [{name: foo-svc, port: 50051}]
---
` + route + `  rules:
    - backendRefs: [{name: foo-svc, port: 50051}]
`, []string{"#2", "broken-route", "already defined", "#1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loadFails(t, "user.yaml", "", tt.yaml, "broken object", tt.want)
		})
	}
}

// loadFails writes yaml as file in a fresh directory and checks that Load
// fails whole (no objects) with an error naming the file (plus suffix, such
// as "#1" for the document) and every string in want.
func loadFails(t *testing.T, file, suffix, yaml, what string, want []string) {
	t.Helper()
	dir := manifeststest.Dir(t, map[string]string{file: yaml})
	objs, err := Load(production, dir)
	if err == nil {
		t.Fatalf("Load accepted the %s", what)
	}
	if objs != nil {
		t.Errorf("Load returned %d objects with an error", len(objs))
	}
	for _, w := range append([]string{filepath.Join(dir, file) + suffix}, want...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestLoadEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(production, dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Load = %v, want an error naming the empty directory", err)
	}
}

// TestCRDCopiesMatchModule keeps manifests/crds identical to the CRDs of the pinned Gateway API
// module; hack/update-crds.sh refreshes them.
func TestCRDCopiesMatchModule(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}|{{.Version}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Skipf("cannot ask the go command for the gateway-api module: %v", err)
	}
	dir, version, _ := strings.Cut(strings.TrimSpace(string(out)), "|")
	if dir == "" {
		t.Skip("sigs.k8s.io/gateway-api is not in the module cache (go mod download it)")
	}
	src, err := filepath.Glob(filepath.Join(dir, "config/crd/standard/*.yaml"))
	if err != nil || len(src) == 0 {
		t.Fatalf("no standard CRDs in %s: %v", dir, err)
	}
	dst, err := filepath.Glob("crds/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(dst) != len(src) {
		t.Errorf("manifests/crds has %d files, the module %d: run hack/update-crds.sh", len(dst), len(src))
	}
	for _, s := range src {
		want, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("crds", filepath.Base(s)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("crds/%s differs from %s %s (%v): run hack/update-crds.sh", filepath.Base(s), "sigs.k8s.io/gateway-api", version, err)
		}
	}
	v, err := os.ReadFile("crds/VERSION")
	if err != nil || strings.TrimSpace(string(v)) != version {
		t.Errorf("crds/VERSION = %q, want %s: run hack/update-crds.sh", v, version)
	}
}
