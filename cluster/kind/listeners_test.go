package kind

import (
	"context"
	"errors"
	"testing"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/kind/addon"
	"github.com/grpclab/grpclab/internal/expect"
)

// TestReachability: the conformance suite runs, and a listener's address is known, only
// where this machine reaches the addresses that the controller's Gateways publish; elsewhere
// the error says why. ListenerAddress's error then wraps cluster.ErrUnreachable (suites skip
// on it); a platform that is not up is a plain error.
func TestReachability(t *testing.T) {
	up := &Applier{}
	const unknown = "does not know how this machine reaches"
	for _, tc := range []struct {
		name           string
		p              Platform
		conformanceErr string // "": Traefik's target
		listenerErr    string // "": not asked, it would read the Gateway through the API
		unreachable    bool
	}{
		{"not up", Platform{controller: addon.Traefik, direct: DirectRouted}, "not up", "not up", false},
		{"no Gateway API", Platform{controller: addon.IngressNGINX, applier: up, direct: DirectRouted}, "serves no Gateway API", unknown, true},
		{"address unknown", Platform{controller: addon.EnvoyGateway, applier: up, direct: DirectRouted}, unknown, unknown, true},
		{"pods not routed", Platform{controller: addon.Traefik, applier: up, direct: DirectPortForward}, "routes no pod IPs", "routes no pod IPs", true},
		{"traefik on the routed pod network", Platform{controller: addon.Traefik, applier: up, direct: DirectRouted}, "", "", false},
	} {
		t.Run(tc.name+"/conformance", func(t *testing.T) {
			got, err := tc.p.Conformance()
			if expect.Error(t, err, tc.conformanceErr) {
				return
			}
			if got.GatewayClass != "traefik" || got.Version != addon.Traefik.Version || got.Project != "traefik" || got.URL == "" || len(got.Contact) == 0 {
				t.Errorf("target %+v: want Traefik's class, pinned version and report identity", got)
			}
		})
		if tc.listenerErr == "" {
			continue
		}
		t.Run(tc.name+"/listener address", func(t *testing.T) {
			_, err := tc.p.ListenerAddress(context.Background(), "default", "gw", "https")
			expect.Error(t, err, tc.listenerErr)
			if got := errors.Is(err, cluster.ErrUnreachable); got != tc.unreachable {
				t.Errorf("errors.Is(err, ErrUnreachable) = %v, want %v (%v)", got, tc.unreachable, err)
			}
		})
	}
}
