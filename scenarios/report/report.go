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
}

// Recorder collects cases from concurrent tests.
type Recorder struct {
	mu       sync.Mutex
	cases    []Case
	Platform string
	Versions map[string]string
	// Sections are extra Markdown sections (truth tables, latency summary), in order.
	sections []section
}

type section struct{ title, body string }

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
	r.sections = append(r.sections, section{title, body})
}

// Cases returns what was recorded, in order.
func (r *Recorder) Cases() []Case {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.cases)
}

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

// WriteFiles writes dir/junit.xml and dir/report.md.
func (r *Recorder) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for name, write := range map[string]func(io.Writer) error{"junit.xml": r.JUnit, "report.md": r.Markdown} {
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

var marks = map[Result]string{Passed: "✅ passed", Failed: "❌ failed", Skipped: "⏭️ skipped"}

// Markdown writes the human report: summary, versions, every case, skips and sections.
func (r *Recorder) Markdown(w io.Writer) error {
	var b strings.Builder
	passed, failed, skipped := r.Counts()
	fmt.Fprintf(&b, "# grpclab e2e report\n\n")
	fmt.Fprintf(&b, "Platform: **%s** · %d passed · %d failed · %d skipped\n\n", r.Platform, passed, failed, skipped)
	fmt.Fprintf(&b, "## Versions\n\n| component | version |\n|---|---|\n")
	for _, k := range slices.Sorted(maps.Keys(r.Versions)) {
		fmt.Fprintf(&b, "| %s | %s |\n", k, r.Versions[k])
	}
	fmt.Fprintf(&b, "\n## Cases\n\n| scenario | case | result | duration | detail |\n|---|---|---|---|---|\n")
	var skips []Case
	for _, c := range r.Cases() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Scenario, c.Name, marks[c.Result], c.Duration.Round(time.Millisecond), cell(c.Detail))
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
	r.mu.Lock()
	secs := slices.Clone(r.sections)
	r.mu.Unlock()
	for _, s := range secs {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", s.title, strings.TrimRight(s.body, "\n"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
