package kind

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestServerContainer(t *testing.T) {
	for _, c := range []struct {
		image string
		want  bool
	}{
		{"grpclab/grpclab-server:dev", true},
		{"grpclab/grpclab-server:v1.2", true},
		{"docker.io/grpclab/grpclab-server:dev", true},
		{"localhost:5000/grpclab/grpclab-server:dev", true},
		{"grpclab/grpclab-server@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"grpclab/grpclab-server-other:dev", false},
		{"nginx:1.27", false},
	} {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "sidecar", Image: "busybox"}, {Name: "server", Image: c.image}}}}
		got, ok := serverContainer(pod)
		if ok != c.want || (ok && got.Name != "server") {
			t.Errorf("%s: found %v (%q), want %v", c.image, ok, got.Name, c.want)
		}
	}
}
