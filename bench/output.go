package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Files written by Write, inside the output directory.
const (
	JSONFile         = "bench.json"
	MarkdownFile     = "bench.md"
	LatencyPlot      = "latency.png"
	MultiplexingPlot = "multiplexing.png"
)

// Write puts the JSON, the Markdown table and the plots in dir, creating it.
func Write(dir string, r Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, JSONFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	var md strings.Builder
	WriteMarkdown(&md, r)
	if err := os.WriteFile(filepath.Join(dir, MarkdownFile), []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	if err := plotLatency(filepath.Join(dir, LatencyPlot), r); err != nil {
		return fmt.Errorf("plot %s: %w", LatencyPlot, err)
	}
	if err := plotMultiplexing(filepath.Join(dir, MultiplexingPlot), r); err != nil {
		return fmt.Errorf("plot %s: %w", MultiplexingPlot, err)
	}
	return nil
}

func errorsCell(s Stats) string {
	if len(s.Errors) == 0 {
		return "0"
	}
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(s.Errors)) {
		parts = append(parts, fmt.Sprintf("%s %d", code, s.Errors[code]))
	}
	return strings.Join(parts, ", ")
}

// WriteMarkdown writes the report as tables: the headline ratios first, then every figure.
func WriteMarkdown(w io.Writer, r Report) {
	m := r.Machine
	fmt.Fprintf(w, "# grpclab bench: %s platform, %s\n\n", r.Platform, r.Controller)
	fmt.Fprintf(w, "Absolute times are from %s: %d cores, %s, %s, %s. Started %s, took %s.\n",
		m.Hostname, m.Cores, m.CPU, m.Go, m.OS, r.Started.Format("2006-01-02 15:04:05 MST"), r.Elapsed)
	s := r.Settings
	fmt.Fprintf(w, "Every figure is the median of %d interleaved repetitions of %s, each after a %s warm-up; calls and errors are totals.\n\n",
		s.Repetitions, s.Duration, s.Warmup)

	for _, n := range r.Notes {
		fmt.Fprintf(w, "Note: %s\n\n", n)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "## Problems: these repetitions measured nothing and are left out of the medians\n\n")
		for _, p := range r.Problems {
			fmt.Fprintf(w, "- %s\n", p)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "## Each hop over direct (same run)\n\n")
	fmt.Fprintf(w, "| method | path | backend | concurrency | tool | p50 × direct | p99 × direct | added p50 (µs) | RPS direct ÷ hop |\n")
	fmt.Fprintf(w, "|---|---|---|---:|---|---:|---:|---:|---:|\n")
	for _, h := range r.Hops {
		if h.Conn != Shared {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %.2f | %.2f | %.0f | %.2f |\n",
			h.Method, h.Path, h.Backend, h.Concurrency, h.Tool, h.P50, h.P99, h.AddedP50, h.RPS)
	}

	fmt.Fprintf(w, "\n## A new connection per call over one shared HTTP/2 connection (same run)\n\n")
	fmt.Fprintf(w, "Measured with the closed-loop client (ghz opens its connections before a run and cannot dial per call). ")
	fmt.Fprintf(w, "The direct paths are h2c, so a new connection there costs TCP and HTTP/2 setup only; through the Gateway and the Ingress it adds a TLS handshake with the entry point.\n\n")
	fmt.Fprintf(w, "| method | path | backend | concurrency | p50 × shared | p99 × shared | added p50 (µs) | RPS shared ÷ per-call |\n")
	fmt.Fprintf(w, "|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, x := range r.Multiplexing {
		fmt.Fprintf(w, "| %s | %s | %s | %d | %.2f | %.2f | %.0f | %.2f |\n",
			x.Method, x.Path, x.Backend, x.Concurrency, x.P50, x.P99, x.AddedP50, x.RPS)
	}

	in := r.Instrument
	fmt.Fprintf(w, "\n## Instrument check\n\n")
	fmt.Fprintf(w, "ghz p50 %.0f µs, minimal grpc-go client p50 %.0f µs, direct SayHello to %s at concurrency 1: %.1f%% apart (tolerance %.0f%%). %s.\n",
		in.GHZP50, in.ClientP50, in.Backend, 100*in.Difference, 100*in.Tolerance, in.Verdict)

	fmt.Fprintf(w, "\n## Every result\n\n")
	fmt.Fprintf(w, "| method | path | backend | concurrency | connection | tool | p50 (µs) | p90 (µs) | p99 (µs) | p99.9 (µs) | max (µs) | RPS | calls | errors |\n")
	fmt.Fprintf(w, "|---|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, res := range r.Results {
		st := res.Median
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %d | %s |\n",
			res.Method, res.Path, res.Backend, res.Concurrency, res.Conn, res.Tool,
			st.P50, st.P90, st.P99, st.P999, st.Max, st.RPS, st.Calls, errorsCell(st))
	}

	first := true
	for _, res := range r.Results {
		for _, code := range slices.Sorted(maps.Keys(res.Median.Errors)) {
			if first {
				fmt.Fprintf(w, "\n## Errors (first message of each code)\n\n")
				first = false
			}
			fmt.Fprintf(w, "- %s: %d × %s: %s\n", res.Name(), res.Median.Errors[code], code, res.Median.ErrorSamples[code])
		}
	}

	fmt.Fprintf(w, "\n## Versions\n\n")
	for _, k := range slices.Sorted(maps.Keys(r.Versions)) {
		fmt.Fprintf(w, "- %s: %s\n", k, r.Versions[k])
	}
}
