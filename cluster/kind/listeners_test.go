package kind

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/kind/addon"
)

// TestListenerAddressUnreachable: where this machine cannot reach what the controller's
// Gateways publish, the error wraps cluster.ErrUnreachable (suites skip on it); a platform
// that is not up is a plain error.
func TestListenerAddressUnreachable(t *testing.T) {
	up := &Applier{}
	for _, tc := range []struct {
		name        string
		p           Platform
		unreachable bool
		wantErr     string
	}{
		{"not up", Platform{controller: addon.Traefik, direct: DirectRouted}, false, "not up"},
		{"address unknown", Platform{controller: addon.EnvoyGateway, applier: up, direct: DirectRouted}, true, "does not know how this machine reaches"},
		{"no Gateway API", Platform{controller: addon.IngressNGINX, applier: up, direct: DirectRouted}, true, "does not know how this machine reaches"},
		{"pods not routed", Platform{controller: addon.Traefik, applier: up, direct: DirectPortForward}, true, "routes no pod IPs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.p.ListenerAddress(context.Background(), "default", "gw", "https")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if got := errors.Is(err, cluster.ErrUnreachable); got != tc.unreachable {
				t.Errorf("errors.Is(err, ErrUnreachable) = %v, want %v (%v)", got, tc.unreachable, err)
			}
		})
	}
}
