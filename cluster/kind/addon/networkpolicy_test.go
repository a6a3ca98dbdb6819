package addon

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

// kubeRouterDaemonSet is the DaemonSet kube-router.yaml defines.
func kubeRouterDaemonSet(t *testing.T) *appsv1.DaemonSet {
	t.Helper()
	data, err := Embedded("kube-router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds *appsv1.DaemonSet
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var kind struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &kind); err != nil {
			t.Fatal(err)
		}
		if kind.Kind == "DaemonSet" {
			ds = &appsv1.DaemonSet{}
			if err := yaml.Unmarshal([]byte(doc), ds); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ds == nil {
		t.Fatal("kube-router.yaml has no DaemonSet")
	}
	return ds
}

// The DaemonSet runs the image the addon declares, so the hermetic cluster's rewrite
// (Upstream to Built) finds it, and the plan waits for that DaemonSet.
func TestKubeRouterImage(t *testing.T) {
	ds := kubeRouterDaemonSet(t)
	if len(KubeRouter.Images) != 1 {
		t.Fatalf("KubeRouter.Images = %v, want one image", KubeRouter.Images)
	}
	want := KubeRouter.Images[0].Upstream
	containers := ds.Spec.Template.Spec.Containers
	if len(containers) != 1 || containers[0].Image != want {
		t.Fatalf("DaemonSet containers %+v, want one running %s", containers, want)
	}
	last := KubeRouter.Steps[len(KubeRouter.Steps)-1].Wait
	if last == nil || last.Namespace != ds.Namespace || last.Name != ds.Name {
		t.Errorf("last step waits for %v, want the DaemonSet %s/%s", last, ds.Namespace, ds.Name)
	}
}

// kube-router runs as the firewall only, beside the platform's ptp network and kube-proxy,
// and exempts the Service range kind gives the cluster (the kind config sets none).
func TestKubeRouterFirewallOnly(t *testing.T) {
	args := map[string]string{}
	for _, a := range kubeRouterDaemonSet(t).Spec.Template.Spec.Containers[0].Args {
		k, v, _ := strings.Cut(a, "=")
		args[k] = v
	}
	cluster := &v1alpha4.Cluster{Networking: v1alpha4.Networking{PodSubnet: PodSubnet}}
	v1alpha4.SetDefaultsCluster(cluster)
	for flag, want := range map[string]string{
		"--run-firewall":             "true",
		"--run-router":               "false",
		"--run-service-proxy":        "false",
		"--enable-cni":               "false",
		"--service-cluster-ip-range": cluster.Networking.ServiceSubnet,
	} {
		if got, ok := args[flag]; !ok || got != want {
			t.Errorf("arg %s=%q, want %q", flag, got, want)
		}
	}
}
