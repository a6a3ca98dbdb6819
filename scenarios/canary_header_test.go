package scenarios

import (
	"testing"

	"google.golang.org/grpc/codes"
)

// TestHeaderCanary is the article's bar-route: `env: canary` (Exact) goes to bar-svc-canary;
// any other value, or no header, falls through to bar-svc.
func TestHeaderCanary(t *testing.T) {
	s := newScenario("canary/header", "canary").routes(
		route{name: "env: canary reaches the canary", entry: gateway, host: barHost, method: sayHello, md: []string{"env", "canary"}, code: codes.OK, servedBy: "bar-canary-"},
		route{name: "env: canary on an authenticated method reaches the canary", entry: gateway, host: barHost, method: login, md: with(alice, "env", "canary"), code: codes.OK, servedBy: "bar-canary-"},
		route{name: "no header reaches stable", entry: gateway, host: barHost, method: sayHello, code: codes.OK, servedBy: "bar-stable-"},
		route{name: "env: stable reaches stable", entry: gateway, host: barHost, method: sayHello, md: []string{"env", "stable"}, code: codes.OK, servedBy: "bar-stable-"},
		route{name: "env: Canary (Exact is case-sensitive) reaches stable", entry: gateway, host: barHost, method: sayHello, md: []string{"env", "Canary"}, code: codes.OK, servedBy: "bar-stable-"},
		route{name: "env: canary-2 (no prefix match) reaches stable", entry: gateway, host: barHost, method: sayHello, md: []string{"env", "canary-2"}, code: codes.OK, servedBy: "bar-stable-"},
	)
	testenv.Test(t, s.feature().Feature())
}
