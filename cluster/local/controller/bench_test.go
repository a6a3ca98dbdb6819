package controller

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/gatewayapi"
)

// BenchmarkHop measures a unary call at concurrency 1 straight to the backend (h2c) and
// through the TLS-terminating gateway on one shared connection, so the cost of the nginx hop
// (with upstream keepalive) shows as the ratio of the two.
func BenchmarkHop(b *testing.B) {
	if _, err := os.Stat(Binary); err != nil {
		b.Skipf("nginx not installed at %s: %v", Binary, err)
	}
	ca := newTestCA(b)
	cert := ca.issue(b, "bench", "bench.example.com")
	addr := startBackend(b, "bench")
	state := b.TempDir()
	if err := os.Chmod(filepath.Dir(state), 0o711); err != nil {
		b.Fatal(err)
	}
	gwAddr, admin := freePort(b), freePort(b)
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "gw"},
		Spec: gatewayv1.GatewaySpec{Listeners: []gatewayv1.Listener{{
			Name: "https", Port: 443, Protocol: gatewayv1.HTTPSProtocolType,
			TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "tls"}}},
		}}},
	}
	in := Input{
		Objects: gatewayapi.Objects{
			Gateways: []*gatewayv1.Gateway{gw},
			GRPCRoutes: []*gatewayv1.GRPCRoute{grpcRoute("default", "r", time.Now(), []string{"bench.example.com"},
				[]gatewayv1.ParentReference{parent("", "gw", "")}, rule(nil, backend("", "bench", 50051, nil)))},
			Services: []*corev1.Service{service("default", "bench")},
		},
		Endpoints:     map[string][]string{EndpointKey("default", "bench", 50051): {addr}},
		Certs:         map[string]CertFiles{"default/tls": cert},
		GatewayListen: map[string]string{"default/gw/https": gwAddr},
		StateDir:      state, Generation: 1, AdminListen: admin,
	}
	cfg, err := Render(in)
	if err != nil {
		b.Fatal(err)
	}
	if err := Start(context.Background(), state, cfg); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = Stop(context.Background(), state) })
	c := newClients(b, ca.pool)
	for _, path := range []struct {
		name, addr string
		tls        bool
	}{{"direct", addr, false}, {"gateway", gwAddr, true}} {
		b.Run(path.name, func(b *testing.B) {
			if _, st := c.call(path.addr, "bench.example.com", path.tls, "/any.Svc/M"); st.Code() != codes.OK {
				b.Fatalf("warm-up: %v", st.Err())
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, st := c.call(path.addr, "bench.example.com", path.tls, "/any.Svc/M"); st.Code() != codes.OK {
					b.Fatalf("call: %v", st.Err())
				}
			}
		})
	}
}
