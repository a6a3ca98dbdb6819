// Package report records every scenario case with its result and duration, and writes them
// as JUnit XML and Markdown for people and CI.
package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Result of one case.
type Result string

const (
	Passed  Result = "passed"
	Failed  Result = "failed"
	Skipped Result = "skipped"
)

// Case is one recorded case.
type Case struct {
	Scenario, Name string
	Result         Result
	Duration       time.Duration
	// Detail is the failure or the reason for a skip.
	Detail string
	// Finding is why the case is a known finding of the controller (from the Recorder's
	// Findings), whatever its result this run; empty when it is not one.
	Finding string
}

// Key names the case as the findings file and the comparison do: "<scenario>/<case name>".
func (c Case) Key() string { return c.Scenario + "/" + c.Name }

var marks = map[Result]string{Passed: "✅ passed", Failed: "❌ failed", Skipped: "⏭️ skipped"}

// Mark is the result as the reports show it; a failure that is a known finding says so.
func (c Case) Mark() string {
	if c.Result == Failed && c.Finding != "" {
		return marks[Failed] + " (known finding)"
	}
	if m, ok := marks[c.Result]; ok {
		return m
	}
	return string(c.Result)
}

// Recorder collects cases from concurrent tests.
type Recorder struct {
	mu       sync.Mutex
	cases    []Case
	Platform string
	Versions map[string]string
	// Findings are the known findings of this run's controller: case key → reason. Only the
	// kind platform has them; set before the report is written.
	Findings map[string]string
	// Sections are extra Markdown sections (truth tables, latency summary), in order.
	sections []section
	// tests are the tests BeginTest watches for failures outside their cases.
	tests map[string]*testWatch
}

// section is a titled Markdown body, made from the recorded cases when the report is written.
type section struct {
	title string
	body  func([]Case) string
}

// TB is the part of testing.TB the recorder needs.
type TB interface {
	Name() string
	Failed() bool
	Skipped() bool
	Cleanup(func())
}

// Track records t as case name of scenario when t finishes: passed, failed or skipped. The
// reason for a skip or failure is what Note adds, so it reaches the report.
func (r *Recorder) Track(t TB, scenario, name string) *Tracked {
	tr := &Tracked{}
	start := time.Now()
	t.Cleanup(func() {
		c := Case{Scenario: scenario, Name: name, Duration: time.Since(start), Detail: tr.detail()}
		switch {
		case t.Skipped():
			c.Result = Skipped
		case t.Failed():
			c.Result = Failed
		default:
			c.Result = Passed
		}
		r.Add(c)
	})
	return tr
}

// Tracked gathers what a case says about itself.
type Tracked struct {
	mu    sync.Mutex
	notes []string
}

// Note adds a line to the case's detail; a line equal to the previous one (a retried or
// repeated check saying the same thing) is kept once.
func (tr *Tracked) Note(format string, args ...any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	line := fmt.Sprintf(format, args...)
	if n := len(tr.notes); n > 0 && tr.notes[n-1] == line {
		return
	}
	tr.notes = append(tr.notes, line)
}

func (tr *Tracked) detail() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return strings.Join(tr.notes, "; ")
}

// Add records a case.
func (r *Recorder) Add(c Case) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cases = append(r.cases, c)
}

// AddSection appends a Markdown section to the report.
func (r *Recorder) AddSection(title, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sections = append(r.sections, section{title, func([]Case) string { return body }})
}

// AddSectionFunc appends a section whose body is made from every recorded case when the
// report is written, so it sees cases recorded after it was added.
func (r *Recorder) AddSectionFunc(title string, body func([]Case) string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sections = append(r.sections, section{title, body})
}

// Cases returns what was recorded, in order, each with its Finding when Findings lists it.
func (r *Recorder) Cases() []Case {
	r.mu.Lock()
	defer r.mu.Unlock()
	cases := slices.Clone(r.cases)
	for i := range cases {
		cases[i].Finding = r.Findings[cases[i].Key()]
	}
	return cases
}

// Controller is what serves the entry points, as the kind platform's Versions name it;
// empty on the local platform.
func (r *Recorder) Controller() string { return r.Versions["controller"] }

// Counts returns how many cases passed, failed and were skipped.
func (r *Recorder) Counts() (passed, failed, skipped int) {
	for _, c := range r.Cases() {
		switch c.Result {
		case Passed:
			passed++
		case Failed:
			failed++
		case Skipped:
			skipped++
		}
	}
	return
}

