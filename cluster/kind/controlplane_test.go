package kind

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/grpclab/grpclab/cluster/certs"
	"github.com/grpclab/grpclab/images"
	"github.com/grpclab/grpclab/manifests"
)

// kubeAPIServer finds the binary hack/kube-apiserver.sh builds: $GRPCLAB_KUBE_APISERVER,
// else the script's cache path.
func kubeAPIServer() (string, error) {
	if p := os.Getenv("GRPCLAB_KUBE_APISERVER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("GRPCLAB_KUBE_APISERVER=%s: %w", p, err)
		}
		return p, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "grpclab", "kubernetes-"+images.Pin("KUBERNETES_VERSION"), "bin", "kube-apiserver")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no kube-apiserver at %s: run hack/kube-apiserver.sh (about 8 minutes cold) or set GRPCLAB_KUBE_APISERVER", p)
	}
	return p, nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs a process for the test's lifetime, its output in dir/name.log.
func start(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) > 20 {
				lines = lines[len(lines)-20:]
			}
			t.Logf("last lines of %s:\n%s", log.Name(), strings.Join(lines, "\n"))
		}
	})
}

// waitHTTP polls url until it answers 200 (readiness of a process just started).
func waitHTTP(t *testing.T, client *http.Client, url, token string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(resp.Status)
		}
		last = err
		time.Sleep(200 * time.Millisecond) // poll interval while a process boots
	}
	t.Fatalf("%s not ready after %s: %v", url, timeout, last)
}

// controlPlane starts etcd and kube-apiserver on loopback and returns a rest.Config.
func controlPlane(t *testing.T) *rest.Config {
	t.Helper()
	bin, err := kubeAPIServer()
	if err != nil {
		t.Skipf("control-plane test skipped: %v", err)
	}
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("control-plane test skipped: no etcd on PATH (apt-get install etcd-server)")
	}
	dir := t.TempDir()
	clientPort, peerPort, apiPort := freePort(t), freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	start(t, dir, etcd, "--name=grpclab", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=grpclab="+peerURL, "--unsafe-no-fsync")
	waitHTTP(t, http.DefaultClient, etcdURL+"/health", "", 30*time.Second)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	saKey := filepath.Join(dir, "sa.key")
	if err := os.WriteFile(saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "grpclab-test-token"
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, dir, bin, "--etcd-servers="+etcdURL, "--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort), "--cert-dir="+filepath.Join(dir, "certs"),
		"--token-auth-file="+tokens, "--authorization-mode=AlwaysAllow",
		"--service-account-key-file="+saKey, "--service-account-signing-key-file="+saKey,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.96.0.0/16", "--disable-admission-plugins=ServiceAccount")
	host := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	// The server's certificate is self-signed in a temp dir on loopback.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	waitHTTP(t, insecure, host+"/readyz", token, 2*time.Minute)
	return &rest.Config{Host: host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: 100, Burst: 200}
}

// tlsSecrets generates, with cluster/certs, a kubernetes.io/tls Secret for every Secret
// the manifests reference.
func tlsSecrets(t *testing.T, objs []manifests.Object) []*corev1.Secret {
	t.Helper()
	b, err := certs.Generate(objs)
	if err != nil {
		t.Fatalf("generate certificates: %v", err)
	}
	return b.Secrets()
}

// gatewayAPICRDs reads the CRDs the manifests package embeds (copied from the pinned
// gateway-api module).
func gatewayAPICRDs(t *testing.T) []Item {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "manifests", "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Gateway API CRDs under manifests/crds: %v", err)
	}
	var items []Item
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		it, err := DecodeYAML(filepath.Base(f), b)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it...)
	}
	return items
}

