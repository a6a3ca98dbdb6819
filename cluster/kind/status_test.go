package kind

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/grpclab/grpclab/cluster"
)

// TestPodStates: the server's pods of every namespace, sorted, with their address; a pod
// that no longer runs points at its logs; other pods are not listed.
func TestPodStates(t *testing.T) {
	pod := func(ns, name, image string, phase corev1.PodPhase, ip string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "sidecar", Image: "busybox"},
				{Name: "server", Image: image, Ports: []corev1.ContainerPort{{Name: "grpc", ContainerPort: 50051}}},
			}},
			Status: corev1.PodStatus{Phase: phase, PodIP: ip},
		}
	}
	deleting := pod("default", "foo-2", "grpclab/grpclab-server:dev", corev1.PodRunning, "10.244.0.7")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	cs := fake.NewClientset(
		pod("myproject", "myproject-client-1", "grpclab/grpclab-server:dev", corev1.PodRunning, "10.244.0.9"),
		pod("default", "foo-1", "grpclab/grpclab-server:dev", corev1.PodRunning, "10.244.0.5"),
		pod("default", "bar-stable-1", "grpclab/grpclab-server:dev", corev1.PodFailed, ""),
		deleting,
		pod("traefik", "traefik-1", "traefik:v3.6.12", corev1.PodRunning, "10.244.0.2"),
	)
	got, err := podStates(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	want := []cluster.PodState{
		{Namespace: "default", Name: "bar-stable-1", Log: "kubectl logs -n default bar-stable-1"},
		{Namespace: "default", Name: "foo-1", Address: "10.244.0.5:50051", Running: true},
		{Namespace: "default", Name: "foo-2", Address: "10.244.0.7:50051", Log: "kubectl logs -n default foo-2"},
		{Namespace: "myproject", Name: "myproject-client-1", Address: "10.244.0.9:50051", Running: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("podStates =\n%+v\nwant\n%+v", got, want)
	}
}
