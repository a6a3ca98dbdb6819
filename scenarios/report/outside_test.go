package report

import (
	"reflect"
	"testing"
)

// namedT is a test whose failure the watch reads as it goes and when it finishes.
type namedT struct {
	name     string
	failed   bool
	cleanups []func()
}

func (n *namedT) Name() string      { return n.name }
func (n *namedT) Failed() bool      { return n.failed }
func (n *namedT) Skipped() bool     { return false }
func (n *namedT) Cleanup(fn func()) { n.cleanups = append(n.cleanups, fn) }
func (n *namedT) finish() {
	for _, fn := range n.cleanups {
		fn()
	}
}

func TestOutsideFailures(t *testing.T) {
	type step func(r *Recorder, test *namedT)
	begin := func(feature string) step {
		return func(r *Recorder, test *namedT) { r.BeginTest(test); r.BeginFeature(test, feature) }
	}
	end := func(feature string) step { return func(r *Recorder, test *namedT) { r.EndFeature(test, feature) } }
	caseResult := func(scenario string, res Result) step {
		return func(r *Recorder, test *namedT) {
			r.Add(Case{Scenario: scenario, Name: "c", Result: res})
			if res == Failed {
				test.failed = true
			}
		}
	}
	fail := func(r *Recorder, test *namedT) { test.failed = true }
	for _, tc := range []struct {
		name  string
		steps []step
		want  []string // keys of the outside failures recorded
	}{
		{"clean", []step{begin("a"), caseResult("a", Passed), end("a")}, nil},
		{"a case failed", []step{begin("a"), caseResult("a", Failed), end("a")}, nil},
		{"setup stopped (no end)", []step{begin("a"), fail}, []string{"a/" + OutsideCases}},
		{"teardown failed after passing cases", []step{begin("a"), caseResult("a", Passed), fail, end("a")}, []string{"a/" + OutsideCases}},
		{
			// the known finding of the first feature does not cover the second one's setup
			name:  "setup of a second feature stopped after the first failed a case",
			steps: []step{begin("a"), caseResult("a", Failed), end("a"), begin("b"), fail},
			want:  []string{"b/" + OutsideCases},
		},
		{"the test failed after its features", []step{begin("a"), caseResult("a", Passed), end("a"), fail}, []string{"TestX/" + OutsideCases}},
		{"skipped in setup, test not failed", []step{begin("a")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Recorder{}
			test := &namedT{name: "TestX"}
			for _, s := range tc.steps {
				s(r, test)
			}
			test.finish()
			var got []string
			for _, c := range r.Cases() {
				if c.Name == OutsideCases {
					if c.Result != Failed || c.Detail == "" {
						t.Errorf("outside case %+v: want failed, with a detail", c)
					}
					got = append(got, c.Key())
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("outside failures %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBeginTestOnce(t *testing.T) {
	r := &Recorder{}
	test := &namedT{name: "TestX"}
	r.BeginTest(test)
	r.BeginTest(test) // a second testenv.Test in the same test
	if len(test.cleanups) != 1 {
		t.Fatalf("%d cleanups registered, want 1", len(test.cleanups))
	}
}