// TestControlPlaneApply runs the kind platform's apply step against a real kube-apiserver
// and etcd: CRDs, namespaces, generated Secrets and every manifest of every variant by
// server-side apply; a second apply must change nothing.
func TestControlPlaneApply(t *testing.T) {
	rc := controlPlane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, err := NewApplier(rc)
	if err != nil {
		t.Fatal(err)
	}
	a.Poll = 100 * time.Millisecond
	crds := gatewayAPICRDs(t)

	// Each variant on its own over base, as a run would apply it.
	for _, v := range manifests.Variants() {
		// A variant overlays its parents: "gateway-api/reflection" needs base and gateway-api.
		variants := []string{"base"}
		parts := strings.Split(v, "/")
		for i := range parts {
			if p := strings.Join(parts[:i+1], "/"); p != "base" && slices.Contains(manifests.Variants(), p) {
				variants = append(variants, p)
			}
		}
		objs, err := manifests.Load(variants)
		if err != nil {
			t.Fatalf("load %v: %v", variants, err)
		}
		manifests.SetGatewayClass(objs, "envoy-gateway")
		items, err := Items(objs, tlsSecrets(t, objs))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Apply(ctx, append(crds, items...)); err != nil {
			t.Fatalf("apply variant %s: %v", v, err)
		}
	}

	// Everything at once, twice: the second apply must be a no-op.
	objs, err := manifests.Load(manifests.Variants())
	if err != nil {
		t.Fatal(err)
	}
	manifests.SetGatewayClass(objs, "envoy-gateway")
	items, err := Items(objs, tlsSecrets(t, objs))
	if err != nil {
		t.Fatal(err)
	}
	items = append(crds, items...)
	if err := a.Apply(ctx, items); err != nil {
		t.Fatalf("apply all: %v", err)
	}
	before := resourceVersions(ctx, t, a, items)
	if err := a.Apply(ctx, items); err != nil {
		t.Fatalf("second apply: %v", err)
	}
	after := resourceVersions(ctx, t, a, items)
	changed := 0
	for k, v := range before {
		if after[k] != v {
			changed++
			t.Errorf("second apply changed %s: resourceVersion %s → %s", k, v, after[k])
		}
	}
	t.Logf("applied %d objects (%d CRDs); second apply changed %d", len(items), len(crds), changed)

	// The field manager is grpclab's.
	gw := schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	var gateways []string
	for _, it := range items {
		if it.Object.GetKind() == "Gateway" {
			g, err := a.dynamic.Resource(gw).Namespace(namespaceOf(it.Object)).Get(ctx, it.Object.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if mf := g.GetManagedFields(); len(mf) == 0 || mf[0].Manager != FieldManager {
				t.Errorf("gateway %s managed by %+v, want %s", g.GetName(), mf, FieldManager)
			}
			if cls, _, _ := unstructured.NestedString(g.Object, "spec", "gatewayClassName"); cls != "envoy-gateway" {
				t.Errorf("gateway %s class %q, want envoy-gateway", g.GetName(), cls)
			}
			gateways = append(gateways, g.GetName())
		}
	}
	if len(gateways) == 0 {
		t.Error("no Gateway was applied; the gateway-api variants should define one")
	}

	testWaitReadiness(ctx, t, a, items)
}

// With no controller-manager nothing becomes Available on its own: the wait must time out
// naming the Deployment, then pass once its status says Available.
func testWaitReadiness(ctx context.Context, t *testing.T, a *Applier, items []Item) {
	var deploy *unstructured.Unstructured
	for _, it := range items {
		if it.Object.GetKind() == "Deployment" {
			deploy = it.Object
			break
		}
	}
	if deploy == nil {
		t.Fatal("no Deployment in the manifests")
	}
	waits := Readiness([]Item{{Source: "t", Object: deploy}})
	err := a.WaitAll(ctx, waits, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), deploy.GetName()) || !strings.Contains(err.Error(), "Available") {
		t.Fatalf("wait without a controller: err = %v, want a timeout naming %s Available", err, deploy.GetName())
	}
	res := a.dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace(namespaceOf(deploy))
	live, err := res.Get(ctx, deploy.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cond := map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339), "lastUpdateTime": time.Now().UTC().Format(time.RFC3339)}
	_ = unstructured.SetNestedSlice(live.Object, []any{cond}, "status", "conditions")
	if _, err := res.UpdateStatus(ctx, live, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitAll(ctx, waits, 30*time.Second); err != nil {
		t.Errorf("wait after status Available: %v", err)
	}
}

func resourceVersions(ctx context.Context, t *testing.T, a *Applier, items []Item) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, it := range items {
		ri, err := a.resource(it)
		if err != nil {
			t.Fatal(err)
		}
		o, err := ri.Get(ctx, it.Object.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get %s: %v", it, err)
		}
		out[it.String()] = o.GetResourceVersion()
	}
	return out
}
