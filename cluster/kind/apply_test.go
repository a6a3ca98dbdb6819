package kind

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/internal/expect"
	"github.com/grpclab/grpclab/manifests"
)

func item(apiVersion, kind, name string) Item {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetName(name)
	return Item{Source: "t", Object: u}
}

func TestOrder(t *testing.T) {
	in := []Item{
		item("apps/v1", "Deployment", "d1"),
		item("v1", "Secret", "s1"),
		item("gateway.networking.k8s.io/v1", "Gateway", "g"),
		item("v1", "Namespace", "ns"),
		item("apiextensions.k8s.io/v1", "CustomResourceDefinition", "c"),
		item("v1", "Service", "svc"),
		item("v1", "Secret", "s2"),
		item("apps/v1", "Deployment", "d2"),
	}
	var got []string
	for _, it := range Order(in) {
		got = append(got, it.Object.GetName())
	}
	want := "c,ns,s1,s2,d1,g,svc,d2"
	if strings.Join(got, ",") != want {
		t.Errorf("Order = %s, want %s (CRDs, namespaces, secrets, rest in given order)", strings.Join(got, ","), want)
	}
}

func TestDecodeYAMLErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
		count            int
	}{
		{"two docs and a blank", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n", "", 2},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "x.yaml#1: missing apiVersion or kind", 0},
		{"no name", "apiVersion: v1\nkind: Namespace\n---\napiVersion: v1\nkind: Namespace\nmetadata: {}\n", "x.yaml#1: Namespace has no metadata.name", 0},
		{"bad yaml", "apiVersion: v1\nkind: [\n", "decode x.yaml#1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := DecodeYAML("x.yaml", []byte(tt.yaml))
			if tt.want == "" {
				if err != nil || len(items) != tt.count {
					t.Fatalf("DecodeYAML = %d items, %v; want %d", len(items), err, tt.count)
				}
				if items[1].Source != "x.yaml#2" {
					t.Errorf("source = %s, want x.yaml#2 (position among non-empty documents)", items[1].Source)
				}
				return
			}
			expect.Error(t, err, tt.want)
		})
	}
}

func TestItemsFillTypeMetaAndDropStatus(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "demo"}}
	d.Status.Replicas = 3
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw"}}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: "demo"}, Type: corev1.SecretTypeTLS}
	items, err := Items([]manifests.Object{{Source: "a.yaml#1", Object: d}, {Source: "a.yaml#2", Object: gw}}, []*corev1.Secret{sec})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apps/v1 Deployment", "gateway.networking.k8s.io/v1 Gateway", "v1 Secret"}
	for i, it := range items {
		if got := it.Object.GetAPIVersion() + " " + it.Object.GetKind(); got != want[i] {
			t.Errorf("item %d = %s, want %s", i, got, want[i])
		}
		if _, ok := it.Object.Object["status"]; ok {
			t.Errorf("item %d keeps status; apply must not send it", i)
		}
		if _, ok, _ := unstructured.NestedFieldNoCopy(it.Object.Object, "metadata", "creationTimestamp"); ok {
			t.Errorf("item %d keeps creationTimestamp", i)
		}
	}
	if items[2].Source != "generated" {
		t.Errorf("secret source = %s", items[2].Source)
	}
}

func TestReadiness(t *testing.T) {
	items := []Item{item("apps/v1", "Deployment", "d"), item("v1", "Service", "s"), item("gateway.networking.k8s.io/v1", "Gateway", "g")}
	var got []string
	for _, w := range Readiness(items) {
		got = append(got, w.String())
	}
	want := "default/deployments.apps/d Available|default/gateways.gateway.networking.k8s.io/g Programmed"
	if strings.Join(got, "|") != want {
		t.Errorf("Readiness = %s, want %s", strings.Join(got, "|"), want)
	}
}

func TestWithoutGatewayAPICRDs(t *testing.T) {
	a := item("apiextensions.k8s.io/v1", "CustomResourceDefinition", "gateways.gateway.networking.k8s.io")
	_ = unstructured.SetNestedField(a.Object.Object, "gateway.networking.k8s.io", "spec", "group")
	b := item("apiextensions.k8s.io/v1", "CustomResourceDefinition", "envoyproxies.gateway.envoyproxy.io")
	_ = unstructured.SetNestedField(b.Object.Object, "gateway.envoyproxy.io", "spec", "group")
	out := withoutGatewayAPICRDs([]Item{a, b, item("v1", "Namespace", "n")})
	if len(out) != 2 || out[0].Object.GetName() != "envoyproxies.gateway.envoyproxy.io" {
		t.Errorf("kept %v", out)
	}
}
