package kind

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpclab/grpclab/cluster/kind/addon"
)

// fakeDocker points dockerBinary at a script whose `image inspect` knows only the images in
// present, and the registry probe at url ("" for a registry that does not answer).
func fakeDocker(t *testing.T, url string, present ...string) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\n# image inspect --format F REF\ncase \"$5\" in\n"
	for _, ref := range present {
		script += "'" + ref + "') echo sha256:1; exit 0;;\n"
	}
	script += "esac\necho \"Error: No such image: $5\" >&2\nexit 1\n"
	path := filepath.Join(dir, "docker")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	oldBin, oldProbe := dockerBinary, registryProbe
	dockerBinary = path
	if url == "" {
		// A closed port on loopback: refused at once, as on a machine without a route.
		srv := httptest.NewServer(http.NotFoundHandler())
		url = srv.URL
		srv.Close()
	}
	registryProbe = url
	t.Cleanup(func() { dockerBinary, registryProbe = oldBin, oldProbe })
}

func builtSet(t *testing.T, controller string) []string {
	t.Helper()
	a, err := addon.Controller(controller)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := BuiltImages(a)
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

func TestChooseImages(t *testing.T) {
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized) // what an anonymous /v2/ answers
	}))
	defer registry.Close()
	all := builtSet(t, "traefik")
	tests := []struct {
		name           string
		registry       string
		present        []string
		requested      string
		controller     string
		wantImages     ImageSource
		wantController string
		wantErr        string // substring; "" for success
	}{
		{name: "registry answers: pull, default controller", registry: registry.URL,
			wantImages: Pulled, wantController: "envoy-gateway"},
		{name: "no registry, built set present: built, traefik by default", present: all,
			wantImages: Built, wantController: "traefik"},
		{name: "no registry, nothing built: names what is missing",
			wantErr: "no registry answers"},
		{name: "no registry, node image missing", present: all[1:],
			wantErr: "lacks " + BuiltNodeImage + ": run make images"},
		{name: "no registry, controller that cannot be built", present: all, controller: "envoy-gateway",
			wantErr: "cannot be built here"},
		{name: "built asked, registry answers: still built", registry: registry.URL, present: all,
			requested: "built", wantImages: Built, wantController: "traefik"},
		{name: "built asked, set incomplete", present: all[:1], requested: "built",
			wantErr: "GRPCLAB_IMAGES=built: the built image set lacks"},
		{name: "pulled asked, no registry: taken as asked", requested: "pulled", controller: "traefik",
			wantImages: Pulled, wantController: "traefik"},
		{name: "unknown source", requested: "cached", wantErr: `GRPCLAB_IMAGES="cached": want pulled or built`},
		{name: "unknown controller", registry: registry.URL, controller: "haproxy", wantErr: `controller "haproxy": unknown`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeDocker(t, tt.registry, tt.present...)
			c, err := ChooseImages(context.Background(), tt.requested, tt.controller)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ChooseImages = %+v, %v; want error containing %q", c, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Images != tt.wantImages || c.Controller != tt.wantController || c.Why == "" {
				t.Errorf("ChooseImages = %+v, want %s images, controller %s and a reason", c, tt.wantImages, tt.wantController)
			}
		})
	}
}

// The hermetic set: the node, the enforcer, the controller's images, the server; every
// built name differs from its upstream one, so a report can tell which ran.
func TestBuiltImages(t *testing.T) {
	refs := builtSet(t, "traefik")
	want := []string{BuiltNodeImage, addon.KubeRouter.Images[0].Built, addon.Traefik.Images[0].Built, ServerImage}
	if strings.Join(refs, " ") != strings.Join(want, " ") {
		t.Errorf("BuiltImages(traefik) = %v, want %v", refs, want)
	}
	for _, a := range []addon.Addon{addon.KubeRouter, addon.Traefik} {
		for _, im := range a.Images {
			if im.Built == im.Upstream || !strings.HasPrefix(im.Built, "grpclab.local/") {
				t.Errorf("%s: built image %q should be a grpclab.local/ copy of %q", a.Name, im.Built, im.Upstream)
			}
		}
	}
	for _, c := range []string{"envoy-gateway", "nginx-gateway-fabric", "ingress-nginx"} {
		a, _ := addon.Controller(c)
		if _, err := BuiltImages(a); err == nil {
			t.Errorf("BuiltImages(%s) = nil error; its images cannot be built here", c)
		}
	}
}

func TestRewriteImages(t *testing.T) {
	items, err := DecodeYAML("test.yaml", []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: ctl, namespace: x}
spec:
  selector: {matchLabels: {app: ctl}}
  template:
    metadata: {labels: {app: ctl}}
    spec:
      initContainers: [{name: init, image: "up/ctl:v1"}]
      containers: [{name: ctl, image: "up/ctl:v1", imagePullPolicy: Always}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: x}
data: {image: "up/ctl:v1"}
`))
	if err != nil {
		t.Fatal(err)
	}
	imgs := []addon.Image{{Upstream: "up/ctl:v1", Built: "grpclab.local/ctl:v1"}}
	if err := RewriteImages(items, imgs); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(items[0].Object.Object["spec"])
	for _, want := range []string{`"image":"grpclab.local/ctl:v1","imagePullPolicy":"Never","name":"ctl"`, `"image":"grpclab.local/ctl:v1","imagePullPolicy":"Never","name":"init"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("rewritten spec %s lacks %s", b, want)
		}
	}
	if got := items[1].Object.Object["data"].(map[string]any)["image"]; got != "up/ctl:v1" {
		t.Errorf("a ConfigMap was rewritten: %v", got)
	}
	// An image with no built copy would wait forever for a pull: an error naming it.
	err = RewriteImages(items, []addon.Image{{Upstream: "other:v2", Built: "grpclab.local/other:v2"}})
	if err == nil || !strings.Contains(err.Error(), "test.yaml#1: Deployment ctl runs grpclab.local/ctl:v1, which has no locally built copy") {
		t.Errorf("RewriteImages with an unlisted image: %v", err)
	}
}

func TestCNIConfig(t *testing.T) {
	b, err := CNIConfig("192.168.0.0/24")
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		CNIVersion string `json:"cniVersion"`
		Plugins    []struct {
			Type   string `json:"type"`
			IPMasq bool   `json:"ipMasq"`
			IPAM   struct {
				Type   string                `json:"type"`
				Ranges [][]map[string]string `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(conf.Plugins) != 2 || conf.Plugins[0].Type != "ptp" || conf.Plugins[1].Type != "portmap" {
		t.Fatalf("plugins = %+v, want ptp then portmap", conf.Plugins)
	}
	if ipam := conf.Plugins[0].IPAM; ipam.Type != "host-local" || ipam.Ranges[0][0]["subnet"] != "192.168.0.0/24" {
		t.Errorf("ipam = %+v, want host-local on the node's podCIDR", ipam)
	}
	if _, err := CNIConfig(""); err == nil {
		t.Error("CNIConfig(\"\") = nil error")
	}
}
