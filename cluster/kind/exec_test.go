package kind

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestServerContainer: the server's container is found by cluster.IsServerImage (whose own
// test covers tags, digests and registry ports) whatever its name and place in the pod.
func TestServerContainer(t *testing.T) {
	sidecar := corev1.Container{Name: "sidecar", Image: "busybox"}
	server := corev1.Container{Name: "app", Image: "localhost:5000/grpclab/grpclab-server@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	pod := func(cs ...corev1.Container) *corev1.Pod { return &corev1.Pod{Spec: corev1.PodSpec{Containers: cs}} }

	if got, ok := serverContainer(pod(sidecar, server)); !ok || got.Name != "app" {
		t.Errorf("server after a sidecar: found %v (%q), want the container app", ok, got.Name)
	}
	if got, ok := serverContainer(pod(server, sidecar)); !ok || got.Name != "app" {
		t.Errorf("server before a sidecar: found %v (%q), want the container app", ok, got.Name)
	}
	if got, ok := serverContainer(pod(sidecar, corev1.Container{Name: "server", Image: "grpclab/grpclab-server-other:dev"})); ok {
		t.Errorf("no server image: found %q, want none", got.Name)
	}
}
