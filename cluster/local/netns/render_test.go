package netns

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/internal/expect"
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/netpol"
)

func labIfaces(ws []netpol.Workload) map[string]string {
	m := map[string]string{}
	for i, w := range ws {
		m[w.Name] = "glv" + string(rune('a'+i))
	}
	return m
}

// lab returns the isolation workloads of the default manifests and the NetworkPolicies of one
// variant ("" for none), as the isolation suite loads them.
func lab(t *testing.T, variant string) ([]netpol.Workload, []*networkingv1.NetworkPolicy) {
	t.Helper()
	objs, err := manifests.Load(manifests.DefaultVariants())
	if err != nil {
		t.Fatal(err)
	}
	ws, err := netpol.Workloads(objs)
	if err != nil {
		t.Fatal(err)
	}
	if variant == "" {
		return ws, nil
	}
	objs, err = manifests.Load(manifests.DefaultVariants(variant))
	if err != nil {
		t.Fatal(err)
	}
	return ws, manifests.Of[*networkingv1.NetworkPolicy](objs)
}

// ifaceLines puts each workload's interface where a line names it in braces: "{db-0}".
func ifaceLines(lines []string, ifaces map[string]string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		for w, iface := range ifaces {
			l = strings.ReplaceAll(l, "{"+w+"}", strconv.Quote(iface))
		}
		out[i] = l
	}
	return out
}

func TestRender(t *testing.T) {
	ws, _ := lab(t, "")
	ifaces := labIfaces(ws)
	tests := []struct {
		variant string
		want    []string // lines the ruleset must hold
		not     []string // text it must not hold
	}{
		{
			variant: "networkpolicy/article",
			want: []string{
				"ct state established,related accept",
				`iifname {db-0} jump from-db-0`,
				`oifname {db-0} jump to-db-0`,
				`ip saddr 172.17.0.0/16 ip saddr != { 172.17.1.0/24 } meta l4proto tcp th dport 6379 accept comment "default/test-network-policy"`,
				`ip saddr { 192.168.50.20 } meta l4proto tcp th dport 6379 accept`,
				`ip saddr { 172.17.0.20 } meta l4proto tcp th dport 6379 accept`,
				`ip daddr 10.0.0.0/24 meta l4proto tcp th dport 5978 return`,
			},
			not: []string{"jump to-frontend-0", "jump from-frontend-0"},
		},
		{
			variant: "networkpolicy/default-deny",
			want:    []string{`oifname {db-0} jump to-db-0`, `oifname {client-0} jump to-client-0`, "chain to-foo-0 {\n\t\tdrop\n\t}"},
			not:     []string{"jump from-", "jump to-other-client-0", "jump to-myproject-client-0", "jump to-ext-5978"},
		},
		{
			variant: "networkpolicy/gateway-only",
			want:    []string{`ip saddr { 192.168.50.30 } meta l4proto tcp th dport 50051 accept`, `oifname {bar-stable-0} jump to-bar-stable-0`},
			not:     []string{"jump to-db-0", "jump to-frontend-0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			_, nps := lab(t, tt.variant)
			got, err := Render("glab-test", ws, ifaces, nps)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range ifaceLines(tt.want, ifaces) {
				if !strings.Contains(got, w) {
					t.Errorf("ruleset lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("ruleset holds %q:\n%s", n, got)
				}
			}
		})
	}
}

func TestRenderRejects(t *testing.T) {
	ws, article := lab(t, "networkpolicy/article")
	v6 := append([]netpol.Workload(nil), ws...)
	v6[0].IP = netip.MustParseAddr("fd00::1")
	bad := article[0].DeepCopy()
	bad.Spec.Ingress[0].From[0].IPBlock.CIDR = "172.1s.0.0/16"
	tests := []struct {
		name   string
		ws     []netpol.Workload
		ifaces map[string]string
		nps    []*networkingv1.NetworkPolicy
		want   string
	}{
		{"ipv6 workload", v6, labIfaces(v6), nil, `workload "` + ws[0].Name + `": ip fd00::1: the local data plane is IPv4 only`},
		{"missing interface", ws, map[string]string{}, nil, `workload "` + ws[0].Name + `": no interface`},
		{"invalid policy", ws, labIfaces(ws), []*networkingv1.NetworkPolicy{bad}, `networkpolicy default/test-network-policy: spec.ingress[0].from[0].ipBlock: cidr: invalid CIDR "172.1s.0.0/16"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render("glab-test", tt.ws, tt.ifaces, tt.nps)
			expect.Error(t, err, tt.want)
		})
	}
}

func TestPrefixMatching(t *testing.T) {
	tests := []struct {
		name, prefix string
		want         bool
	}{
		{"glab-abc123-node", "glab-abc123", true},
		{"glab-abc123-w3", "glab-abc123-", true},
		{"glab-abc1234-node", "glab-abc123", false},
		{"glab-zzz-node", BasePrefix, true},
		{"other-node", BasePrefix, false},
	}
	for _, tt := range tests {
		if got := matchesPrefix(tt.name, tt.prefix); got != tt.want {
			t.Errorf("matchesPrefix(%q, %q) = %v, want %v", tt.name, tt.prefix, got, tt.want)
		}
	}
	for _, bad := range []string{"", "glab-", "host-abc", "glab-ABC", "glab-a b"} {
		if err := checkPrefix(bad); err == nil {
			t.Errorf("checkPrefix(%q) accepted", bad)
		}
	}
}
