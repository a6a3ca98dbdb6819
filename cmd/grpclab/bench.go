package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	// Aliased: the subcommand function is bench, as its siblings are up and down.
	labbench "github.com/grpclab/grpclab/bench"
	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/platforms"
)

// bench brings a platform of its own up in a temporary state directory, measures every
// path with ghz and the closed-loop client, writes the report and takes the platform down,
// also on error and Ctrl-C. Owning the platform keeps the figures free of whatever else a
// user left running, and an `up` in .grpclab/ untouched.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grpclab bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := labbench.DefaultSettings()
	var (
		pf          platformFlags
		out         = fs.String("out", filepath.Join("_artifacts", "bench"), "where the JSON, the table and the plots go")
		duration    = fs.Duration("duration", def.Duration, "one measured repetition of one case")
		warmup      = fs.Duration("warmup", def.Warmup, "warm-up before every repetition, never counted")
		reps        = fs.Int("repetitions", def.Repetitions, "repetitions of every case; medians are reported")
		maxCalls    = fs.Int("max-calls", def.MaxCalls, "most calls one client repetition counts")
		concurrency = fs.Int("concurrency", def.Concurrencies[len(def.Concurrencies)-1], "the throughput concurrency (latency is always measured at 1)")
	)
	pf.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))}
	}
	settings := labbench.Settings{Duration: *duration, Warmup: *warmup, Repetitions: *reps, MaxCalls: *maxCalls, Concurrencies: []int{1}}
	if *concurrency != 1 {
		settings.Concurrencies = append(settings.Concurrencies, *concurrency)
	}
	if err := settings.Validate(); err != nil {
		return usageError{fmt.Errorf("bench: %w", err)}
	}

	stateDir, err := os.MkdirTemp("", "grpclab-bench-")
	if err != nil {
		return fmt.Errorf("bench: state directory: %w", err)
	}
	defer os.RemoveAll(stateDir)
	// Its own platform: no env file for others to find.
	l, err := bringUp(ctx, pf.lab(stateDir, "", stdout, defaultVariants, nil))
	if err != nil {
		return err
	}
	err = runBench(ctx, stdout, l.Platform(), l.Name(), settings, *out)
	if derr := l.Down(ctx); derr != nil {
		return errors.Join(err, fmt.Errorf("clean up: %w", derr))
	}
	return err
}

func runBench(ctx context.Context, stdout io.Writer, p cluster.Platform, name string, s labbench.Settings, out string) error {
	started := time.Now()
	routes, skipped, err := labbench.Routes(ctx, p)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for _, s := range skipped {
		step(stdout, "skip %s", s)
	}
	cases := labbench.Plan(routes, s.Concurrencies)
	step(stdout, "measure %d cases × %d repetitions of %s (+%s warm-up each)", len(cases), s.Repetitions, s.Duration, s.Warmup)
	results, err := labbench.Measure(ctx, s, cases, stdout)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	report := labbench.NewReport(name, p.Versions(), s, started, results)
	report.Notes = append(report.Notes, skipped...)
	if platforms.DirectThroughTunnel(p) {
		report.Notes = append(report.Notes, "on kind, direct reaches a pod through a port-forward (the API server's tunnel), itself a hop, so the ratios to direct understate each hop")
	}
	if err := labbench.Write(out, report); err != nil {
		return fmt.Errorf("bench: write %s: %w", out, err)
	}
	var md strings.Builder
	labbench.WriteMarkdown(&md, report)
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, md.String())
	fmt.Fprintln(stdout)
	step(stdout, "wrote %s, %s, %s and %s in %s", labbench.JSONFile, labbench.MarkdownFile, labbench.LatencyPlot, labbench.MultiplexingPlot, out)
	if !report.Instrument.OK {
		step(stdout, "WARNING: %s", report.Instrument.Verdict)
	}
	if len(report.Problems) > 0 {
		return fmt.Errorf("bench: %d repetitions measured nothing (listed in %s): %s", len(report.Problems), filepath.Join(out, labbench.MarkdownFile), report.Problems[0])
	}
	return nil
}
