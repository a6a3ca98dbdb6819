package report

import (
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Coverage says where the upstream Gateway API conformance suite and grpclab's scenarios
// check the same behaviour, what only grpclab checks, and, where their verdicts disagree,
// which one the spec text says is right. It is read from scenarios/conformance.yaml.
type Coverage struct {
	// Overlap lists the upstream tests that grpclab's cases also check.
	Overlap []Overlap `json:"overlap"`
	// OnlyGrpclab lists the scenarios no upstream test of the profile checks.
	OnlyGrpclab []OnlyGrpclab `json:"onlyGrpclab"`
	// Disagreements explain, per upstream test, a run where the two verdicts differ.
	Disagreements []Disagreement `json:"disagreements"`
}

// Overlap is one upstream test and the grpclab cases that check the same behaviour.
type Overlap struct {
	Test string `json:"test"`
	// Grpclab names scenarios ("routing/method": every case of it) or single cases
	// ("routing/method/Login reaches foo-svc"), as the report names them.
	Grpclab   []string `json:"grpclab"`
	Behaviour string   `json:"behaviour"`
}

// OnlyGrpclab is a scenario whose behaviour the profile's upstream tests do not check.
type OnlyGrpclab struct {
	Scenario  string `json:"scenario"`
	Behaviour string `json:"behaviour"`
}

// Disagreement says which verdict is right when an upstream test and its grpclab cases
// disagree, with the spec text that decides it.
type Disagreement struct {
	Test  string `json:"test"`
	Right string `json:"right"` // "conformance" or "grpclab"
	Why   string `json:"why"`
}

// ParseCoverage reads the coverage file strictly: unknown fields, a test the suite does not
// have (known reports which it has), an entry without its fields, a test listed twice, or a
// Right other than conformance or grpclab is an error naming the file and the entry.
func ParseCoverage(file string, data []byte, known func(test string) bool) (Coverage, error) {
	var cov Coverage
	if err := yaml.UnmarshalStrict(data, &cov); err != nil {
		return cov, fmt.Errorf("%s: %w", file, err)
	}
	seen := map[string]bool{}
	for i, o := range cov.Overlap {
		where := fmt.Sprintf("%s: overlap entry %d (%s)", file, i+1, o.Test)
		switch {
		case o.Test == "" || !known(o.Test):
			return cov, fmt.Errorf("%s: test: the conformance suite has no test %q", where, o.Test)
		case seen[o.Test]:
			return cov, fmt.Errorf("%s: listed twice", where)
		case len(o.Grpclab) == 0:
			return cov, fmt.Errorf("%s: grpclab: no scenario or case", where)
		case strings.TrimSpace(o.Behaviour) == "":
			return cov, fmt.Errorf("%s: behaviour: empty", where)
		}
		seen[o.Test] = true
	}
	for i, g := range cov.OnlyGrpclab {
		if g.Scenario == "" || strings.TrimSpace(g.Behaviour) == "" {
			return cov, fmt.Errorf("%s: onlyGrpclab entry %d (%s): want scenario and behaviour", file, i+1, g.Scenario)
		}
	}
	explained := map[string]bool{}
	for i, d := range cov.Disagreements {
		where := fmt.Sprintf("%s: disagreements entry %d (%s)", file, i+1, d.Test)
		switch {
		case !seen[d.Test]:
			return cov, fmt.Errorf("%s: test: not an overlap entry's test", where)
		case explained[d.Test]:
			return cov, fmt.Errorf("%s: listed twice", where)
		case d.Right != "conformance" && d.Right != "grpclab":
			return cov, fmt.Errorf("%s: right: %q, want conformance or grpclab", where, d.Right)
		case strings.TrimSpace(d.Why) == "":
			return cov, fmt.Errorf("%s: why: empty (quote the spec text that decides it)", where)
		}
		explained[d.Test] = true
	}
	return cov, nil
}

// verdict sums up cases: failed if any failed, passed if all that ran passed, skipped if
// every one was skipped, "" if none ran.
func verdict(cases []Case) Result {
	if len(cases) == 0 {
		return ""
	}
	passed := false
	for _, c := range cases {
		switch c.Result {
		case Failed:
			return Failed
		case Passed:
			passed = true
		}
	}
	if passed {
		return Passed
	}
	return Skipped
}

func mark(r Result) string {
	if r == "" {
		return "not run"
	}
	return marks[r]
}

// matches reports whether case c is named by ref: a scenario (all its cases) or one case.
func matches(ref string, c Case) bool {
	return c.Scenario == ref || c.Key() == ref
}

// Section writes the Markdown section that sets the upstream tests (the cases of scenario
// upstream) beside grpclab's own cases: each overlap with both verdicts and whether they
// agree, what only grpclab checks, what only the upstream suite checks. describe gives an
// upstream test's description. It returns the section and the overlapping tests whose
// verdicts disagree with no explanation in the coverage file.
func (cov Coverage) Section(cases []Case, upstream string, describe func(test string) string) (string, []string) {
	var mine, theirs []Case
	for _, c := range cases {
		if c.Scenario == upstream {
			theirs = append(theirs, c)
		} else if c.Name != OutsideCases {
			mine = append(mine, c)
		}
	}
	byTest := map[string]Case{}
	for _, c := range theirs {
		byTest[c.Name] = c
	}
	why := map[string]Disagreement{}
	for _, d := range cov.Disagreements {
		why[d.Test] = d
	}
	var b strings.Builder
	var unexplained []string
	fmt.Fprintf(&b, "The upstream tests beside the grpclab cases that check the same behaviour, from scenarios/conformance.yaml.\n\n")
	fmt.Fprintf(&b, "| upstream test | verdict | behaviour | grpclab cases | grpclab verdict | agree |\n|---|---|---|---|---|---|\n")
	covered := map[string]bool{}
	var notes []string
	for _, o := range cov.Overlap {
		covered[o.Test] = true
		var got []Case
		for _, c := range mine {
			if slices.ContainsFunc(o.Grpclab, func(ref string) bool { return matches(ref, c) }) {
				got = append(got, c)
			}
		}
		uv := Result("")
		if c, ok := byTest[o.Test]; ok {
			uv = c.Result
		}
		gv := verdict(got)
		agree := "—"
		switch {
		case uv == "" || gv == "" || uv == Skipped || gv == Skipped:
			// One side did not run: nothing to compare.
		case uv == gv:
			agree = "yes"
		default:
			agree = "**no**"
			if d, ok := why[o.Test]; ok {
				notes = append(notes, fmt.Sprintf("- **%s**: %s is right. %s", o.Test, d.Right, cell(d.Why)))
			} else {
				unexplained = append(unexplained, o.Test)
				notes = append(notes, fmt.Sprintf("- **%s**: unexplained: upstream %s, grpclab %s; no entry in scenarios/conformance.yaml says which is right.", o.Test, uv, gv))
			}
		}
		var failedNames []string
		for _, c := range got {
			if c.Result == Failed {
				failedNames = append(failedNames, c.Name)
			}
		}
		gcell := fmt.Sprintf("%s (%d)", strings.Join(o.Grpclab, ", "), len(got))
		if len(failedNames) > 0 {
			gcell += ": failed " + strings.Join(failedNames, "; ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", o.Test, mark(uv), cell(o.Behaviour), cell(gcell), mark(gv), agree)
	}
	fmt.Fprintf(&b, "\n### Where they disagree\n\n")
	if len(notes) == 0 {
		fmt.Fprintf(&b, "Nowhere in this run.\n")
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "%s\n", n)
	}
	fmt.Fprintf(&b, "\n### Only grpclab checks\n\n| scenario | behaviour | cases | verdict |\n|---|---|---|---|\n")
	for _, g := range cov.OnlyGrpclab {
		var got []Case
		for _, c := range mine {
			if matches(g.Scenario, c) {
				got = append(got, c)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", g.Scenario, cell(g.Behaviour), len(got), mark(verdict(got)))
	}
	fmt.Fprintf(&b, "\n### Only the upstream suite checks\n\n")
	n := 0
	for _, c := range theirs {
		if covered[c.Name] || describe(c.Name) == "" {
			continue // an overlap, or not an upstream test (the suite's skip, a failure outside)
		}
		if n == 0 {
			fmt.Fprintf(&b, "| upstream test | verdict | what it checks |\n|---|---|---|\n")
		}
		n++
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Name, c.Mark(), cell(describe(c.Name)))
	}
	if n == 0 {
		fmt.Fprintf(&b, "No upstream test ran in this run: make conformance runs them.\n")
	}
	return b.String(), unexplained
}
