package kind

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	kindversion "sigs.k8s.io/kind/pkg/cmd/kind/version"

	"github.com/grpclab/grpclab/cluster/kind/addon"
	"github.com/grpclab/grpclab/images"
	"github.com/grpclab/grpclab/internal/expect"
	"github.com/grpclab/grpclab/manifests"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run go test -update to create it): %v", path, err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestConfigGolden(t *testing.T) {
	for _, c := range addon.Controllers() {
		t.Run(c, func(t *testing.T) {
			cfg, err := Config("grpclab", c, ConfigOptions{Images: Pulled})
			if err != nil {
				t.Fatal(err)
			}
			b, err := RenderConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "kind-config-"+c+".golden", b)
		})
	}
	// The hermetic cluster on this CI host: the built node image, kubelet allowed on cgroup v1.
	t.Run("traefik built cgroup v1", func(t *testing.T) {
		cfg, err := Config("grpclab", "traefik", ConfigOptions{Images: Built, CgroupV1: true})
		if err != nil {
			t.Fatal(err)
		}
		b, err := RenderConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "kind-config-traefik-built-cgroupv1.golden", b)
	})
}

// kubelet's cgroup v1 opt-in is there exactly when the host is on v1, and it is a
// KubeletConfiguration patch kubeadm accepts.
func TestConfigCgroupV1Patch(t *testing.T) {
	for _, v1 := range []bool{false, true} {
		cfg, err := Config("x", "traefik", ConfigOptions{Images: Built, CgroupV1: v1})
		if err != nil {
			t.Fatal(err)
		}
		patched := len(cfg.KubeadmConfigPatches) == 1 && strings.Contains(cfg.KubeadmConfigPatches[0], "failCgroupV1: false") &&
			strings.Contains(cfg.KubeadmConfigPatches[0], "kind: KubeletConfiguration")
		if patched != v1 {
			t.Errorf("CgroupV1 %v: patches %q", v1, cfg.KubeadmConfigPatches)
		}
		if cfg.Nodes[0].Image != BuiltNodeImage {
			t.Errorf("built node image = %s, want %s", cfg.Nodes[0].Image, BuiltNodeImage)
		}
	}
}

func TestConfigContract(t *testing.T) {
	tests := []struct {
		controller string
		image      string
		hostPorts  map[int32]int32 // node port → host port
	}{
		{"envoy-gateway", DefaultNodeImage, map[int32]int32{addon.GatewayNodePort: GatewayHostPort}},
		{"nginx-gateway-fabric", DefaultNodeImage, map[int32]int32{addon.GatewayNodePort: GatewayHostPort}},
		{"ingress-nginx", IngressNGINXNodeImage, map[int32]int32{443: IngressHostPort, 80: IngressHTTPHostPort}},
		{"traefik", DefaultNodeImage, map[int32]int32{addon.GatewayNodePort: GatewayHostPort,
			addon.Traefik.IngressPorts.HTTPS: IngressHostPort, addon.Traefik.IngressPorts.HTTP: IngressHTTPHostPort}},
	}
	for _, tt := range tests {
		t.Run(tt.controller, func(t *testing.T) {
			cfg, err := Config("x", tt.controller, ConfigOptions{Images: Pulled})
			if err != nil {
				t.Fatal(err)
			}
			if !cfg.Networking.DisableDefaultCNI || cfg.Networking.PodSubnet != "192.168.0.0/16" {
				t.Errorf("networking = %+v, want default CNI disabled and Calico's 192.168.0.0/16", cfg.Networking)
			}
			if len(cfg.Nodes) != 1 || cfg.Nodes[0].Image != tt.image {
				t.Fatalf("nodes = %+v, want one node on %s", cfg.Nodes, tt.image)
			}
			got := map[int32]int32{}
			for _, m := range cfg.Nodes[0].ExtraPortMappings {
				if m.ListenAddress != "127.0.0.1" {
					t.Errorf("mapping %+v listens beyond loopback", m)
				}
				got[m.ContainerPort] = m.HostPort
			}
			if len(got) != len(tt.hostPorts) {
				t.Errorf("port mappings = %v, want %v", got, tt.hostPorts)
			}
			for node, host := range tt.hostPorts {
				if got[node] != host {
					t.Errorf("node port %d maps to host %d, want %d", node, got[node], host)
				}
			}
		})
	}
	if _, err := Config("x", "haproxy", ConfigOptions{}); err == nil || !strings.Contains(err.Error(), `"haproxy"`) {
		t.Errorf("unknown controller: err = %v, want one naming it", err)
	}
}

