// Package scenarios holds the e2e suites. Each file is one scenario: an e2e-framework
// feature whose assessments are the rows of a table of cases (request → expectation), run
// against whichever platform TestMain brought up. PLATFORM=kind|local selects it.
package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/grpclab/grpclab/scenarios/report"
)

var (
	testenv env.Environment
	// lab is the platform every scenario runs on; TestMain's setup makes it.
	lab *Lab
	rec = &report.Recorder{}
)

func TestMain(m *testing.M) {
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: %v\n", err)
		os.Exit(2)
	}
	testenv = env.NewWithConfig(cfg)
	// Teardown mirrors setup in reverse; the report is written before anything is destroyed.
	testenv.Setup(setUpLab).Finish(writeReport, tearDownLab)
	os.Exit(testenv.Run(m))
}

func setUpLab(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	l, err := newLab(ctx)
	lab = l // set even on error, so the teardown stops whatever did start
	if err != nil {
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
	return ctx, lab.close(ctx)
}

func writeReport(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	if rec.Platform == "" {
		return ctx, nil // setup failed before any platform ran; nothing to report
	}
	dir := artifactsDir()
	if err := rec.WriteFiles(dir); err != nil {
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
