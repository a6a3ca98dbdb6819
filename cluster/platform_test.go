package cluster

import "testing"

// TestIsServerImage: both platforms find the server's containers by this one matcher, so a
// registry with a port or a digest must not hide the image from either.
func TestIsServerImage(t *testing.T) {
	for _, c := range []struct {
		image string
		want  bool
	}{
		{"grpclab/grpclab-server", true},
		{"grpclab/grpclab-server:dev", true},
		{"docker.io/grpclab/grpclab-server:v1.2", true},
		{"localhost:5000/grpclab/grpclab-server:dev", true},
		{"localhost:5000/grpclab/grpclab-server", true},
		{"grpclab/grpclab-server@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"registry.example:443/team/grpclab/grpclab-server:dev@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"grpclab/grpclab-server-other:dev", false},
		{"other/grpclab-server:dev", false},
		{"xgrpclab/grpclab-server:dev", false},
		{"localhost:5000/nginx:1.27", false},
		{"", false},
	} {
		if got := IsServerImage(c.image); got != c.want {
			t.Errorf("IsServerImage(%q) = %v, want %v", c.image, got, c.want)
		}
	}
}
