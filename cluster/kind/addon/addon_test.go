package addon

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestPlanGolden(t *testing.T) {
	all := []Addon{Calico, GatewayAPI, EnvoyGateway, NGINXGatewayFabric, IngressNGINX}
	for _, a := range all {
		t.Run(a.Name, func(t *testing.T) {
			path := filepath.Join("testdata", a.Name+".plan.golden")
			got := a.Plan()
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read %s (go test -update creates it): %v", path, err)
			}
			if got != string(want) {
				t.Errorf("plan of %s changed (go test -update rewrites it):\n%s\nwant:\n%s", a.Name, got, want)
			}
		})
	}
}

// Every remote source carries the addon's pinned version, so nothing floats.
func TestPlanSourcesArePinned(t *testing.T) {
	for _, a := range []Addon{Calico, GatewayAPI, EnvoyGateway, NGINXGatewayFabric, IngressNGINX} {
		if len(a.Steps) == 0 {
			t.Errorf("%s has no steps", a.Name)
		}
		for i, s := range a.Steps {
			switch s.Action {
			case ApplyURL:
				if !strings.HasPrefix(s.Source, "https://") || !strings.Contains(s.Source, "/"+a.Version+"/") && !strings.Contains(s.Source, "-"+a.Version+"/") {
					t.Errorf("%s step %d: %s is not https pinned to %s", a.Name, i+1, s.Source, a.Version)
				}
			case ApplyEmbedded:
				data, err := Embedded(s.Source)
				if err != nil {
					t.Errorf("%s step %d: %v", a.Name, i+1, err)
					continue
				}
				if err := decodes(data); err != nil {
					t.Errorf("%s step %d: embedded %s: %v", a.Name, i+1, s.Source, err)
				}
			case WaitCondition:
				if s.Wait == nil || s.Wait.Condition == "" || s.Wait.Resource.Resource == "" {
					t.Errorf("%s step %d: incomplete wait %+v", a.Name, i+1, s.Wait)
				}
			default:
				t.Errorf("%s step %d: unknown action %q", a.Name, i+1, s.Action)
			}
		}
		// An install ends by waiting, so the next addon starts on a ready one.
		if last := a.Steps[len(a.Steps)-1]; last.Action != WaitCondition {
			t.Errorf("%s ends with %s, want a wait", a.Name, last)
		}
	}
}

func decodes(data []byte) error {
	docs := strings.Split(string(data), "\n---\n")
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			return err
		}
		if m["apiVersion"] == nil || m["kind"] == nil {
			return os.ErrInvalid
		}
	}
	return nil
}

// The embedded objects must agree with the pins they restate.
func TestEmbeddedAgreesWithPins(t *testing.T) {
	inst, _ := Embedded("calico-installation.yaml")
	if !strings.Contains(string(inst), "cidr: "+PodSubnet) {
		t.Errorf("calico Installation does not use the pod subnet %s", PodSubnet)
	}
	for _, name := range []string{"envoy-gateway-class.yaml", "nginx-gateway-proxy.yaml"} {
		b, _ := Embedded(name)
		if !strings.Contains(string(b), "30051") || !strings.Contains(string(b), "50051") {
			t.Errorf("%s does not pin nodePort %d for listener %d", name, GatewayNodePort, GatewayListenerPort)
		}
	}
	if GatewayNodePort != 30051 || GatewayListenerPort != 50051 {
		t.Errorf("the embedded YAML hard-codes 30051/50051; update it with the constants")
	}
	b, _ := Embedded("envoy-gateway-class.yaml")
	if !strings.Contains(string(b), "name: "+EnvoyGateway.GatewayClass) {
		t.Errorf("envoy-gateway-class.yaml does not define GatewayClass %s", EnvoyGateway.GatewayClass)
	}
}

func TestControllerLookup(t *testing.T) {
	if got := strings.Join(Controllers(), ","); got != "envoy-gateway,ingress-nginx,nginx-gateway-fabric" {
		t.Errorf("Controllers() = %s", got)
	}
	if _, err := Controller("istio"); err == nil || !strings.Contains(err.Error(), "envoy-gateway, ingress-nginx, nginx-gateway-fabric") {
		t.Errorf("Controller(istio) err = %v, want the known names listed", err)
	}
}
