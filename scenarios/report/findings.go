package report

import (
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Findings are the cases where a real controller is known to differ from the spec or from
// the local emulator: controller → case key (see Case.Key) → why, with the text that
// decides it. A finding is reported case by case; it never loosens the case.
type Findings map[string]map[string]string

type finding struct {
	Case   string `json:"case"`
	Reason string `json:"reason"`
}

// ParseFindings reads a findings file (controller: list of {case, reason}) strictly: an
// unknown field, an entry without case or reason, or a case listed twice is an error naming
// file and entry.
func ParseFindings(file string, data []byte) (Findings, error) {
	// Entries are kept raw at first so that an error can say which one it is about.
	var raw map[string][]json.RawMessage
	if err := yaml.UnmarshalStrict(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w (want each controller mapped to a list of {case, reason})", file, err)
	}
	out := Findings{}
	for controller, entries := range raw {
		cases := map[string]string{}
		for i, e := range entries {
			var f finding
			if err := yaml.UnmarshalStrict(e, &f); err != nil {
				return nil, fmt.Errorf("%s: %s entry %d: %w", file, controller, i+1, err)
			}
			f.Case, f.Reason = strings.TrimSpace(f.Case), strings.TrimSpace(f.Reason)
			switch {
			case f.Case == "":
				return nil, fmt.Errorf("%s: %s entry %d: no case", file, controller, i+1)
			case !strings.Contains(f.Case, "/"):
				return nil, fmt.Errorf("%s: %s entry %d: case %q is not \"<scenario>/<case name>\" as the report names it", file, controller, i+1, f.Case)
			case f.Reason == "":
				return nil, fmt.Errorf("%s: %s entry %d (%s): no reason", file, controller, i+1, f.Case)
			}
			if _, dup := cases[f.Case]; dup {
				return nil, fmt.Errorf("%s: %s entry %d (%s): listed twice", file, controller, i+1, f.Case)
			}
			cases[f.Case] = f.Reason
		}
		out[controller] = cases
	}
	return out, nil
}

// Verdict sorts a run's failures: unexpected are the failed cases findings does not list, in
// the order recorded; resolved are the listed cases that passed this run and failed in none
// of its repetitions, so the list can be pruned. A failure outside the cases is always
// unexpected: it stopped cases that never reported.
func Verdict(cases []Case, findings map[string]string) (unexpected []Case, resolved []string) {
	failed := map[string]bool{}
	for _, c := range cases {
		if c.Result != Failed {
			continue
		}
		failed[c.Key()] = true
		if _, known := findings[c.Key()]; !known || c.Name == OutsideCases {
			unexpected = append(unexpected, c)
		}
	}
	seen := map[string]bool{}
	for _, c := range cases {
		k := c.Key()
		if _, known := findings[k]; known && c.Result == Passed && !failed[k] && !seen[k] {
			seen[k] = true
			resolved = append(resolved, k)
		}
	}
	return unexpected, resolved
}

// Exit decides a run's exit status from the suite's, and says why in one line ("" when
// there is nothing to say). When the suite failed and every failed case is a known finding
// of the controller, the run passes. Anything else keeps the status: a failed setup (no case
// recorded), a failure that no failed case explains, an unexpected failed case; on the
// local platform findings is empty, so every failure counts.
func Exit(code int, cases []Case, findings map[string]string, controller string) (int, string) {
	if code == 0 || len(cases) == 0 {
		return code, ""
	}
	failed := 0
	for _, c := range cases {
		if c.Result == Failed {
			failed++
		}
	}
	if failed == 0 {
		return code, fmt.Sprintf("the suite failed (exit %d), but no case did: see the log", code)
	}
	unexpected, _ := Verdict(cases, findings)
	if controller == "" {
		controller = "the controller"
	}
	if len(unexpected) == 0 {
		return 0, fmt.Sprintf("%d failed cases are known findings of %s (scenarios/findings.yaml); no unexpected failure", failed, controller)
	}
	names := make([]string, len(unexpected))
	for i, c := range unexpected {
		names[i] = c.Key()
	}
	return code, "unexpected failures: " + strings.Join(names, "; ")
}
