package scenarios

import (
	"context"
	"maps"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/scenarios/call"
)

// The article's hosts, as the suites' claims name them. TestArticleHosts holds them to the
// manifests, so that a host renamed in the YAML fails there, by name, before every case
// that dials it fails.
const (
	fooHost     = "foo.example.com"           // foo-route
	barHost     = "bar.example.com"           // bar-route
	greeterHost = "grpctest.dev.mydomain.com" // fortune-ingress
)

// The methods the suites call, and the demo users' credentials as metadata pairs.
const (
	sayHello   = call.SayHello
	login      = call.Login
	getProfile = call.GetProfile
	deleteUser = call.DeleteUser
)

var (
	admin     = call.Admin()
	alice     = call.Alice()
	wrongPass = call.WrongPassword()
)

// with appends metadata pairs to credentials.
func with(creds []string, pairs ...string) []string {
	return append(append([]string(nil), creds...), pairs...)
}

// route is the common case: one unary call through an entry point as a host, expecting a
// code and an x-served-by prefix ("" when no backend answers), or a failed TLS handshake.
type route struct {
	name           string
	entry          entry
	host           string
	method         string
	md             []string
	code           codes.Code
	servedBy       string
	handshakeFails bool // the entry point has no certificate for host
}

func (s *scenario) routes(cases ...route) *scenario {
	for _, c := range cases {
		s.add(c.name, func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			conn := lab.dial(t, lab.target(c.entry, c.host))
			lab.eventually(ctx, t, note, func(ctx context.Context) error {
				r := call.Unary(ctx, conn, c.method, c.md...)
				if c.handshakeFails {
					return r.ExpectHandshakeFailure()
				}
				return r.Expect(c.code, c.servedBy)
			})
		})
	}
	return s
}

// TestArticleHosts: every host the suites' claims name is one the default manifests route,
// through a GRPCRoute attached to a listener or an Ingress rule.
func TestArticleHosts(t *testing.T) {
	objs, err := manifests.Load(defaultVariants)
	if err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	for _, l := range manifests.Model(objs).Listeners {
		for _, a := range l.Routes {
			for _, h := range a.Hostnames {
				routed[h] = true
			}
		}
	}
	for _, ing := range manifests.Of[*networkingv1.Ingress](objs) {
		for _, r := range ing.Spec.Rules {
			routed[r.Host] = true
		}
	}
	for _, h := range []string{fooHost, barHost, greeterHost} {
		if !routed[h] {
			t.Errorf("%s is no host that the default manifests route; they route %v", h, slices.Sorted(maps.Keys(routed)))
		}
	}
}
