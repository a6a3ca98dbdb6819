// Package scenarios holds the e2e suites. Each file is one scenario: an e2e-framework
// feature whose assessments are the rows of a table of cases (request → expectation), run
// against whichever platform TestMain brought up. PLATFORM=kind|local selects it.
package scenarios

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/types"

	"github.com/grpclab/grpclab/cluster/platforms"
	"github.com/grpclab/grpclab/scenarios/report"
)

var (
	testenv env.Environment
	// lab is the platform every scenario runs on; TestMain's setup makes it.
	lab *Lab
	rec = &report.Recorder{}
	// known are the controllers' known findings, from findings.yaml.
	known report.Findings
	// coverage sets the upstream conformance tests beside grpclab's cases (conformance.yaml).
	coverage report.Coverage
	// finishErr is what the finish steps could not do; it fails the run.
	finishErr error
)

// findingsFile lists, per controller, the cases where it is known to differ on kind.
//
//go:embed findings.yaml
var findingsFile []byte

func TestMain(m *testing.M) {
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: %v\n", err)
		os.Exit(2)
	}
	// A bad findings file fails now, not after the platform took minutes to come up.
	if known, err = parseFindings(); err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: %v\n", err)
		os.Exit(2)
	}
	if coverage, err = parseCoverage(); err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: %v\n", err)
		os.Exit(2)
	}
	// Ctrl-C (or SIGTERM) cancels the run's context: the step under way fails, and the finish
	// steps still write the report and take the platform down. A second signal kills at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	if testenv, err = env.NewWithContext(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: %v\n", err)
		os.Exit(2)
	}
	// Teardown mirrors setup in reverse; the report is written before anything is destroyed.
	// The hooks find failures outside the cases (a scenario's setup or teardown), which the
	// report records as cases of their own.
	testenv.Setup(setUpLab).
		BeforeEachTest(watchTest).BeforeEachFeature(watchFeature).AfterEachFeature(endFeature).
		Finish(writeReport, tearDownLab)
	os.Exit(verdict(testenv.Run(m)))
}

// verdict is the run's exit status from the suite's (see report.Exit): on kind a run whose
// every failed case is a known finding of its controller passes. A report that could not be
// written, or a platform left up, fails the run.
func verdict(code int) int {
	code, why := report.Exit(code, rec.Cases(), rec.Findings, rec.Controller())
	if why != "" {
		progress("%s", why)
	}
	if finishErr != nil {
		progress("the run did not finish cleanly: %v", finishErr)
		return max(code, 1)
	}
	return code
}

// parseFindings reads findings.yaml; a controller it names must be one the kind platform runs.
func parseFindings() (report.Findings, error) {
	const file = "scenarios/findings.yaml"
	f, err := report.ParseFindings(file, findingsFile)
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(f)) {
		if err := platforms.CheckController(name); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	return f, nil
}

func watchTest(ctx context.Context, _ *envconf.Config, t *testing.T) (context.Context, error) {
	rec.BeginTest(t)
	return ctx, nil
}

func watchFeature(ctx context.Context, _ *envconf.Config, t *testing.T, f types.Feature) (context.Context, error) {
	rec.BeginFeature(t, f.Name())
	return ctx, nil
}

func endFeature(ctx context.Context, _ *envconf.Config, t *testing.T, f types.Feature) (context.Context, error) {
	rec.EndFeature(t, f.Name())
	return ctx, nil
}

func setUpLab(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	l, err := newLab(ctx)
	lab = l // set even on error, so the teardown removes whatever is left
	if err != nil {
		progress("set up the platform: %v", err)
		return ctx, err
	}
	rec.Platform = l.platform.Name()
	rec.Versions = l.platform.Versions()
	return ctx, nil
}

func tearDownLab(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	if lab == nil {
		return ctx, nil
	}
	// Teardown runs also after Ctrl-C cancelled the run's context: the lab gives it a bounded
	// context of its own.
	if err := lab.close(ctx); err != nil {
		progress("take the platform down: %v", err)
		finishErr = errors.Join(finishErr, fmt.Errorf("take the platform down: %w", err))
		return ctx, err
	}
	return ctx, nil
}

func writeReport(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	if rec.Platform == "" {
		return ctx, nil // setup failed before any platform ran; nothing to report
	}
	if rec.Platform == "kind" {
		rec.Findings = known[rec.Controller()]
	}
	dir := artifactsDir()
	if err := rec.WriteFiles(dir); err != nil {
		progress("%v", err)
		finishErr = errors.Join(finishErr, err)
		return ctx, err
	}
	p, f, s := rec.Counts()
	progress("report %s: %d passed, %d failed, %d skipped", filepath.Join(dir, "report.md"), p, f, s)
	return ctx, nil
}

// artifactsDir is $ARTIFACTS, else _artifacts at the repository root.
func artifactsDir() string {
	if d := os.Getenv("ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join("..", "_artifacts")
}

// progress prints one line per step, with the step's duration where it has one.
func progress(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}

// timed runs one setup step and prints it with its duration.
func timed(what string, fn func() error) error {
	start := time.Now()
	err := fn()
	if err != nil {
		progress("%s: failed after %s: %v", what, time.Since(start).Round(time.Millisecond), err)
		return fmt.Errorf("%s: %w", what, err)
	}
	progress("%s (%s)", what, time.Since(start).Round(time.Millisecond))
	return nil
}