// The hermetic images' pins (images/pins.env) name the same kind and Kubernetes releases as
// go.mod's modules, so the node image matches the library that drives it.
func TestBuiltPinsMatchGoMod(t *testing.T) {
	if v := images.Pin("KIND_VERSION"); !strings.Contains(kindversion.Version(), strings.TrimPrefix(v, "v")) {
		t.Errorf("images/pins.env KIND_VERSION=%s, go.mod's kind is %s", v, kindversion.Version())
	}
	// k8s.io/client-go v0.X.Y is released with Kubernetes v1.X.Y.
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/client-go (v\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod requires no k8s.io/client-go")
	}
	clientGo := string(m[1])
	if want := "v1" + strings.TrimPrefix(clientGo, "v0"); images.Pin("KUBERNETES_VERSION") != want {
		t.Errorf("images/pins.env KUBERNETES_VERSION=%s, go.mod's k8s.io/client-go %s is Kubernetes %s",
			images.Pin("KUBERNETES_VERSION"), clientGo, want)
	}
}

// The pinned default must be exactly the image kind v0.33.0 ships.
func TestDefaultNodeImageIsKinds(t *testing.T) {
	if DefaultNodeImage != defaults.Image {
		t.Errorf("DefaultNodeImage = %s, kind's default is %s", DefaultNodeImage, defaults.Image)
	}
	if !strings.HasPrefix(IngressNGINXNodeImage, "kindest/node:v1.35.") || !strings.Contains(IngressNGINXNodeImage, "@sha256:") {
		t.Errorf("ingress-nginx node image %s is not a digest-pinned 1.35 image", IngressNGINXNodeImage)
	}
}

func TestVersions(t *testing.T) {
	tests := []struct {
		controller string
		want       map[string]string
	}{
		{"envoy-gateway", map[string]string{
			"kind node image": DefaultNodeImage, "kubernetes": "v1.37.0", "networkpolicy enforcer": "calico " + addon.CalicoVersion,
			"gateway-api": "v1.6.3", "controller": "envoy-gateway", "envoy-gateway": addon.EnvoyGatewayVersion, "images": "pulled",
		}},
		{"nginx-gateway-fabric", map[string]string{
			"kubernetes": "v1.37.0", "nginx-gateway-fabric": addon.NGINXGatewayFabricVersion, "gateway-api": "v1.6.3",
		}},
		{"ingress-nginx", map[string]string{
			"kind node image": IngressNGINXNodeImage, "kubernetes": "v1.35.8", "ingress-nginx": "v1.15.1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.controller, func(t *testing.T) {
			p, err := New(WithController(tt.controller))
			if err != nil {
				t.Fatal(err)
			}
			got := p.Versions()
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("Versions()[%q] = %q, want %q", k, got[k], v)
				}
			}
			if got["kind"] != kindversion.Version() || !strings.Contains(got["kind"], "0.33.0") {
				t.Errorf(`Versions()["kind"] = %q, want kind's own v0.33.0`, got["kind"])
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		want string
	}{
		{"unknown controller", WithController("haproxy"), `controller "haproxy": unknown`},
		{"empty cluster name", WithClusterName(""), "cluster name: empty"},
		{"no dockerfile", WithImageBuild(t.TempDir()), "image build:"},
		{"zero timeout", WithTimeout(0), "timeout: 0s is not positive"},
		{"nil certificates", WithCertificates("ca.pem", nil), "nil secrets function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opt)
			expect.Error(t, err, tt.want)
		})
	}
}

// TestEndpoints: a controller serves one entry point; the other stays empty, which is how
// the scenarios know to skip its cases.
func TestEndpoints(t *testing.T) {
	gw, _ := New(WithController("envoy-gateway"))
	if ep := gw.Endpoints(); ep.Gateway.Address != "127.0.0.1:50051" || ep.Ingress.Address != "" {
		t.Errorf("envoy-gateway endpoints = %+v", ep)
	}
	in, _ := New(WithController("ingress-nginx"))
	if ep := in.Endpoints(); ep.Ingress.Address != "127.0.0.1:8443" || ep.IngressHTTP.Address != "127.0.0.1:8080" || ep.Gateway.Address != "" {
		t.Errorf("ingress-nginx endpoints = %+v", ep)
	}
}

// TestServedDropsGatewayAPIForIngressOnly: ingress-nginx has no Gateway API CRDs, so the
// Gateway API objects are not applied; a Gateway API controller gets everything.
func TestServedDropsGatewayAPIForIngressOnly(t *testing.T) {
	objs, err := manifests.Load([]string{"base", "gateway-api", "ingress-nginx"})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := New(WithController("ingress-nginx"))
	for _, o := range in.served(objs) {
		if g := o.GetObjectKind().GroupVersionKind().Group; g == gatewayv1.GroupName {
			t.Errorf("ingress-nginx would apply %s %s", o.GetObjectKind().GroupVersionKind().Kind, o.GetName())
		}
	}
	if n := len(in.served(objs)); n == len(objs) || n == 0 {
		t.Errorf("ingress-nginx applies %d of %d objects", n, len(objs))
	}
	gw, _ := New(WithController("envoy-gateway"))
	if n := len(gw.served(objs)); n != len(objs) {
		t.Errorf("envoy-gateway applies %d of %d objects", n, len(objs))
	}
}
