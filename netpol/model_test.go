package netpol

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/manifests"
)

// fixture: two namespaces, alpha (team=a) and beta (team=b), and two external hosts.
// c in beta carries the same pod label as a in alpha, so namespace scoping is visible.
func fixture() []Workload {
	ip := netip.MustParseAddr
	tcp := func(name string, p int32) Port { return Port{Name: name, Port: p, Protocol: corev1.ProtocolTCP} }
	alpha := map[string]string{"team": "a"}
	beta := map[string]string{"team": "b"}
	return []Workload{
		{Name: "a", Namespace: "alpha", NamespaceLabels: alpha, Labels: map[string]string{"app": "a"}, IP: ip("10.1.0.1"), Ports: []Port{tcp("http", 80)}},
		{Name: "b", Namespace: "alpha", NamespaceLabels: alpha, Labels: map[string]string{"app": "b"}, IP: ip("10.1.0.2"),
			Ports: []Port{tcp("http", 80), tcp("grpc", 50051), tcp("metrics", 9000), {Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}},
		{Name: "e", Namespace: "alpha", NamespaceLabels: alpha, Labels: map[string]string{"app": "e"}, IP: ip("10.1.0.3"), Ports: []Port{tcp("http", 80)}},
		{Name: "c", Namespace: "beta", NamespaceLabels: beta, Labels: map[string]string{"app": "a"}, IP: ip("10.2.0.1"), Ports: []Port{tcp("http", 80)}},
		{Name: "d", Namespace: "beta", NamespaceLabels: beta, Labels: map[string]string{"app": "d"}, IP: ip("10.2.0.2"), Ports: []Port{tcp("web", 80)}},
		{Name: "x", External: true, IP: ip("192.0.2.10"), Ports: []Port{tcp("", 443)}},
		{Name: "y", External: true, IP: ip("192.0.2.200"), Ports: []Port{tcp("", 443)}},
	}
}

// check is one connection and the expected verdict halves.
type check struct {
	src, dst        string
	port            int32
	proto           corev1.Protocol
	egress, ingress bool
}

func TestVerdictSpecRules(t *testing.T) {
	const head = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
	tests := []struct {
		name   string
		yaml   string
		checks []check
	}{
		{
			name: "no policy selects a pod: everything allowed",
			checks: []check{
				{src: "a", dst: "b", port: 80, egress: true, ingress: true},
				{src: "x", dst: "d", port: 80, egress: true, ingress: true},
			},
		},
		{
			name: "default deny: empty podSelector isolates every pod of its namespace only",
			yaml: head + "  name: deny\n  namespace: alpha\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n",
			checks: []check{
				{src: "c", dst: "b", port: 80, egress: true, ingress: false},
				{src: "e", dst: "a", port: 80, egress: true, ingress: false},
				{src: "a", dst: "d", port: 80, egress: true, ingress: true},
			},
		},
		{
			name: "empty ingress rule allows every source and port",
			yaml: head + "  name: all\n  namespace: alpha\nspec:\n  podSelector: {}\n  ingress:\n  - {}\n",
			checks: []check{
				{src: "x", dst: "b", port: 50051, egress: true, ingress: true},
			},
		},
		{
			name: "policyTypes empty with only ingress rules: ingress only",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: a}}}]\n",
			checks: []check{
				{src: "a", dst: "b", port: 80, egress: true, ingress: true},
				{src: "e", dst: "b", port: 80, egress: true, ingress: false},
				{src: "b", dst: "x", port: 443, egress: true, ingress: true},
			},
		},
		{
			name: "policyTypes empty with egress rules: egress too, and ingress isolated with no rules",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  egress:\n  - to: [{ipBlock: {cidr: 192.0.2.10/32}}]\n",
			checks: []check{
				{src: "b", dst: "x", port: 443, egress: true, ingress: true},
				{src: "b", dst: "a", port: 80, egress: false, ingress: true},
				{src: "a", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "policyTypes Ingress ignores egress rules",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  policyTypes: [Ingress]\n  ingress:\n  - {}\n  egress:\n  - to: [{ipBlock: {cidr: 192.0.2.10/32}}]\n",
			checks: []check{
				{src: "b", dst: "a", port: 80, egress: true, ingress: true},
			},
		},
		{
			name: "policyTypes Egress leaves ingress open",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{namespaceSelector: {matchLabels: {team: b}}}]\n",
			checks: []check{
				{src: "b", dst: "c", port: 80, egress: true, ingress: true},
				{src: "b", dst: "a", port: 80, egress: false, ingress: true},
				{src: "a", dst: "b", port: 80, egress: true, ingress: true},
			},
		},
		{
			name: "podSelector peer alone: the policy's namespace only",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: a}}}]\n",
			checks: []check{
				{src: "a", dst: "b", port: 80, egress: true, ingress: true},
				{src: "c", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "namespaceSelector peer alone: every pod of the selected namespaces",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: b}}}]\n",
			checks: []check{
				{src: "c", dst: "b", port: 80, egress: true, ingress: true},
				{src: "d", dst: "b", port: 80, egress: true, ingress: true},
				{src: "a", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "namespaceSelector metadata.name label is implied",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: beta}}}]\n",
			checks: []check{
				{src: "c", dst: "b", port: 80, egress: true, ingress: true},
				{src: "e", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "namespaceSelector AND podSelector in one peer",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: b}}, podSelector: {matchLabels: {app: a}}}]\n",
			checks: []check{
				{src: "c", dst: "b", port: 80, egress: true, ingress: true},
				{src: "d", dst: "b", port: 80, egress: true, ingress: false},
				{src: "a", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "namespaceSelector OR podSelector as two peers",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: b}}}, {podSelector: {matchLabels: {app: a}}}]\n",
			checks: []check{
				{src: "c", dst: "b", port: 80, egress: true, ingress: true},
				{src: "d", dst: "b", port: 80, egress: true, ingress: true},
				{src: "a", dst: "b", port: 80, egress: true, ingress: true},
				{src: "e", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "empty namespaceSelector: every namespace, but no external host",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{namespaceSelector: {}}]\n",
			checks: []check{
				{src: "d", dst: "b", port: 80, egress: true, ingress: true},
				{src: "e", dst: "b", port: 80, egress: true, ingress: true},
				{src: "x", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "ipBlock with except",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}}]\n",
			checks: []check{
				{src: "x", dst: "b", port: 80, egress: true, ingress: true},
				{src: "y", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "ipBlock matches pod IPs too (Calico behaviour)",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.2.0.0/16}}]\n",
			checks: []check{
				{src: "c", dst: "b", port: 80, egress: true, ingress: true},
				{src: "a", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "egress to an ipBlock on a port",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{ipBlock: {cidr: 192.0.2.0/24}}]\n    ports: [{protocol: TCP, port: 443}]\n",
			checks: []check{
				{src: "b", dst: "x", port: 443, egress: true, ingress: true},
				{src: "b", dst: "a", port: 80, egress: false, ingress: true},
			},
		},
		{
			name: "numeric port, protocol defaults to TCP",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: 80}]\n",
			checks: []check{
				{src: "a", dst: "b", port: 80, egress: true, ingress: true},
				{src: "x", dst: "b", port: 80, egress: true, ingress: true},
				{src: "a", dst: "b", port: 50051, egress: true, ingress: false},
				{src: "a", dst: "b", port: 53, proto: corev1.ProtocolUDP, egress: true, ingress: false},
			},
		},
		{
			name: "protocol must match",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{protocol: UDP, port: 53}, {protocol: UDP, port: 80}]\n",
			checks: []check{
				{src: "a", dst: "b", port: 53, proto: corev1.ProtocolUDP, egress: true, ingress: true},
				{src: "a", dst: "b", port: 80, proto: corev1.ProtocolTCP, egress: true, ingress: false},
			},
		},
		{
			name: "port entry without port: every port of its protocol",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{protocol: UDP}]\n",
			checks: []check{
				{src: "a", dst: "b", port: 53, proto: corev1.ProtocolUDP, egress: true, ingress: true},
				{src: "a", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "named port on ingress resolves on the selected pod",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: grpc}]\n",
			checks: []check{
				{src: "a", dst: "b", port: 50051, egress: true, ingress: true},
				{src: "a", dst: "b", port: 80, egress: true, ingress: false},
			},
		},
		{
			name: "named port on egress resolves on the destination pod",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: http}]\n",
			checks: []check{
				{src: "b", dst: "c", port: 80, egress: true, ingress: true},
				{src: "b", dst: "d", port: 80, egress: false, ingress: true}, // d names port 80 "web"
				{src: "b", dst: "x", port: 443, egress: false, ingress: true},
			},
		},
		{
			name: "endPort: an inclusive range",
			yaml: head + "  name: p\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - ports: [{port: 8000, endPort: 9000}]\n",
			checks: []check{
				{src: "a", dst: "b", port: 9000, egress: true, ingress: true},
				{src: "a", dst: "b", port: 80, egress: true, ingress: false},
				{src: "a", dst: "b", port: 50051, egress: true, ingress: false},
			},
		},
		{
			name: "two policies selecting one pod are ORed",
			yaml: head + "  name: p1\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: a}}}]\n---\n" +
				head + "  name: p2\n  namespace: alpha\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: b}}}]\n",
			checks: []check{
				{src: "a", dst: "b", port: 80, egress: true, ingress: true},
				{src: "c", dst: "b", port: 80, egress: true, ingress: true},
				{src: "e", dst: "b", port: 80, egress: true, ingress: false},
				{src: "a", dst: "e", port: 80, egress: true, ingress: false}, // only p2 selects e
			},
		},
		{
			name: "connection needs the source's egress and the destination's ingress",
			yaml: head + "  name: out\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: b}}}]\n---\n" +
				head + "  name: in\n  namespace: alpha\nspec:\n  podSelector: {matchLabels: {app: b}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: b}}}]\n",
			checks: []check{
				{src: "a", dst: "b", port: 80, egress: true, ingress: false},
				{src: "c", dst: "b", port: 80, egress: true, ingress: true},
				{src: "a", dst: "e", port: 80, egress: false, ingress: true},
			},
		},
		{
			name: "a policy in another namespace selects nothing here; external hosts are never isolated",
			yaml: head + "  name: deny\n  namespace: beta\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
			checks: []check{
				{src: "a", dst: "b", port: 80, egress: true, ingress: true},
				{src: "a", dst: "c", port: 80, egress: true, ingress: false},
				{src: "d", dst: "x", port: 443, egress: false, ingress: true},
				{src: "x", dst: "a", port: 80, egress: true, ingress: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nps, err := parsePolicies("case.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewModel(nps, fixture())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.checks {
				got, err := m.Verdict(c.src, c.dst, c.port, c.proto)
				if err != nil {
					t.Fatal(err)
				}
				want := Verdict{Egress: c.egress, Ingress: c.ingress}
				if got != want {
					t.Errorf("%s -> %s:%d/%s: got %+v, want %+v", c.src, c.dst, c.port, c.proto, got, want)
				}
			}
		})
	}
}

