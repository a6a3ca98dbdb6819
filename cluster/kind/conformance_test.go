package kind

import (
	"strings"
	"testing"

	"github.com/grpclab/grpclab/cluster/kind/addon"
)

// TestConformanceTarget: the suite runs only where this machine reaches the addresses the
// controller's Gateways publish; elsewhere the error says why.
func TestConformanceTarget(t *testing.T) {
	up := &Applier{}
	for _, tc := range []struct {
		name    string
		p       Platform
		wantErr string
	}{
		{"not up", Platform{controller: addon.Traefik, direct: DirectRouted}, "not up"},
		{"no Gateway API", Platform{controller: addon.IngressNGINX, applier: up}, "serves no Gateway API"},
		{"address unknown", Platform{controller: addon.EnvoyGateway, applier: up, direct: DirectRouted}, "does not know how this machine reaches"},
		{"pods not routed", Platform{controller: addon.Traefik, applier: up, direct: DirectPortForward}, "routes no pod IPs"},
		{"traefik on the routed pod network", Platform{controller: addon.Traefik, applier: up, direct: DirectRouted}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.p.Conformance()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.GatewayClass != "traefik" || got.Version != addon.Traefik.Version || got.Project != "traefik" || got.URL == "" || len(got.Contact) == 0 {
				t.Errorf("target %+v: want Traefik's class, pinned version and report identity", got)
			}
		})
	}
}
