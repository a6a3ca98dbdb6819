package scenarios

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/grpclab/grpclab/scenarios/call"
)

// TestAuthThroughEdge: the interceptor's answers (code, message and x-served-by) arrive
// unchanged through the edge. The Ingress routes every method to the greeter pods, which
// serve com.example.User too; the Gateway routes only Login on foo.example.com.
func TestAuthThroughEdge(t *testing.T) {
	s := newScenario("auth", "auth").routes(
		route{name: "ingress: admin may Login", entry: ingress, host: greeterHost, method: login, md: admin, code: codes.OK, servedBy: "greeter-"},
		route{name: "ingress: no credentials is Unauthenticated", entry: ingress, host: greeterHost, method: getProfile, code: codes.Unauthenticated, servedBy: "greeter-"},
		route{name: "ingress: wrong password is Unauthenticated", entry: ingress, host: greeterHost, method: getProfile, md: wrongPass, code: codes.Unauthenticated, servedBy: "greeter-"},
		route{name: "ingress: unknown user is Unauthenticated", entry: ingress, host: greeterHost, method: login, md: []string{"username", "mallory", "password", "x"}, code: codes.Unauthenticated, servedBy: "greeter-"},
		route{name: "ingress: duplicated username is Unauthenticated", entry: ingress, host: greeterHost, method: login, md: with(alice, "username", "admin"), code: codes.Unauthenticated, servedBy: "greeter-"},
		route{name: "ingress: alice may not DeleteUser (PermissionDenied)", entry: ingress, host: greeterHost, method: deleteUser, md: alice, code: codes.PermissionDenied, servedBy: "greeter-"},
		route{name: "ingress: SayHello is public", entry: ingress, host: greeterHost, method: sayHello, code: codes.OK, servedBy: "greeter-"},
		route{name: "gateway: Login with a wrong password is Unauthenticated", entry: gateway, host: fooHost, method: login, md: wrongPass, code: codes.Unauthenticated, servedBy: "foo-"},
	)
	s.add("the message arrives unchanged through the ingress", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		pods, err := lab.platform.Backends(ctx, "default", "go-grpc-greeter-server", 80)
		if err != nil {
			t.Fatal(err)
		}
		direct := lab.dial(t, call.Target{Address: pods[0], Plaintext: true})
		edge := lab.dial(t, lab.target(ingress, greeterHost))
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			for _, md := range [][]string{nil, wrongPass, alice} {
				want := call.Unary(ctx, direct, deleteUser, md...)
				got := call.Unary(ctx, edge, deleteUser, md...)
				if got.Code != want.Code || got.Message != want.Message {
					return fmt.Errorf("through the ingress %s (%q), direct %s (%q)", got.Code, got.Message, want.Code, want.Message)
				}
			}
			return nil
		})
	})
	testenv.Test(t, s.feature().Feature())
}
