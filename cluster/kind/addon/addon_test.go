package addon

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance"

	"github.com/grpclab/grpclab/manifests"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestPlanGolden(t *testing.T) {
	all := []Addon{Calico, KubeRouter, GatewayAPI, EnvoyGateway, NGINXGatewayFabric, IngressNGINX, Traefik}
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
	for _, a := range []Addon{Calico, KubeRouter, GatewayAPI, EnvoyGateway, NGINXGatewayFabric, IngressNGINX, Traefik} {
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
			case ApplyGatewayAPICRDs:
			case WriteCNIConfig:
				if !strings.HasPrefix(s.Source, "/etc/cni/net.d/") {
					t.Errorf("%s step %d: CNI config %s outside /etc/cni/net.d", a.Name, i+1, s.Source)
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

// gatewayListenerPort is the port of the default manifests' Gateway listener, which every
// controller's embedded YAML must serve.
func gatewayListenerPort(t *testing.T) int32 {
	t.Helper()
	objs, err := manifests.Load(manifests.DefaultVariants())
	if err != nil {
		t.Fatal(err)
	}
	gws := manifests.Of[*gatewayv1.Gateway](objs)
	if len(gws) != 1 || len(gws[0].Spec.Listeners) != 1 {
		t.Fatalf("the default manifests have %d Gateways: want one, with one listener", len(gws))
	}
	return int32(gws[0].Spec.Listeners[0].Port)
}

// The embedded objects must agree with the pins they restate.
func TestEmbeddedAgreesWithPins(t *testing.T) {
	inst, _ := Embedded("calico-installation.yaml")
	if !strings.Contains(string(inst), "cidr: "+PodSubnet) {
		t.Errorf("calico Installation does not use the pod subnet %s", PodSubnet)
	}
	listener := gatewayListenerPort(t)
	for _, name := range []string{"envoy-gateway-class.yaml", "nginx-gateway-proxy.yaml"} {
		b, _ := Embedded(name)
		if !strings.Contains(string(b), fmt.Sprint(GatewayNodePort)) || !strings.Contains(string(b), fmt.Sprint(listener)) {
			t.Errorf("%s does not pin nodePort %d for listener %d", name, GatewayNodePort, listener)
		}
	}
	b, _ := Embedded("envoy-gateway-class.yaml")
	if !strings.Contains(string(b), "name: "+EnvoyGateway.GatewayClass) {
		t.Errorf("envoy-gateway-class.yaml does not define GatewayClass %s", EnvoyGateway.GatewayClass)
	}
}

// traefik.yaml restates what addon.Traefik says: the image (the pin), the node ports the kind
// config maps, an entry point on the Gateway listener's port, and the two classes.
func TestTraefikManifestAgreesWithAddon(t *testing.T) {
	data, err := Embedded("traefik.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var (
		dep          *appsv1.Deployment
		svc          *corev1.Service
		ingressClass *networkingv1.IngressClass
		gatewayClass map[string]any
	)
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		var into any
		switch head.Kind {
		case "Deployment":
			dep = &appsv1.Deployment{}
			into = dep
		case "Service":
			svc = &corev1.Service{}
			into = svc
		case "IngressClass":
			ingressClass = &networkingv1.IngressClass{}
			into = ingressClass
		case "GatewayClass":
			into = &gatewayClass
		default:
			continue
		}
		if err := yaml.Unmarshal([]byte(doc), into); err != nil {
			t.Fatalf("%s: %v", head.Kind, err)
		}
	}
	if dep == nil || svc == nil || ingressClass == nil || gatewayClass == nil {
		t.Fatal("traefik.yaml lacks a Deployment, Service, IngressClass or GatewayClass")
	}

	if w := Traefik.Steps[1].Wait; w == nil || dep.Namespace != w.Namespace || dep.Name != w.Name {
		t.Errorf("Deployment %s/%s is not the one the plan waits for (%v)", dep.Namespace, dep.Name, w)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != Traefik.Images[0].Upstream {
		t.Errorf("Deployment image %s, want %s (images/pins.env TRAEFIK_VERSION)", c.Image, Traefik.Images[0].Upstream)
	}
	// Traefik's Gateway provider serves a listener on the entry point with the listener's port.
	if ep := fmt.Sprintf(".address=:%d", gatewayListenerPort(t)); !strings.Contains(strings.Join(c.Args, " "), ep) {
		t.Errorf("no entry point listens on the Gateway listener port %d", gatewayListenerPort(t))
	}

	// The conformance suite's Gateways listen on the ports its base manifests give, and it
	// dials the address Traefik publishes: the pod's IP, from the downward API.
	if Traefik.Conformance == nil || !Traefik.Conformance.PodAddress {
		t.Fatal("addon.Traefik does not say how the conformance suite reaches its Gateways")
	}
	for _, port := range conformanceListenerPorts(t) {
		if ep := fmt.Sprintf(".address=:%d", port); !strings.Contains(strings.Join(c.Args, " "), ep) {
			t.Errorf("no entry point listens on port %d, which a Gateway of the conformance suite's base manifests listens on", port)
		}
	}
	if !slices.Contains(c.Args, "--providers.kubernetesgateway.statusAddress.ip=$(POD_IP)") ||
		!slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
			return e.Name == "POD_IP" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP"
		}) {
		t.Error("Traefik does not publish its pod's IP ($(POD_IP) from status.podIP) as the Gateways' status address")
	}

	nodePorts := map[int32]int32{} // nodePort → port
	for _, p := range svc.Spec.Ports {
		nodePorts[p.NodePort] = p.Port
	}
	if svc.Spec.Type != corev1.ServiceTypeNodePort || nodePorts[GatewayNodePort] != gatewayListenerPort(t) {
		t.Errorf("Service %s is not a NodePort with %d for port %d", svc.Name, GatewayNodePort, gatewayListenerPort(t))
	}
	for _, np := range []int32{Traefik.IngressPorts.HTTPS, Traefik.IngressPorts.HTTP} {
		if _, ok := nodePorts[np]; !ok {
			t.Errorf("Service %s has no nodePort %d (IngressPorts)", svc.Name, np)
		}
	}

	if ingressClass.Name != Traefik.IngressClass {
		t.Errorf("IngressClass %s, want %s", ingressClass.Name, Traefik.IngressClass)
	}
	meta, _ := gatewayClass["metadata"].(map[string]any)
	if meta["name"] != Traefik.GatewayClass {
		t.Errorf("GatewayClass %v, want %s", meta["name"], Traefik.GatewayClass)
	}
}

func TestControllerLookup(t *testing.T) {
	if got := strings.Join(Controllers(), ","); got != "envoy-gateway,ingress-nginx,nginx-gateway-fabric,traefik" {
		t.Errorf("Controllers() = %s", got)
	}
	if _, err := Controller("istio"); err == nil || !strings.Contains(err.Error(), "envoy-gateway, ingress-nginx, nginx-gateway-fabric") {
		t.Errorf("Controller(istio) err = %v, want the known names listed", err)
	}
}

// conformanceListenerPorts are the listener ports of the Gateways in the upstream conformance
// suite's base manifests.
func conformanceListenerPorts(t *testing.T) []int32 {
	t.Helper()
	data, err := conformance.Manifests.ReadFile("base/manifests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ports []int32
	for _, doc := range strings.Split(string(data), "\n---") {
		var gw gatewayv1.Gateway
		if err := yaml.Unmarshal([]byte(doc), &gw); err != nil {
			t.Fatal(err)
		}
		if gw.Kind != "Gateway" {
			continue
		}
		for _, l := range gw.Spec.Listeners {
			if !slices.Contains(ports, int32(l.Port)) {
				ports = append(ports, int32(l.Port))
			}
		}
	}
	if len(ports) == 0 {
		t.Fatal("no Gateway listeners in the conformance suite's base manifests")
	}
	return ports
}