// WriteFiles writes dir/junit.xml, dir/report.md and dir/results.json.
func (r *Recorder) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for name, write := range map[string]func(io.Writer) error{"junit.xml": r.JUnit, "report.md": r.Markdown, ResultsFile: r.JSON} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// JUnit writes one testsuite per scenario.
func (r *Recorder) JUnit(w io.Writer) error {
	var out junitSuites
	index := map[string]int{}
	var props []junitProperty
	props = append(props, junitProperty{"platform", r.Platform})
	for _, k := range slices.Sorted(maps.Keys(r.Versions)) {
		props = append(props, junitProperty{"version." + k, r.Versions[k]})
	}
	durations := map[string]time.Duration{}
	for _, c := range r.Cases() {
		i, ok := index[c.Scenario]
		if !ok {
			i = len(out.Suites)
			index[c.Scenario] = i
			out.Suites = append(out.Suites, junitSuite{Name: c.Scenario, Properties: props})
		}
		s := &out.Suites[i]
		jc := junitCase{Name: c.Name, Classname: "grpclab." + c.Scenario, Time: seconds(c.Duration)}
		switch c.Result {
		case Failed:
			jc.Failure = &junitMessage{Message: c.Detail}
			if c.Finding != "" {
				jc.Failure.Message = "known finding (scenarios/findings.yaml): " + c.Finding + "; observed: " + c.Detail
			}
			s.Failures++
		case Skipped:
			jc.Skipped = &junitMessage{Message: c.Detail}
			s.Skipped++
		}
		s.Tests++
		durations[c.Scenario] += c.Duration
		s.Cases = append(s.Cases, jc)
	}
	for i := range out.Suites {
		out.Suites[i].Time = seconds(durations[out.Suites[i].Name])
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// Markdown writes the human report: summary, versions, every case, skips, the controller's
// known findings and sections.
func (r *Recorder) Markdown(w io.Writer) error {
	var b strings.Builder
	passed, failed, skipped := r.Counts()
	cases := r.Cases()
	unexpected, resolved := Verdict(cases, r.Findings)
	fmt.Fprintf(&b, "# grpclab e2e report\n\n")
	known := ""
	switch n := failed - len(unexpected); {
	case n == 1:
		known = " (1 known finding)"
	case n > 1:
		known = fmt.Sprintf(" (%d known findings)", n)
	}
	fmt.Fprintf(&b, "Platform: **%s** · %d passed · %d failed%s · %d skipped\n\n", r.Platform, passed, failed, known, skipped)
	fmt.Fprintf(&b, "## Versions\n\n| component | version |\n|---|---|\n")
	for _, k := range slices.Sorted(maps.Keys(r.Versions)) {
		fmt.Fprintf(&b, "| %s | %s |\n", k, r.Versions[k])
	}
	fmt.Fprintf(&b, "\n## Cases\n\n| scenario | case | result | duration | detail |\n|---|---|---|---|---|\n")
	var skips []Case
	for _, c := range cases {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Scenario, c.Name, c.Mark(), c.Duration.Round(time.Millisecond), cell(c.Detail))
		if c.Result == Skipped {
			skips = append(skips, c)
		}
	}
	fmt.Fprintf(&b, "\n## Skipped, and why\n\n")
	if len(skips) == 0 {
		fmt.Fprintf(&b, "Nothing was skipped.\n")
	}
	for _, c := range skips {
		fmt.Fprintf(&b, "- %s / %s: %s\n", c.Scenario, c.Name, c.Detail)
	}
	if len(r.Findings) > 0 {
		r.findings(&b, cases, resolved)
	}
	r.mu.Lock()
	secs := slices.Clone(r.sections)
	r.mu.Unlock()
	for _, s := range secs {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", s.title, strings.TrimRight(s.body(cases), "\n"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// findings writes the section on the controller's known findings: those that failed as
// listed, with what was observed, and those to prune from the list.
func (r *Recorder) findings(b *strings.Builder, cases []Case, resolved []string) {
	controller := r.Controller()
	if controller == "" {
		controller = "the controller"
	}
	fmt.Fprintf(b, "\n## Findings: where %s differs\n\n", controller)
	fmt.Fprintf(b, "Cases where %s is known to differ from the spec or from the local emulator (scenarios/findings.yaml), and failed as known this run:\n\n", controller)
	ran := map[string]bool{}
	n := 0
	for _, c := range cases {
		ran[c.Key()] = true
		if c.Result == Failed && c.Finding != "" && c.Name != OutsideCases {
			fmt.Fprintf(b, "- **%s / %s**: %s\n  Observed: %s\n", c.Scenario, c.Name, cell(c.Finding), cell(orNone(c.Detail)))
			n++
		}
	}
	if n == 0 {
		fmt.Fprintf(b, "None failed.\n")
	}
	if len(resolved) > 0 {
		fmt.Fprintf(b, "\n### Known findings that no longer reproduce\n\nThese passed this run: remove them from scenarios/findings.yaml once a second run agrees.\n\n")
		for _, k := range resolved {
			fmt.Fprintf(b, "- %s: %s\n", k, cell(r.Findings[k]))
		}
	}
	var absent []string
	for _, k := range slices.Sorted(maps.Keys(r.Findings)) {
		if !ran[k] {
			absent = append(absent, k)
		}
	}
	if len(absent) > 0 {
		fmt.Fprintf(b, "\n### Known findings with no case in this run\n\nNot selected this run, or the case was renamed (the list names cases exactly as this report does):\n\n")
		for _, k := range absent {
			fmt.Fprintf(b, "- %s\n", k)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(no detail recorded)"
	}
	return s
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
