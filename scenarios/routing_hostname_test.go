package scenarios

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/grpclab/grpclab/scenarios/call"
)

// TestHostnameRouting: the Gateway's GRPCRoutes are chosen by host first (foo-route on
// foo.example.com, bar-route on bar.example.com); a host no route and no certificate names
// never reaches a backend.
func TestHostnameRouting(t *testing.T) {
	s := newScenario("routing/hostname", "routing").routes(
		route{name: "foo.example.com reaches foo-svc", entry: gateway, host: "foo.example.com", method: login, md: admin, code: codes.OK, servedBy: "foo-"},
		route{name: "bar.example.com reaches bar-svc", entry: gateway, host: "bar.example.com", method: sayHello, code: codes.OK, servedBy: "bar-stable-"},
		route{name: "bar.example.com routes every method (rule without matches)", entry: gateway, host: "bar.example.com", method: login, md: admin, code: codes.OK, servedBy: "bar-stable-"},
	)
	s.add("unknown.example.com fails the TLS handshake", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		conn := lab.dial(t, lab.target(gateway, "unknown.example.com"))
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			if r := call.Unary(ctx, conn, sayHello); !r.HandshakeFailed() {
				return fmt.Errorf("got %s, want a failed TLS handshake", r)
			}
			return nil
		})
	})
	testenv.Test(t, s.feature().Feature())
}
