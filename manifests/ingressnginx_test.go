package manifests

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/grpclab/grpclab/internal/expect"
	"github.com/grpclab/grpclab/manifests/manifeststest"
)

// TestIngressNginxConfigMap: the tuned variant loads and says what it sets; a bad value is
// rejected with the file, the object and the key named.
func TestIngressNginxConfigMap(t *testing.T) {
	objs, err := Load(append(production, "ingress-nginx/recycling-tuned"))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, o := range objs {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && IsIngressNginxConfigMap(cm) {
			found = true
		}
	}
	if !found {
		t.Fatalf("the variant holds no ConfigMap %s", IngressNginxConfigMap)
	}

	bad := `apiVersion: v1
kind: ConfigMap
metadata:
  name: ingress-nginx-controller
  namespace: ingress-nginx
data:
  keep-alive-requests: "lots"
  upstream-keepalive-time: "forever"
  proxy-body-size: "8m"
`
	dir := manifeststest.Dir(t, map[string]string{"cm.yaml": bad})
	_, err = Load(production, dir)
	if err == nil {
		t.Fatal("Load accepted keep-alive-requests: lots")
	}
	expect.Contains(t, "error", err.Error(), "cm.yaml#1", "ConfigMap ingress-nginx/ingress-nginx-controller", "data[keep-alive-requests]", `"lots"`, "data[upstream-keepalive-time]")
}

func TestParseIngressNginxRecycling(t *testing.T) {
	objs, err := Load([]string{"ingress-nginx/recycling-tuned"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		cm, ok := o.Object.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		r, fes := ParseIngressNginxRecycling(cm)
		if len(fes) > 0 {
			t.Fatal(fes)
		}
		if r.KeepAliveRequests != 1000000 || r.UpstreamKeepaliveRequests != 1000000 || r.KeepAlive != 0 || r.UpstreamKeepaliveTime != 0*time.Second {
			t.Errorf("parsed %+v", r)
		}
		return
	}
	t.Fatal("no ConfigMap in ingress-nginx/recycling-tuned")
}
