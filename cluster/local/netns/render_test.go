package netns

import (
	"net/netip"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/netpol"
)

const policyDir = "../../../netpol/testdata/"

func labIfaces(ws []netpol.Workload) map[string]string {
	m := map[string]string{}
	for i, w := range ws {
		m[w.Name] = "glv" + string(rune('a'+i))
	}
	return m
}

func load(t *testing.T, file string) []*networkingv1.NetworkPolicy {
	t.Helper()
	nps, err := netpol.LoadPolicies(policyDir + file)
	if err != nil {
		t.Fatal(err)
	}
	return nps
}

func TestRender(t *testing.T) {
	lab := netpol.Lab()
	tests := []struct {
		file string
		want []string // lines the ruleset must hold
		not  []string // text it must not hold
	}{
		{
			file: "article.yaml",
			want: []string{
				"ct state established,related accept",
				`iifname "glva" jump from-db-0`,
				`oifname "glva" jump to-db-0`,
				`ip saddr 172.17.0.0/16 ip saddr != { 172.17.1.0/24 } meta l4proto tcp th dport 6379 accept comment "default/test-network-policy"`,
				`ip saddr { 192.168.50.20 } meta l4proto tcp th dport 6379 accept`,
				`ip saddr { 172.17.0.20 } meta l4proto tcp th dport 6379 accept`,
				`ip daddr 10.0.0.0/24 meta l4proto tcp th dport 5978 return`,
			},
			not: []string{"jump to-frontend-0", "jump from-frontend-0"},
		},
		{
			file: "default-deny.yaml",
			want: []string{`oifname "glva" jump to-db-0`, `oifname "glvd" jump to-excepted-0`, "chain to-foo-0 {\n\t\tdrop\n\t}"},
			not:  []string{"jump from-", "jump to-ipblock-0", "jump to-ext-5978"},
		},
		{
			file: "gateway-only.yaml",
			want: []string{`ip saddr { 192.168.50.30 } meta l4proto tcp th dport 50051 accept`},
			not:  []string{"jump to-db-0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Render("glab-test", lab, labIfaces(lab), load(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
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
	lab := netpol.Lab()
	v6 := netpol.Lab()
	v6[0].IP = netip.MustParseAddr("fd00::1")
	bad := load(t, "article.yaml")[0].DeepCopy()
	bad.Spec.Ingress[0].From[0].IPBlock.CIDR = "172.1s.0.0/16"
	tests := []struct {
		name   string
		ws     []netpol.Workload
		ifaces map[string]string
		nps    []*networkingv1.NetworkPolicy
		want   string
	}{
		{"ipv6 workload", v6, labIfaces(v6), nil, `workload "db-0": ip fd00::1: the local data plane is IPv4 only`},
		{"missing interface", lab, map[string]string{}, nil, `workload "db-0": no interface`},
		{"invalid policy", lab, labIfaces(lab), []*networkingv1.NetworkPolicy{bad}, `networkpolicy default/test-network-policy: spec.ingress[0].from[0].ipBlock: cidr: invalid CIDR "172.1s.0.0/16"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render("glab-test", tt.ws, tt.ifaces, tt.nps)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
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
