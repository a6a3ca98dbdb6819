package gatewayapi

import (
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestMatchMatches(t *testing.T) {
	exact, regex := ptr(gatewayv1.GRPCMethodMatchExact), ptr(gatewayv1.GRPCMethodMatchRegularExpression)
	hRegex := ptr(gatewayv1.GRPCHeaderMatchRegularExpression)
	login := Request{Service: "com.example.User", Method: "Login", Headers: map[string]string{"Env": "canary"}}
	for _, c := range []struct {
		name  string
		match Match
		want  bool
	}{
		{"no conditions match everything", Match{}, true},
		{"exact service and method", Match{Method: &gatewayv1.GRPCMethodMatch{Type: exact, Service: ptr("com.example.User"), Method: ptr("Login")}}, true},
		{"exact method, any service", Match{Method: &gatewayv1.GRPCMethodMatch{Method: ptr("Login")}}, true},
		{"exact is not a prefix", Match{Method: &gatewayv1.GRPCMethodMatch{Method: ptr("Log")}}, false},
		{"another service", Match{Method: &gatewayv1.GRPCMethodMatch{Service: ptr("helloworld.Greeter")}}, false},
		{"regex on the whole value", Match{Method: &gatewayv1.GRPCMethodMatch{Type: regex, Service: ptr(`com\.example\..*`), Method: ptr("Log.n")}}, true},
		{"regex is anchored", Match{Method: &gatewayv1.GRPCMethodMatch{Type: regex, Method: ptr("og")}}, false},
		{"a bad regex matches nothing", Match{Method: &gatewayv1.GRPCMethodMatch{Type: regex, Method: ptr("(")}}, false},
		{"header names are case-insensitive", Match{Headers: []HeaderMatch{{GRPCHeaderMatch: gatewayv1.GRPCHeaderMatch{Name: "env", Value: "canary"}}}}, true},
		{"header values are not", Match{Headers: []HeaderMatch{{GRPCHeaderMatch: gatewayv1.GRPCHeaderMatch{Name: "env", Value: "Canary"}}}}, false},
		{"a missing header", Match{Headers: []HeaderMatch{{GRPCHeaderMatch: gatewayv1.GRPCHeaderMatch{Name: "zone", Value: ""}}}}, false},
		{"header regex", Match{Headers: []HeaderMatch{{GRPCHeaderMatch: gatewayv1.GRPCHeaderMatch{Type: hRegex, Name: "env", Value: "can.*"}}}}, true},
	} {
		if got := c.match.Matches(login); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestListenerRoute: the first candidate in precedence order that matches takes the request,
// so an exact method match on a route beats a match-all rule, and a header rule takes only the
// requests that carry the header.
func TestListenerRoute(t *testing.T) {
	in := objects()
	byMethod := route("infra", "by-method", []string{"a.example.com"}, "same", "")
	byMethod.Spec.Rules[0].Matches = []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{Method: ptr("Login")}}}
	all := route("infra", "all", []string{"a.example.com"}, "same", "")
	header := route("infra", "header", []string{"a.example.com"}, "same", "")
	header.Spec.Rules[0].Matches = []gatewayv1.GRPCRouteMatch{{Headers: []gatewayv1.GRPCHeaderMatch{{Name: "env", Value: "canary"}}}}
	in.GRPCRoutes = []*gatewayv1.GRPCRoute{all, byMethod, header}
	m := Build(in)
	l := m.Listeners[0]
	for _, c := range []struct {
		req  Request
		want string
	}{
		{Request{Host: "a.example.com", Service: "com.example.User", Method: "Login"}, "by-method"},
		{Request{Host: "a.example.com", Service: "com.example.User", Method: "GetProfile"}, "all"},
		{Request{Host: "a.example.com", Service: "x.Y", Method: "Z", Headers: map[string]string{"env": "canary"}}, "header"},
		{Request{Host: "b.example.com", Service: "x.Y", Method: "Z"}, ""},
	} {
		got := ""
		if cand := l.Route(c.req); cand != nil {
			got = cand.Route.Name
		}
		if got != c.want {
			t.Errorf("%+v: routed by %q, want %q", c.req, got, c.want)
		}
	}
}
