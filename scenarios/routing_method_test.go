package scenarios

import (
	"testing"

	"google.golang.org/grpc/codes"
)

// TestMethodRouting is the article's foo-route: only com.example.User/Login on
// foo.example.com reaches foo-svc; any other method on that host matches no rule and is
// answered Unimplemented by the gateway itself (no x-served-by).
func TestMethodRouting(t *testing.T) {
	const foo = "foo.example.com"
	s := newScenario("routing/method", "routing").routes(
		route{name: "Login reaches foo-svc", entry: gateway, host: foo, method: login, md: alice, code: codes.OK, servedBy: "foo-"},
		route{name: "Login without credentials is routed and refused by foo-svc", entry: gateway, host: foo, method: login, code: codes.Unauthenticated, servedBy: "foo-"},
		route{name: "GetProfile is Unimplemented", entry: gateway, host: foo, method: getProfile, md: admin, code: codes.Unimplemented},
		route{name: "DeleteUser is Unimplemented", entry: gateway, host: foo, method: deleteUser, md: admin, code: codes.Unimplemented},
		route{name: "another service is Unimplemented", entry: gateway, host: foo, method: sayHello, code: codes.Unimplemented},
		route{name: "a method of the same name on another service is Unimplemented", entry: gateway, host: foo, method: "/com.example.Other/Login", code: codes.Unimplemented},
	)
	testenv.Test(t, s.feature().Feature())
}
