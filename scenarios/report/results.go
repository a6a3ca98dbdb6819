package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// ResultsFile is the machine-readable record of a run that `grpclab compare` reads.
const ResultsFile = "results.json"

// Results is one run as results.json holds it.
type Results struct {
	Platform string
	// Controller is what serves the entry points on kind (Versions["controller"]); empty on
	// the local platform.
	Controller string
	Versions   map[string]string
	Cases      []Case
}

// resultsJSON is the file format:
//
//	{"platform": "kind", "controller": "traefik", "versions": {…},
//	 "cases": [{"scenario", "name", "result", "durationMs", "detail", "finding"}]}
//
// finding is the reason from the findings file when the case is a known finding of the
// controller, whatever its result this run.
type resultsJSON struct {
	Platform   string            `json:"platform"`
	Controller string            `json:"controller"`
	Versions   map[string]string `json:"versions"`
	Cases      []caseJSON        `json:"cases"`
}

type caseJSON struct {
	Scenario   string `json:"scenario"`
	Name       string `json:"name"`
	Result     Result `json:"result"`
	DurationMs int64  `json:"durationMs"`
	Detail     string `json:"detail"`
	Finding    string `json:"finding,omitempty"`
}

// Results returns the run as results.json records it.
func (r *Recorder) Results() Results {
	return Results{Platform: r.Platform, Controller: r.Controller(), Versions: r.Versions, Cases: r.Cases()}
}

// JSON writes results.json.
func (r *Recorder) JSON(w io.Writer) error {
	res := r.Results()
	out := resultsJSON{Platform: res.Platform, Controller: res.Controller, Versions: res.Versions, Cases: []caseJSON{}}
	if out.Versions == nil {
		out.Versions = map[string]string{}
	}
	for _, c := range res.Cases {
		out.Cases = append(out.Cases, caseJSON{
			Scenario: c.Scenario, Name: c.Name, Result: c.Result,
			DurationMs: c.Duration.Milliseconds(), Detail: c.Detail, Finding: c.Finding,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// ReadResults loads a results.json that a run wrote; errors name the file.
func ReadResults(path string) (Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Results{}, fmt.Errorf("read results: %w", err) // names the file
	}
	var in resultsJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return Results{}, fmt.Errorf("read results %s: %w", path, err)
	}
	if in.Platform == "" {
		return Results{}, fmt.Errorf("read results %s: no platform: not a results.json of a grpclab run", path)
	}
	res := Results{Platform: in.Platform, Controller: in.Controller, Versions: in.Versions}
	for i, c := range in.Cases {
		switch {
		case c.Scenario == "" || c.Name == "":
			return Results{}, fmt.Errorf("read results %s: case %d: no scenario or name", path, i+1)
		case c.Result != Passed && c.Result != Failed && c.Result != Skipped:
			return Results{}, fmt.Errorf("read results %s: case %d (%s/%s): result %q, want passed, failed or skipped", path, i+1, c.Scenario, c.Name, c.Result)
		}
		res.Cases = append(res.Cases, Case{
			Scenario: c.Scenario, Name: c.Name, Result: c.Result,
			Duration: time.Duration(c.DurationMs) * time.Millisecond, Detail: c.Detail, Finding: c.Finding,
		})
	}
	return res, nil
}
