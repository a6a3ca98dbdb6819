package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/grpclab/grpclab/internal/expect"
)

func TestResultsRoundTrip(t *testing.T) {
	r := &Recorder{
		Platform: "kind",
		Versions: map[string]string{"controller": "traefik", "traefik": "v3.6.2", "kubernetes": "v1.35.0"},
		Findings: map[string]string{"stream/default-timeout/cut": "Traefik has no 10s idle timeout"},
	}
	r.Add(Case{Scenario: "routing/method", Name: "SayHello | bar", Result: Passed, Duration: 1500 * time.Millisecond})
	r.Add(Case{Scenario: "stream/default-timeout", Name: "cut", Result: Failed, Duration: 12*time.Second + 400*time.Microsecond, Detail: "the stream was not cut: <2 of 2> & more"})
	r.Add(Case{Scenario: "isolation", Name: "cluster", Result: Skipped, Detail: "no exec"})
	dir := t.TempDir()
	if err := r.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"junit.xml", "report.md", ResultsFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("WriteFiles did not write %s: %v", name, err)
		}
	}

	// The format other tools read: field names, milliseconds, the finding.
	raw, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("results.json does not parse: %v", err)
	}
	if file["platform"] != "kind" || file["controller"] != "traefik" {
		t.Errorf("platform, controller = %v, %v", file["platform"], file["controller"])
	}
	second := file["cases"].([]any)[1].(map[string]any)
	if second["durationMs"] != 12000.0 || second["result"] != "failed" || second["finding"] != "Traefik has no 10s idle timeout" {
		t.Errorf("second case = %v", second)
	}
	if !strings.Contains(string(raw), "<2 of 2> & more") {
		t.Errorf("detail is HTML-escaped: %s", raw)
	}

	got, err := ReadResults(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	want := Results{
		Platform: "kind", Controller: "traefik", Versions: r.Versions,
		Cases: []Case{
			{Scenario: "routing/method", Name: "SayHello | bar", Result: Passed, Duration: 1500 * time.Millisecond},
			{Scenario: "stream/default-timeout", Name: "cut", Result: Failed, Duration: 12 * time.Second, Detail: "the stream was not cut: <2 of 2> & more", Finding: "Traefik has no 10s idle timeout"},
			{Scenario: "isolation", Name: "cluster", Result: Skipped, Detail: "no exec"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
	}
}

func TestResultsLocalHasNoController(t *testing.T) {
	r := &Recorder{Platform: "local", Versions: map[string]string{"gateway": "nginx (emulated controller)"}}
	dir := t.TempDir()
	if err := r.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResults(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if got.Platform != "local" || got.Controller != "" || len(got.Cases) != 0 {
		t.Fatalf("got %+v", got)
	}
}

func TestReadResultsErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string { return expect.File(t, dir, name, body) }
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "absent.json"), "no such file"},
		{"malformed", write("malformed.json", `{"platform": "local", "cases": [`), "unexpected end of JSON input"},
		{"trailing garbage", write("trailing.json", `{"platform": "local"} {}`), "invalid character"},
		{"no platform", write("noplatform.json", `{"cases": []}`), "no platform"},
		{"bad result", write("badresult.json", `{"platform": "local", "cases": [{"scenario": "tls", "name": "sni", "result": "ok"}]}`), `case 1 (tls/sni): result "ok"`},
		{"no name", write("noname.json", `{"platform": "local", "cases": [{"scenario": "tls", "result": "passed"}]}`), "case 1: no scenario or name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadResults(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s and saying %q", err, tc.path, tc.want)
			}
		})
	}
}