// lab is the isolation workloads of the default manifests and the policies of one variant.
func lab(t testing.TB, variant string) ([]*networkingv1.NetworkPolicy, []Workload) {
	t.Helper()
	objs, err := manifests.Load(manifests.DefaultVariants(variant))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := Workloads(objs)
	if err != nil {
		t.Fatal(err)
	}
	return manifests.Of[*networkingv1.NetworkPolicy](objs), ws
}

func TestArticlePolicyOnLab(t *testing.T) {
	nps, ws := lab(t, "networkpolicy/article")
	m, err := NewModel(nps, ws)
	if err != nil {
		t.Fatal(err)
	}
	// Only the deviations from "allowed" plus the admitted sources, as cilium's tests do.
	want := map[[2]string]bool{
		{"frontend-0", "db-0:6379"}:         true,  // podSelector role=frontend
		{"myproject-client-0", "db-0:6379"}: true,  // namespaceSelector project=myproject
		{"other-client-0", "db-0:6379"}:     true,  // ipBlock alone, from another namespace
		{"greeter-0", "db-0:6379"}:          true,  // ipBlock (a pod IP in 172.17.0.0/16)
		{"client-0", "db-0:6379"}:           false, // except 172.17.1.0/24
		{"bar-stable-0", "db-0:6379"}:       false, // no peer matches
		{"edge-0", "db-0:6379"}:             false,
		{"ext-5978", "db-0:6379"}:           false,
		{"db-0", "ext-5978:5978"}:           true,
		{"db-0", "ext-5979:5979"}:           false, // right range, wrong port
		{"db-0", "ext-other:5978"}:          false, // right port, outside 10.0.0.0/24
		{"db-0", "frontend-0:50051"}:        false, // egress isolated
		{"frontend-0", "foo-0:50051"}:       true,  // not selected
	}
	tab := m.Table()
	seen := 0
	for _, s := range tab.Sources {
		for _, d := range tab.Targets {
			w, ok := want[[2]string{s, d.String()}]
			if !ok {
				continue
			}
			seen++
			if got := tab.Get(s, d) == Allow; got != w {
				t.Errorf("%s -> %s: allowed=%v, want %v", s, d, got, w)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("table covered %d of %d expected cells", seen, len(want))
	}
}

func TestInvalidInputNamesFileObjectField(t *testing.T) {
	const head = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bad\n  namespace: ns\nspec:\n  podSelector: {}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"article erratum CIDR", head + "  ingress:\n  - from: [{ipBlock: {cidr: 172.1s.0.0/16}}]\n", `bad.yaml: networkpolicy ns/bad: spec.ingress[0].from[0].ipBlock: cidr: invalid CIDR "172.1s.0.0/16"`},
		{"except outside cidr", head + "  ingress:\n  - from: [{ipBlock: {cidr: 172.17.0.0/16, except: [10.0.0.0/8]}}]\n", "spec.ingress[0].from[0].ipBlock: except[0]: 10.0.0.0/8 is not inside cidr 172.17.0.0/16"},
		{"ipBlock with selector", head + "  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]\n", "spec.egress[0].to[0]: ipBlock may not be combined"},
		{"empty peer", head + "  ingress:\n  - from: [{}]\n", "spec.ingress[0].from[0]: one of ipBlock"},
		{"endPort below port", head + "  ingress:\n  - ports: [{port: 90, endPort: 80}]\n", "spec.ingress[0].ports[0].endPort: 80 must be between port 90"},
		{"endPort with named port", head + "  ingress:\n  - ports: [{port: http, endPort: 80}]\n", `spec.ingress[0].ports[0].endPort: may not be used with the named port "http"`},
		{"bad protocol", head + "  ingress:\n  - ports: [{protocol: ICMP, port: 80}]\n", `spec.ingress[0].ports[0].protocol: unknown protocol "ICMP"`},
		{"bad policyType", head + "  policyTypes: [Inbound]\n", `spec.policyTypes[0]: unknown type "Inbound"`},
		{"bad selector operator", head + "  ingress:\n  - from: [{podSelector: {matchExpressions: [{key: a, operator: Near}]}}]\n", "spec.ingress[0].from[0].podSelector:"},
		{"wrong kind", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n", `bad.yaml: document 0: kind "Service"`},
		{"unknown field type", head + "  ingress: 3\n", "bad.yaml: document 0:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePolicies("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestInvalidWorkloads(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ws []Workload) []Workload
		want   string
	}{
		{"duplicate IP", func(ws []Workload) []Workload { ws[1].IP = ws[0].IP; return ws }, `workload[1] "b": ip: 10.1.0.1 already used by "a"`},
		{"pod without namespace", func(ws []Workload) []Workload { ws[0].Namespace = ""; return ws }, `workload[0] "a": namespace: must be set`},
		{"duplicate name", func(ws []Workload) []Workload { ws[2].Name = "a"; return ws }, `workload[2] "a": name: duplicate`},
		{"port out of range", func(ws []Workload) []Workload { ws[0].Ports[0].Port = 70000; return ws }, `workload[0] "a": ports[0].port: 70000 out of range`},
		{"no IP", func(ws []Workload) []Workload { ws[3].IP = netip.Addr{}; return ws }, `workload[3] "c": ip: not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewModel(nil, tt.mutate(fixture()))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestVerdictUnknownWorkload(t *testing.T) {
	m, err := NewModel(nil, fixture())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verdict("nobody", "a", 80, ""); err == nil || !strings.Contains(err.Error(), `unknown source workload "nobody"`) {
		t.Fatalf("got %v", err)
	}
	if _, err := m.Verdict("a", "nobody", 80, ""); err == nil || !strings.Contains(err.Error(), `unknown destination workload "nobody"`) {
		t.Fatalf("got %v", err)
	}
}

// BenchmarkLabTable measures the expected table for the article's policy on the lab
// (12 sources × 12 targets).
func BenchmarkLabTable(b *testing.B) {
	nps, ws := lab(b, "networkpolicy/article")
	m, err := NewModel(nps, ws)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m.Table()
	}
}
