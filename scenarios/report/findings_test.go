package report

import (
	"reflect"
	"strings"
	"testing"

	"github.com/grpclab/grpclab/internal/expect"
)

func TestParseFindings(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       Findings
		err        string // a substring of the error; "" for none
	}{
		{name: "good", yaml: `
# a comment
traefik:
  - case: stream/default-timeout/a stream quiet for 11s is cut   # trailing comment
    reason: "Traefik's default idle timeout is 180s (its docs: respondingTimeouts.idleTimeout)"
  - case: tls/unknown host
    reason: serves its default certificate
envoy-gateway: []
`, want: Findings{
			"traefik": {
				"stream/default-timeout/a stream quiet for 11s is cut": "Traefik's default idle timeout is 180s (its docs: respondingTimeouts.idleTimeout)",
				"tls/unknown host": "serves its default certificate",
			},
			"envoy-gateway": {},
		}},
		{name: "only comments", yaml: "# nothing yet\n", want: Findings{}},
		{name: "empty list", yaml: "traefik: []\n", want: Findings{"traefik": {}}},
		{name: "missing reason", yaml: "traefik:\n  - case: tls/sni\n", err: "findings.yaml: traefik entry 1 (tls/sni): no reason"},
		{name: "blank reason", yaml: "traefik:\n  - case: tls/sni\n    reason: \"  \"\n", err: "traefik entry 1 (tls/sni): no reason"},
		{name: "missing case", yaml: "traefik:\n  - reason: because\n", err: "findings.yaml: traefik entry 1: no case"},
		{name: "case without scenario", yaml: "traefik:\n  - case: sni\n    reason: because\n", err: `traefik entry 1: case "sni" is not`},
		{name: "duplicate", yaml: "traefik:\n  - case: tls/sni\n    reason: one\n  - case: tls/sni\n    reason: two\n", err: "findings.yaml: traefik entry 2 (tls/sni): listed twice"},
		{name: "unknown field", yaml: "traefik:\n  - case: tls/sni\n    reason: one\n    reasn: typo\n", err: `findings.yaml: traefik entry 1: `},
		{name: "duplicate controller", yaml: "traefik: []\ntraefik: []\n", err: "findings.yaml: "},
		{name: "not a list", yaml: "traefik:\n  case: tls/sni\n", err: "findings.yaml: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFindings("findings.yaml", []byte(tc.yaml))
			if expect.Error(t, err, tc.err) {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseFindingsUnknownFieldNamesIt(t *testing.T) {
	_, err := ParseFindings("findings.yaml", []byte("traefik:\n  - case: tls/sni\n    reason: one\n  - case: tls/plain\n    reason: two\n    reasn: typo\n"))
	if err == nil || !strings.Contains(err.Error(), "traefik entry 2") || !strings.Contains(err.Error(), "reasn") {
		t.Fatalf("err = %v, want it to name entry 2 and the field reasn", err)
	}
}

func TestVerdict(t *testing.T) {
	c := func(scenario, name string, r Result) Case { return Case{Scenario: scenario, Name: name, Result: r} }
	findings := map[string]string{
		"stream/default-timeout/cut": "Traefik has no 10s idle timeout",
		"tls/unknown host":           "default certificate",
		"canary/weighted/share":      "rounding",
	}
	keys := func(cs []Case) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Key())
		}
		return out
	}
	for _, tc := range []struct {
		name           string
		cases          []Case
		findings       map[string]string
		wantUnexpected []string
		wantResolved   []string
	}{
		{
			name:     "every failure is a known finding",
			cases:    []Case{c("stream/default-timeout", "cut", Failed), c("tls", "unknown host", Failed), c("tls", "sni", Passed)},
			findings: findings,
		},
		{
			name:           "one failure is not a known finding",
			cases:          []Case{c("stream/default-timeout", "cut", Failed), c("tls", "sni", Failed), c("tls", "plaintext", Skipped)},
			findings:       findings,
			wantUnexpected: []string{"tls/sni"},
		},
		{
			name:         "a known finding passed",
			cases:        []Case{c("stream/default-timeout", "cut", Failed), c("tls", "unknown host", Passed), c("tls", "unknown host", Passed)},
			findings:     findings,
			wantResolved: []string{"tls/unknown host"},
		},
		{
			name:           "a known finding that passed once and failed once is not resolved",
			cases:          []Case{c("tls", "unknown host", Passed), c("tls", "unknown host", Failed)},
			findings:       findings,
			wantUnexpected: nil,
		},
		{
			name:           "skipped known finding is neither",
			cases:          []Case{c("canary/weighted", "share", Skipped)},
			findings:       findings,
			wantUnexpected: nil,
		},
		{
			name:           "no findings (local): every failure is unexpected",
			cases:          []Case{c("stream/default-timeout", "cut", Failed), c("tls", "sni", Passed)},
			wantUnexpected: []string{"stream/default-timeout/cut"},
		},
		{
			name:           "a failure outside the cases is never a finding",
			cases:          []Case{c("stream/annotated", OutsideCases, Failed)},
			findings:       map[string]string{"stream/annotated/" + OutsideCases: "listed by mistake"},
			wantUnexpected: []string{"stream/annotated/" + OutsideCases},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unexpected, resolved := Verdict(tc.cases, tc.findings)
			if got := keys(unexpected); !reflect.DeepEqual(got, tc.wantUnexpected) {
				t.Errorf("unexpected = %q, want %q", got, tc.wantUnexpected)
			}
			if !reflect.DeepEqual(resolved, tc.wantResolved) {
				t.Errorf("resolved = %q, want %q", resolved, tc.wantResolved)
			}
		})
	}
}

func TestExit(t *testing.T) {
	findings := map[string]string{"stream/default-timeout/cut": "Traefik has no 10s idle timeout"}
	known := Case{Scenario: "stream/default-timeout", Name: "cut", Result: Failed}
	other := Case{Scenario: "tls", Name: "sni", Result: Failed}
	passed := Case{Scenario: "tls", Name: "plaintext", Result: Passed}
	for _, tc := range []struct {
		name     string
		code     int
		cases    []Case
		findings map[string]string
		want     int
		why      string
	}{
		{"passed", 0, []Case{passed}, findings, 0, ""},
		{"setup failed: no case recorded", 1, nil, findings, 1, ""},
		{"only known findings failed", 1, []Case{known, passed}, findings, 0, "==> 1 failed cases are known findings of traefik"},
		{"an unknown failure too", 1, []Case{known, other}, findings, 1, "unexpected failures: tls/sni"},
		{"local: no findings", 1, []Case{known}, nil, 1, "unexpected failures: stream/default-timeout/cut"},
		{"failed, but no case did", 1, []Case{passed}, findings, 1, "no case did"},
		{"outside the cases", 1, []Case{known, {Scenario: "stream/annotated", Name: OutsideCases, Result: Failed}}, findings, 1, "unexpected failures: stream/annotated/(outside the cases)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := Exit(tc.code, tc.cases, tc.findings, "traefik")
			if got != tc.want || !strings.Contains("==> "+why, tc.why) || (tc.why == "") != (why == "") {
				t.Fatalf("Exit = %d, %q; want %d, %q", got, why, tc.want, tc.why)
			}
		})
	}
}
