package report

import (
	"strings"
	"testing"

	"github.com/grpclab/grpclab/internal/expect"
)

func knownTests(name string) bool {
	return name == "GRPCExactMethodMatching" || name == "GRPCRouteWeight"
}

func TestParseCoverageErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown field", "overlap: []\nextra: 1\n", `unknown field "extra"`},
		{"unknown test", "overlap:\n- {test: GRPCNope, grpclab: [a], behaviour: b}\n", `overlap entry 1 (GRPCNope): test: the conformance suite has no test "GRPCNope"`},
		{"twice", "overlap:\n- {test: GRPCRouteWeight, grpclab: [a], behaviour: b}\n- {test: GRPCRouteWeight, grpclab: [a], behaviour: b}\n", "overlap entry 2 (GRPCRouteWeight): listed twice"},
		{"no cases", "overlap:\n- {test: GRPCRouteWeight, behaviour: b}\n", "grpclab: no scenario or case"},
		{"no behaviour", "overlap:\n- {test: GRPCRouteWeight, grpclab: [a]}\n", "behaviour: empty"},
		{"only grpclab without behaviour", "onlyGrpclab:\n- {scenario: tls}\n", "onlyGrpclab entry 1 (tls): want scenario and behaviour"},
		{"disagreement on no overlap", "disagreements:\n- {test: GRPCRouteWeight, right: grpclab, why: x}\n", "not an overlap entry's test"},
		{"bad right", "overlap:\n- {test: GRPCRouteWeight, grpclab: [a], behaviour: b}\ndisagreements:\n- {test: GRPCRouteWeight, right: both, why: x}\n", `right: "both", want conformance or grpclab`},
		{"no why", "overlap:\n- {test: GRPCRouteWeight, grpclab: [a], behaviour: b}\ndisagreements:\n- {test: GRPCRouteWeight, right: grpclab}\n", "why: empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCoverage("c.yaml", []byte(tc.yaml), knownTests)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "c.yaml: ") {
				t.Fatalf("error %v, want one naming c.yaml and containing %q", err, tc.want)
			}
		})
	}
}

const coverageYAML = `
overlap:
  - {test: GRPCExactMethodMatching, grpclab: [routing/method], behaviour: exact method}
  - {test: GRPCRouteWeight, grpclab: ["canary/weighted/share"], behaviour: weights}
onlyGrpclab:
  - {scenario: tls, behaviour: certificates}
`

func coverageSection(t *testing.T, yaml string, cases []Case) (string, []string) {
	t.Helper()
	cov, err := ParseCoverage("c.yaml", []byte(yaml), knownTests)
	if err != nil {
		t.Fatal(err)
	}
	return cov.Section(cases, "conformance", func(name string) string { return "what " + name + " checks" })
}

func TestCoverageSectionAgreement(t *testing.T) {
	cases := []Case{
		{Scenario: "routing/method", Name: "Login reaches foo-svc", Result: Passed},
		{Scenario: "routing/method", Name: "GetProfile is Unimplemented", Result: Passed},
		{Scenario: "canary/weighted", Name: "share", Result: Failed},
		{Scenario: "canary/weighted", Name: "other", Result: Failed}, // not named: ignored
		{Scenario: "tls", Name: "unknown SNI fails the handshake", Result: Passed},
		{Scenario: "conformance", Name: "GRPCExactMethodMatching", Result: Passed},
		{Scenario: "conformance", Name: "GRPCRouteWeight", Result: Passed},
		{Scenario: "conformance", Name: "GatewayModifyListeners", Result: Failed},
	}
	got, unexplained := coverageSection(t, coverageYAML, cases)
	expect.Contains(t, "section", got,
		"| GRPCExactMethodMatching | ✅ passed | exact method | routing/method (2) | ✅ passed | yes |",
		"| GRPCRouteWeight | ✅ passed | weights | canary/weighted/share (1): failed share | ❌ failed | **no** |",
		"- **GRPCRouteWeight**: unexplained: upstream passed, grpclab failed",
		"| tls | certificates | 1 | ✅ passed |",
		"| GatewayModifyListeners | ❌ failed | what GatewayModifyListeners checks |",
	)
	if len(unexplained) != 1 || unexplained[0] != "GRPCRouteWeight" {
		t.Errorf("unexplained = %v, want [GRPCRouteWeight]", unexplained)
	}

	// With the disagreement explained, the section says which is right and nothing is left.
	explained := coverageYAML + "disagreements:\n  - {test: GRPCRouteWeight, right: conformance, why: the spec says so}\n"
	got, unexplained = coverageSection(t, explained, cases)
	if !strings.Contains(got, "- **GRPCRouteWeight**: conformance is right. the spec says so") || len(unexplained) != 0 {
		t.Errorf("explained disagreement: unexplained %v, section:\n%s", unexplained, got)
	}
}

func TestCoverageSectionNothingToCompare(t *testing.T) {
	// The upstream suite did not run (a plain make e2e): every overlap has one side only.
	got, unexplained := coverageSection(t, coverageYAML, []Case{
		{Scenario: "routing/method", Name: "Login reaches foo-svc", Result: Failed},
		{Scenario: "conformance", Name: "upstream GATEWAY-GRPC suite", Result: Skipped},
	})
	if len(unexplained) != 0 || !strings.Contains(got, "| GRPCExactMethodMatching | not run | exact method | routing/method (1): failed Login reaches foo-svc | ❌ failed | — |") ||
		!strings.Contains(got, "Nowhere in this run.") {
		t.Errorf("unexplained %v, section:\n%s", unexplained, got)
	}
}
