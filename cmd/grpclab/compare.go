package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	labbench "github.com/grpclab/grpclab/bench"
	"github.com/grpclab/grpclab/scenarios/report"
)

// detailLen is how much of a case's detail the difference column quotes.
const detailLen = 120

// compare puts the scenario runs in DIR... side by side (each DIR holds the results.json a
// run of `make e2e` wrote) and writes one Markdown table to stdout, and to --out.
func compare(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grpclab compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "also write the Markdown to this file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: grpclab compare [--out FILE] DIR DIR...\n\nputs the scenario runs whose results.json is in each DIR side by side, in Markdown")
		fs.PrintDefaults()
	}
	dirs, err := parseInterspersed(fs, args)
	if err != nil {
		return usageError{err}
	}
	if len(dirs) < 2 {
		return usageError{fmt.Errorf("compare: want at least two run directories, got %d", len(dirs))}
	}
	runs := make([]compared, len(dirs))
	for i, d := range dirs {
		res, err := report.ReadResults(filepath.Join(d, report.ResultsFile))
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		runs[i] = compared{dir: d, Results: res}
	}
	label(runs)
	md := comparison(runs)
	if *out != "" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
	}
	_, err = io.WriteString(stdout, md)
	return err
}

// parseInterspersed parses flags before, between and after the positional arguments, so
// that `compare A B --out F` works as the scripts write it.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// compared is one run in the comparison.
type compared struct {
	dir, label string
	report.Results
}

// label names each run by its platform, with the controller where two runs share a
// platform, and a number where even that is not enough.
func label(runs []compared) {
	count := func(name func(compared) string, of string) int {
		n := 0
		for _, r := range runs {
			if name(r) == of {
				n++
			}
		}
		return n
	}
	platform := func(r compared) string { return r.Platform }
	withController := func(r compared) string {
		if r.Controller == "" {
			return r.Platform
		}
		return r.Platform + " (" + r.Controller + ")"
	}
	for i := range runs {
		switch r := runs[i]; {
		case count(platform, r.Platform) == 1:
			runs[i].label = platform(r)
		case count(withController, withController(r)) == 1:
			runs[i].label = withController(r)
		default:
			runs[i].label = fmt.Sprintf("%s #%d", withController(r), i+1)
		}
	}
}

type caseKey struct{ scenario, name string }

// row is one case across the runs; a nil cell means the run has no such case.
type row struct {
	key   caseKey
	cells []*report.Case
}

// rows lists every case of every run once, in the order the runs first recorded it. A case
// recorded twice in one run (go test -count) is compared by its first result.
func rows(runs []compared) []row {
	var out []row
	index := map[caseKey]int{}
	for i, r := range runs {
		for j := range r.Cases {
			c := &r.Cases[j]
			k := caseKey{c.Scenario, c.Name}
			at, ok := index[k]
			if !ok {
				at = len(out)
				index[k] = at
				out = append(out, row{key: k, cells: make([]*report.Case, len(runs))})
			}
			if out[at].cells[i] == nil {
				out[at].cells[i] = c
			}
		}
	}
	return out
}

type agreement int

const (
	same agreement = iota
	differ
	partial // missing from at least one run
)

// difference says how a case's runs differ: "same", a short text, or which runs have it.
func difference(runs []compared, r row) (agreement, string) {
	var present []int
	for i, c := range r.cells {
		if c != nil {
			present = append(present, i)
		}
	}
	equal := true
	for _, i := range present {
		equal = equal && r.cells[i].Result == r.cells[present[0]].Result
	}
	if len(present) < len(runs) {
		labels := make([]string, len(present))
		for j, i := range present {
			labels[j] = runs[i].label
		}
		text := "only in " + strings.Join(labels, ", ")
		if !equal {
			text += "; " + differs(runs, r, present)
		}
		return partial, text
	}
	if equal {
		return same, "same"
	}
	return differ, differs(runs, r, present)
}

// differs is the text for results that disagree: a known finding's reason, else who got
// what and the start of the first failure's (else skip's) detail.
func differs(runs []compared, r row, present []int) string {
	for _, i := range present {
		if c := r.cells[i]; c.Result == report.Failed && c.Finding != "" {
			return "finding: " + c.Finding
		}
	}
	parts := make([]string, len(present))
	for j, i := range present {
		parts[j] = runs[i].label + " " + string(r.cells[i].Result)
	}
	text := strings.Join(parts, ", ")
	for _, want := range []report.Result{report.Failed, report.Skipped} {
		for _, i := range present {
			if c := r.cells[i]; c.Result == want && c.Detail != "" {
				return text + ": " + truncate(c.Detail, detailLen)
			}
		}
	}
	return text
}

// comparison is the Markdown: a line per run, the table, the counts.
func comparison(runs []compared) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# grpclab: scenario runs side by side\n\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "- **%s** (`%s`): %s\n", r.label, r.dir, describe(r.Results))
	}
	fmt.Fprintf(&b, "\n| scenario | case |")
	for _, r := range runs {
		fmt.Fprintf(&b, " %s |", r.label)
	}
	fmt.Fprintf(&b, " difference |\n|---|---|%s---|\n", strings.Repeat("---|", len(runs)))
	counts := map[agreement]int{}
	all := rows(runs)
	for _, r := range all {
		k, text := difference(runs, r)
		counts[k]++
		fmt.Fprintf(&b, "| %s | %s |", cell(r.key.scenario), cell(r.key.name))
		for _, c := range r.cells {
			mark := "—"
			if c != nil {
				mark = c.Mark()
			}
			fmt.Fprintf(&b, " %s |", mark)
		}
		fmt.Fprintf(&b, " %s |\n", cell(text))
	}
	partialName := "only in one run"
	if len(runs) > 2 {
		partialName = "not in every run"
	}
	noun := "cases"
	if len(all) == 1 {
		noun = "case"
	}
	fmt.Fprintf(&b, "\n%d %s: %d same · %d differ · %d %s\n", len(all), noun, counts[same], counts[differ], counts[partial], partialName)
	return b.String()
}

// notable are the versions, besides the controller's, that say what a run ran on.
var notable = []string{"kubernetes", "gateway-api", "images", "networkpolicy enforcer"}

// describe is a run's header: platform, controller, versions of note and its counts.
func describe(r report.Results) string {
	parts := []string{"platform " + r.Platform, "controller " + labbench.Controller(r.Versions)}
	for _, k := range notable {
		if v := r.Versions[k]; v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	n := map[report.Result]int{}
	known := 0
	for _, c := range r.Cases {
		n[c.Result]++
		if c.Result == report.Failed && c.Finding != "" {
			known++
		}
	}
	failed := fmt.Sprintf("%d failed", n[report.Failed])
	switch {
	case known == 1:
		failed += " (1 known finding)"
	case known > 1:
		failed += fmt.Sprintf(" (%d known findings)", known)
	}
	parts = append(parts, fmt.Sprintf("%d passed, %s, %d skipped", n[report.Passed], failed, n[report.Skipped]))
	return strings.Join(parts, " · ")
}

func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
