package scenarios

import (
	"testing"

	"google.golang.org/grpc/codes"
)

// TestMethodRouting is the article's foo-route: only com.example.User/Login on
// foo.example.com reaches foo-svc; any other method on that host matches no rule and is
// answered Unimplemented by the gateway itself (no x-served-by).
func TestMethodRouting(t *testing.T) {
	s := newScenario("routing/method", "routing").routes(
		route{name: "Login reaches foo-svc", entry: gateway, host: fooHost, method: login, md: alice, code: codes.OK, servedBy: "foo-"},
		route{name: "Login without credentials is routed and refused by foo-svc", entry: gateway, host: fooHost, method: login, code: codes.Unauthenticated, servedBy: "foo-"},
		route{name: "GetProfile is Unimplemented", entry: gateway, host: fooHost, method: getProfile, md: admin, code: codes.Unimplemented},
		route{name: "DeleteUser is Unimplemented", entry: gateway, host: fooHost, method: deleteUser, md: admin, code: codes.Unimplemented},
		route{name: "another service is Unimplemented", entry: gateway, host: fooHost, method: sayHello, code: codes.Unimplemented},
		route{name: "a method of the same name on another service is Unimplemented", entry: gateway, host: fooHost, method: "/com.example.Other/Login", code: codes.Unimplemented},
	)
	testenv.Test(t, s.feature().Feature())
}
