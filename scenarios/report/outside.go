package report

import "slices"

// OutsideCases is the case name under which a failure that no case explains is recorded: a
// feature's setup or teardown, or a test's own code. Such a failure stops or spoils cases
// that never report, so it must reach the report and the exit status as a failed case.
const OutsideCases = "(outside the cases)"

// testWatch is what BeginTest and BeginFeature saw of one test.
type testWatch struct {
	features []*featureWatch
}

type featureWatch struct {
	name string
	// failedBefore: the test had failed already when the feature began, so a failure after
	// it cannot be told apart from the earlier one.
	failedBefore, ended bool
}

// BeginTest watches test t, once however often it is begun: when t finishes, a failure of
// t that neither a failed case of its features nor a recorded outside failure explains is
// recorded as a case of its own. The test framework calls it before each test.
func (r *Recorder) BeginTest(t TB) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tests == nil {
		r.tests = map[string]*testWatch{}
	}
	if _, ok := r.tests[t.Name()]; ok {
		return
	}
	w := &testWatch{}
	r.tests[t.Name()] = w
	t.Cleanup(func() { r.endTest(t, w) })
}

// BeginFeature notes that feature (a scenario) began in test t.
func (r *Recorder) BeginFeature(t TB, feature string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.tests[t.Name()]
	if w == nil {
		return // BeginTest was not called: nothing to attribute to
	}
	w.features = append(w.features, &featureWatch{name: feature, failedBefore: t.Failed()})
}

// EndFeature notes that feature ended normally in test t: its setup, cases and teardown ran.
// If t failed during the feature and none of its cases did, its setup or teardown failed.
func (r *Recorder) EndFeature(t TB, feature string) {
	r.mu.Lock()
	var f *featureWatch
	if w := r.tests[t.Name()]; w != nil {
		for _, fw := range slices.Backward(w.features) {
			if fw.name == feature && !fw.ended {
				f = fw
				f.ended = true
				break
			}
		}
	}
	r.mu.Unlock()
	if f == nil {
		return
	}
	if t.Failed() && !f.failedBefore && !r.failedIn(feature) {
		r.Add(Case{Scenario: feature, Name: OutsideCases, Result: Failed,
			Detail: "no case failed, but the scenario's setup or teardown did: see the log of " + t.Name()})
	}
}

// endTest runs when test t has finished, its subtests included.
func (r *Recorder) endTest(t TB, w *testWatch) {
	if !t.Failed() {
		return
	}
	r.mu.Lock()
	features := make([]featureWatch, len(w.features))
	for i, f := range w.features {
		features[i] = *f
	}
	r.mu.Unlock()
	explained := false
	for _, f := range features {
		switch {
		case !f.ended:
			// A feature whose subtest stopped (t.Fatal, or t.Skip) in its setup or teardown never
			// reaches its end. The test failed, so take it as the failure.
			r.Add(Case{Scenario: f.name, Name: OutsideCases, Result: Failed,
				Detail: "the scenario stopped in its setup or teardown: see the log of " + t.Name()})
			explained = true
		case r.failedIn(f.name):
			explained = true
		}
	}
	if !explained {
		r.Add(Case{Scenario: t.Name(), Name: OutsideCases, Result: Failed,
			Detail: "the test failed outside its scenarios' cases: see its log"})
	}
}

// failedIn reports whether a case of scenario failed, an outside failure included.
func (r *Recorder) failedIn(scenario string) bool {
	for _, c := range r.Cases() {
		if c.Scenario == scenario && c.Result == Failed {
			return true
		}
	}
	return false
}
