package main

import (
	"slices"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestRoutesMethod: the try: line's host is the one whose route names the method, by service
// and method, with a match that leaves the service out matching any service.
func TestRoutesMethod(t *testing.T) {
	route := func(service, method *string) *gatewayv1.GRPCRoute {
		return &gatewayv1.GRPCRoute{Spec: gatewayv1.GRPCRouteSpec{Rules: []gatewayv1.GRPCRouteRule{
			{}, // a rule without matches names no method
			{Matches: []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{Service: service, Method: method}}}},
		}}}
	}
	s := func(v string) *string { return &v }
	for _, c := range []struct {
		name string
		r    *gatewayv1.GRPCRoute
		want bool
	}{
		{"service and method", route(s("com.example.User"), s("Login")), true},
		{"method only", route(nil, s("Login")), true},
		{"another service", route(s("helloworld.Greeter"), s("Login")), false},
		{"another method", route(s("com.example.User"), s("GetProfile")), false},
		{"service only", route(s("com.example.User"), nil), false},
	} {
		if got := routesMethod(c.r, loginMethod); got != c.want {
			t.Errorf("%s: routesMethod = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestDefaultHosts: the hosts printed come from the manifests, and the try: line's host is
// one the Gateway serves.
func TestDefaultHosts(t *testing.T) {
	h, err := defaultHosts()
	if err != nil {
		t.Fatal(err)
	}
	if len(h.gateway) == 0 || len(h.ingress) == 0 || !slices.Contains(h.gateway, h.login) {
		t.Fatalf("defaultHosts() = %+v: want gateway and ingress hosts, and the login host among the gateway's", h)
	}
}
