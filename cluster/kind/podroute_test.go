package kind

import (
	"context"
	"net"
	"strings"
	"testing"
)

// fakeRoutes answers `ip -4 route show match IP` and `root CIDR` from a routing table.
func fakeRoutes(t *testing.T, table ...string) {
	t.Helper()
	old := ipRouteShow
	t.Cleanup(func() { ipRouteShow = old })
	ipRouteShow = func(_ context.Context, args ...string) (string, error) {
		var out []string
		for _, r := range table {
			dst, _, _ := strings.Cut(r, " ")
			switch args[0] {
			case "match": // routes whose destination contains the address
				if dst == "default" {
					out = append(out, r)
					continue
				}
				_, n, err := net.ParseCIDR(dst)
				if err == nil && n.Contains(net.ParseIP(args[1])) {
					out = append(out, r)
				}
			case "root": // routes inside the prefix
				_, root, _ := net.ParseCIDR(args[1])
				if ip, _, err := net.ParseCIDR(dst); err == nil && root.Contains(ip) {
					out = append(out, r)
				}
			}
		}
		return strings.Join(out, "\n"), nil
	}
}

// The host route to a node's pods is added only where it takes no address away from the
// host: a laptop's LAN on the same range must keep its route.
func TestConflictingRoute(t *testing.T) {
	const def = "default via 10.0.2.2 dev eth0"
	tests := []struct {
		name  string
		table []string
		want  string // "" when the pod CIDR may be routed
	}{
		{"only the default route", []string{def}, ""},
		{"a stale route of ours", []string{def, "192.168.0.0/24 via 10.250.1.2 dev br-1 proto 213"}, ""},
		{"a LAN on the same /24", []string{def, "192.168.0.0/24 dev wlan0 proto kernel scope link src 192.168.0.17"}, "192.168.0.0/24 dev wlan0"},
		{"a LAN /16 that covers it", []string{def, "192.168.0.0/16 dev eth1 scope link"}, "192.168.0.0/16 dev eth1"},
		{"a host route inside it", []string{def, "192.168.0.40/32 via 10.0.0.1 dev vpn0"}, "192.168.0.40/32 via 10.0.0.1"},
		{"an unrelated network", []string{def, "10.250.1.0/24 dev br-1 proto kernel scope link"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeRoutes(t, tt.table...)
			got := conflictingRoute(context.Background(), "192.168.0.0/24")
			if tt.want == "" && got != "" || tt.want != "" && !strings.HasPrefix(got, tt.want) {
				t.Errorf("conflictingRoute = %q, want %q", got, tt.want)
			}
		})
	}
}
