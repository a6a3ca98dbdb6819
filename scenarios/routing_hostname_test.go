package scenarios

import (
	"testing"

	"google.golang.org/grpc/codes"
)

// TestHostnameRouting: the Gateway's GRPCRoutes are chosen by host first (foo-route on
// foo.example.com, bar-route on bar.example.com); a host no route and no certificate names
// never reaches a backend.
func TestHostnameRouting(t *testing.T) {
	s := newScenario("routing/hostname", "routing").routes(
		route{name: "foo.example.com reaches foo-svc", entry: gateway, host: fooHost, method: login, md: admin, code: codes.OK, servedBy: "foo-"},
		route{name: "bar.example.com reaches bar-svc", entry: gateway, host: barHost, method: sayHello, code: codes.OK, servedBy: "bar-stable-"},
		route{name: "bar.example.com routes every method (rule without matches)", entry: gateway, host: barHost, method: login, md: admin, code: codes.OK, servedBy: "bar-stable-"},
		route{name: "unknown.example.com fails the TLS handshake", entry: gateway, host: "unknown.example.com", method: sayHello, handshakeFails: true},
	)
	testenv.Test(t, s.feature().Feature())
}
