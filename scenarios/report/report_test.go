package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/grpclab/grpclab/internal/expect"
)

// fakeT is a finished test whose outcome the recorder reads in Cleanup.
type fakeT struct {
	failed, skipped bool
	cleanups        []func()
}

func (f *fakeT) Name() string      { return "fake" }
func (f *fakeT) Failed() bool      { return f.failed }
func (f *fakeT) Skipped() bool     { return f.skipped }
func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) finish() {
	for _, fn := range f.cleanups {
		fn()
	}
}

func recorded() *Recorder {
	r := &Recorder{Platform: "local", Versions: map[string]string{"nginx": "1.22.1"}}
	for _, c := range []struct {
		name            string
		failed, skipped bool
		note            string
	}{
		{"passes", false, false, ""},
		{"fails", true, false, "got Unimplemented"},
		{"is skipped", false, true, "local platform: no kube-proxy"},
	} {
		ft := &fakeT{failed: c.failed, skipped: c.skipped}
		tr := r.Track(ft, "routing/method", c.name)
		if c.note != "" {
			tr.Note("%s", c.note)
		}
		ft.finish()
	}
	r.AddSection("Isolation", "| a | b |")
	return r
}

func TestTrackRecordsOutcomes(t *testing.T) {
	r := recorded()
	p, f, s := r.Counts()
	if p != 1 || f != 1 || s != 1 {
		t.Fatalf("counts = %d passed, %d failed, %d skipped; want 1, 1, 1", p, f, s)
	}
	if got := r.Cases()[1]; got.Result != Failed || got.Detail != "got Unimplemented" {
		t.Fatalf("failed case = %+v", got)
	}
}

func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := recorded().JUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, buf.String())
	}
	if len(got.Suites) != 1 {
		t.Fatalf("%d suites, want 1", len(got.Suites))
	}
	s := got.Suites[0]
	if s.Tests != 3 || s.Failures != 1 || s.Skipped != 1 {
		t.Fatalf("suite counts tests=%d failures=%d skipped=%d, want 3 1 1", s.Tests, s.Failures, s.Skipped)
	}
	if s.Cases[1].Failure == nil || s.Cases[1].Failure.Message != "got Unimplemented" {
		t.Fatalf("failure not recorded: %+v", s.Cases[1])
	}
	if s.Cases[2].Skipped == nil || !strings.Contains(s.Cases[2].Skipped.Message, "kube-proxy") {
		t.Fatalf("skip reason not recorded: %+v", s.Cases[2])
	}
}

func TestMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := recorded().Markdown(&buf); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	expect.Contains(t, "report.md", md,
		"Platform: **local** · 1 passed · 1 failed · 1 skipped",
		"| nginx | 1.22.1 |",
		"| routing/method | fails | ❌ failed |",
		"- routing/method / is skipped: local platform: no kube-proxy",
		"## Isolation",
	)
}

func TestDurationIsMeasured(t *testing.T) {
	r := &Recorder{}
	ft := &fakeT{}
	r.Track(ft, "s", "c")
	time.Sleep(5 * time.Millisecond)
	ft.finish()
	if d := r.Cases()[0].Duration; d < 5*time.Millisecond {
		t.Fatalf("duration %s, want at least 5ms", d)
	}
}

func TestMarkdownFindings(t *testing.T) {
	r := &Recorder{
		Platform: "kind",
		Versions: map[string]string{"controller": "traefik", "traefik": "v3.6.2"},
		Findings: map[string]string{
			"stream/default-timeout/cut":       "Traefik's idle timeout is its own (docs: respondingTimeouts)",
			"tls/unknown host":                 "serves its default certificate",
			"routing/method/renamed meanwhile": "the case was renamed",
		},
	}
	r.Add(Case{Scenario: "stream/default-timeout", Name: "cut", Result: Failed, Detail: "the stream was not cut: 2 of 2 events"})
	r.Add(Case{Scenario: "tls", Name: "unknown host", Result: Passed})
	r.Add(Case{Scenario: "tls", Name: "sni", Result: Failed, Detail: "handshake failed"})
	var buf bytes.Buffer
	if err := r.Markdown(&buf); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	expect.Contains(t, "report.md", md,
		"Platform: **kind** · 1 passed · 2 failed (1 known finding) · 0 skipped",
		"| stream/default-timeout | cut | ❌ failed (known finding) |",
		"| tls | sni | ❌ failed | ", // not a finding: no mark
		"## Findings: where traefik differs",
		"- **stream/default-timeout / cut**: Traefik's idle timeout is its own (docs: respondingTimeouts)\n  Observed: the stream was not cut: 2 of 2 events",
		"### Known findings that no longer reproduce",
		"- tls/unknown host: serves its default certificate",
		"### Known findings with no case in this run",
		"- routing/method/renamed meanwhile",
	)
	if strings.Contains(md, "**tls / sni**") {
		t.Errorf("an unexpected failure is listed as a finding:\n%s", md)
	}

	var junit bytes.Buffer
	if err := r.JUnit(&junit); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junit.String(), `message="known finding (scenarios/findings.yaml): Traefik`) {
		t.Errorf("junit.xml does not say the failure is a known finding:\n%s", junit.String())
	}
}

func TestMarkdownWithoutFindingsHasNoSection(t *testing.T) {
	var buf bytes.Buffer
	if err := recorded().Markdown(&buf); err != nil {
		t.Fatal(err)
	}
	if md := buf.String(); strings.Contains(md, "## Findings") || strings.Contains(md, "known finding") {
		t.Errorf("local report mentions findings:\n%s", md)
	}
}
