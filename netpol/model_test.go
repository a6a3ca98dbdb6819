package netpol

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/grpclab/grpclab/manifests"
)

// fixture: two namespaces, alpha (team=a) and beta (team=b), and two external hosts.
// c in beta carries the same pod label as a in alpha, so namespace scoping is visible.
// The header of testdata/verdicts.yaml, whose checks name these workloads, lists them too.
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

// readCases decodes testdata/file, a YAML list of cases, and returns its path and the cases.
// A key the case type does not have, a case without a name or a name used twice fails the
// test, naming the file and the case, so a misspelt key or a copied case cannot be dropped
// without notice.
func readCases[C interface{ caseName() string }](t *testing.T, file string) (string, []C) {
	t.Helper()
	path := filepath.Join("testdata", file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := yaml.UnmarshalStrict(data, &items); err != nil { // strict: a key set twice is an error
		t.Fatalf("%s: %v", path, err)
	}
	if len(items) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	cases := make([]C, len(items))
	seen := map[string]bool{}
	for i, item := range items {
		// Decoded one by one, so that an error can name the case (the decoder goes on
		// past an unknown key, so the name is there).
		err := yaml.UnmarshalStrict(item, &cases[i])
		name := cases[i].caseName()
		switch {
		case err != nil:
			t.Fatalf("%s: case %d %q: %v", path, i, name, err)
		case name == "" || seen[name]:
			t.Fatalf("%s: case %d %q: the name must be set and unique", path, i, name)
		}
		seen[name] = true
	}
	return path, cases
}

// verdictCase is one case of testdata/verdicts.yaml.
type verdictCase struct {
	Name     string   `json:"name"`
	Policies string   `json:"policies"`
	Checks   []string `json:"checks"`
}

func (c verdictCase) caseName() string { return c.Name }

// check is one connection and the expected verdict halves, from a line of a case's checks.
type check struct {
	line     string
	src, dst string
	port     int32
	proto    corev1.Protocol // empty: Verdict's default, TCP
	want     Verdict
}

var checkSyntax = regexp.MustCompile(`^(\S+) -> ([^\s:]+):(\d+)(?:/(TCP|UDP|SCTP))? egress=(allow|deny) ingress=(allow|deny)$`)

// parseCheck reads "SRC -> DST:PORT[/PROTOCOL] egress=allow|deny ingress=allow|deny".
func parseCheck(line string) (check, error) {
	m := checkSyntax.FindStringSubmatch(strings.Join(strings.Fields(line), " "))
	if m == nil {
		return check{}, fmt.Errorf("%q: want SRC -> DST:PORT[/PROTOCOL] egress=allow|deny ingress=allow|deny", line)
	}
	port, err := strconv.ParseInt(m[3], 10, 32)
	if err != nil {
		return check{}, fmt.Errorf("%q: port: %w", line, err)
	}
	return check{
		line: line, src: m[1], dst: m[2], port: int32(port), proto: corev1.Protocol(m[4]),
		want: Verdict{Egress: m[5] == "allow", Ingress: m[6] == "allow"},
	}, nil
}

func allowDeny(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// TestVerdictSpecRules runs the cases of testdata/verdicts.yaml on fixture().
func TestVerdictSpecRules(t *testing.T) {
	path, cases := readCases[verdictCase](t, "verdicts.yaml")
	for _, vc := range cases {
		if len(vc.Checks) == 0 {
			t.Fatalf("%s: case %q: no checks", path, vc.Name)
		}
		checks := make([]check, len(vc.Checks))
		for i, line := range vc.Checks {
			c, err := parseCheck(line)
			if err != nil {
				t.Fatalf("%s: case %q: checks[%d]: %v", path, vc.Name, i, err)
			}
			checks[i] = c
		}
		t.Run(vc.Name, func(t *testing.T) {
			nps, err := parsePolicies(fmt.Sprintf("%s: case %q", path, vc.Name), []byte(vc.Policies))
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewModel(nps, fixture())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range checks {
				got, err := m.Verdict(c.src, c.dst, c.port, c.proto)
				if err != nil {
					t.Fatalf("%s: %s: %v", path, c.line, err)
				}
				if got != c.want {
					t.Errorf("%s: %s: got egress=%s ingress=%s", path, c.line, allowDeny(got.Egress), allowDeny(got.Ingress))
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

// invalidCase is one case of testdata/invalid.yaml.
type invalidCase struct {
	Name  string `json:"name"`
	Input string `json:"input"`
	Error string `json:"error"`
}

func (c invalidCase) caseName() string { return c.Name }

// TestInvalidInputNamesFileObjectField runs the cases of testdata/invalid.yaml: each input,
// parsed as the file bad.yaml, must be rejected with an error naming file, object and field.
func TestInvalidInputNamesFileObjectField(t *testing.T) {
	path, cases := readCases[invalidCase](t, "invalid.yaml")
	for _, tt := range cases {
		if tt.Error == "" {
			t.Fatalf("%s: case %q: error must be set", path, tt.Name)
		}
		t.Run(tt.Name, func(t *testing.T) {
			_, err := parsePolicies("bad.yaml", []byte(tt.Input))
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.Error)
			}
			if !strings.Contains(err.Error(), tt.Error) {
				t.Fatalf("error %q does not contain %q", err, tt.Error)
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
