package scenarios

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestConformanceCoverageNamesScenarios: every grpclab scenario or case that conformance.yaml
// names is one a scenario of this package declares, so a renamed scenario cannot leave the
// report's conformance table silently empty.
func TestConformanceCoverageNamesScenarios(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := regexp.MustCompile(`newScenario\("([^"]+)"`)
	var scenarios []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range declared.FindAllStringSubmatch(string(src), -1) {
			scenarios = append(scenarios, m[1])
		}
	}
	if len(scenarios) < 10 {
		t.Fatalf("found only %d newScenario calls in %v", len(scenarios), files)
	}
	// A reference is a scenario, or a scenario followed by "/<case name>".
	names := func(ref string) bool {
		return slices.ContainsFunc(scenarios, func(s string) bool { return ref == s || strings.HasPrefix(ref, s+"/") })
	}
	var refs []string
	for _, o := range coverage.Overlap {
		refs = append(refs, o.Grpclab...)
	}
	for _, g := range coverage.OnlyGrpclab {
		refs = append(refs, g.Scenario)
	}
	if len(refs) == 0 {
		t.Fatal("conformance.yaml names no grpclab scenario")
	}
	for _, ref := range refs {
		if !names(ref) {
			t.Errorf("scenarios/conformance.yaml names %q, which no scenario declares (have %v)", ref, scenarios)
		}
	}
}

// TestConformanceImages: the suite's base manifests run the images hack/images/conformance.sh
// builds under the same names (echo-basic and CoreDNS), read from the module's own YAML.
func TestConformanceImages(t *testing.T) {
	refs, err := conformanceImages()
	if err != nil {
		t.Fatal(err)
	}
	var echo, coredns int
	for _, ref := range refs {
		switch {
		case strings.HasPrefix(ref, "registry.k8s.io/gateway-api/echo-basic:"):
			echo++
		case strings.HasPrefix(ref, "registry.k8s.io/coredns/coredns:"):
			coredns++
		default:
			t.Errorf("base manifests run %s, which hack/images/conformance.sh cannot build", ref)
		}
	}
	if echo == 0 || coredns != 1 {
		t.Errorf("images %v: want echo-basic tags and one CoreDNS", refs)
	}
}
