package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/grpclab/grpclab/cluster"
)

// demoInput is where the interactive demo reads Enter from.
var demoInput io.Reader = os.Stdin

// demo brings a platform up and walks through the article one step at a time: what the
// step shows, the manifest excerpt that causes it (from the loaded objects), a grpcurl line
// to paste, the live answer and a verdict. It tears down what it brought up at the end, on
// error and on Ctrl-C.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grpclab demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		st        stateFlags
		pf        platformFlags
		list      = fs.Bool("list", false, "list the steps and exit")
		only      = fs.Int("step", 0, "run only step N")
		from      = fs.Int("from", 0, "start at step N")
		auto      = fs.Bool("auto", false, "run straight through, without waiting for Enter between steps")
		handoutTo = fs.String("handout", "", "write every step's explanation, YAML, command and real output to FILE (Markdown)")
		dirs      listFlag
	)
	st.register(fs)
	pf.register(fs)
	fs.Var(&dirs, "f", "an extra manifest directory applied on top of every step's manifests (repeatable)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))}
	}
	steps := demoSteps()
	if *list {
		for i, s := range steps {
			fmt.Fprintf(stdout, "%2d  %s\n", i+1, s.title)
		}
		return nil
	}
	first, last, err := stepRange(len(steps), *only, *from)
	if err != nil {
		return usageError{err}
	}
	// A handout that cannot be written fails now, before anything starts.
	var doc *handout
	if *handoutTo != "" {
		f, err := os.Create(*handoutTo)
		if err != nil {
			return usageError{fmt.Errorf("demo: --handout: %w", err)}
		}
		defer f.Close()
		doc = &handout{w: f}
	}

	l, err := bringUp(ctx, pf.lab(st.localDir(), st.dir, stdout, defaultVariants, dirs))
	if errors.Is(err, cluster.ErrAlreadyUp) {
		return fmt.Errorf("demo: grpclab is already up (%s): run `grpclab down` first, or give the demo its own --state-dir", st.envPath())
	}
	if err != nil {
		return err
	}
	d := &demoEnv{lab: l, p: l.Platform(), name: l.Name(), ep: l.Endpoints(), objs: l.Objects(), out: newScreen(stdout)}
	err = d.prepare(st.dir)
	if err == nil {
		err = d.walk(ctx, steps, first, last, *auto, doc)
	}
	err = errors.Join(err, d.close())
	return tearDown(ctx, l, st.dir, err)
}

// stepRange turns --step and --from into the 1-based steps to run.
func stepRange(n, only, from int) (first, last int, err error) {
	switch {
	case only != 0 && from != 0:
		return 0, 0, errors.New("demo: --step and --from: give one of them")
	case only != 0:
		if only < 1 || only > n {
			return 0, 0, fmt.Errorf("demo: --step %d: there are %d steps", only, n)
		}
		return only, only, nil
	case from != 0:
		if from < 1 || from > n {
			return 0, 0, fmt.Errorf("demo: --from %d: there are %d steps", from, n)
		}
		return from, n, nil
	}
	return 1, n, nil
}

// prepare writes what the printed commands need (the lab wrote the env file `grpclab status`
// reads).
func (d *demoEnv) prepare(stateDir string) error {
	var err error
	if d.protos, err = writeProtos(stateDir); err != nil {
		return err
	}
	step(d.out, "gateway %s, ingress %s (http %s)", d.ep.Gateway.Address, d.ep.Ingress.Address, d.ep.IngressHTTP.Address)
	step(d.out, "CA %s", d.ep.CAFile)
	step(d.out, ".proto sources %s", d.protos)
	return nil
}

// walk runs the steps first..last, waiting for Enter between them unless auto. Ctrl-C ends
// the walk (the caller tears down); a failed step does not stop the ones after it.
func (d *demoEnv) walk(ctx context.Context, steps []demoStep, first, last int, auto bool, doc *handout) error {
	if doc != nil {
		doc.header(d.name, time.Now())
	}
	enter := lines(demoInput)
	var failed []string
	for n := first; n <= last; n++ {
		s := steps[n-1]
		if n > first && !auto {
			d.out.prompt(fmt.Sprintf("press Enter for step %d/%d: %s (Ctrl-C stops and tears down)", n, len(steps), s.title))
			select {
			case <-ctx.Done():
			case _, ok := <-enter:
				if !ok {
					auto = true // no more input: run on
				}
			}
		}
		if ctx.Err() != nil {
			step(d.out, "interrupted before step %d: tearing down", n)
			return nil
		}
		r := d.run(ctx, n, len(steps), s)
		if doc != nil {
			doc.step(r)
		}
		if ctx.Err() != nil {
			step(d.out, "interrupted in step %d: tearing down", n)
			return nil
		}
		if r.result == stepFailed {
			failed = append(failed, fmt.Sprintf("%d (%s)", n, s.title))
		}
	}
	if !auto {
		// Time to paste the last step's commands while its platform still runs.
		d.out.prompt("press Enter to finish and tear down (Ctrl-C does the same)")
		select {
		case <-ctx.Done():
		case <-enter:
		}
	}
	if doc != nil {
		if err := doc.err; err != nil {
			return fmt.Errorf("demo: write handout: %w", err)
		}
	}
	ran := last - first + 1
	if len(failed) > 0 {
		return fmt.Errorf("demo: %d of %d steps failed: %s", len(failed), ran, strings.Join(failed, ", "))
	}
	step(d.out, "demo: %d of %d steps passed", ran, ran)
	return nil
}

// lines delivers each line read from r; the channel closes at EOF.
func lines(r io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// run prints one step as it goes and returns its record for the handout.
func (d *demoEnv) run(ctx context.Context, n, total int, s demoStep) *stepRecord {
	r := &stepRecord{n: n, title: s.title, intro: s.intro, out: d.out, result: stepPassed}
	d.out.title(fmt.Sprintf("step %d/%d: %s", n, total, s.title))
	d.out.text(s.intro)
	proves := ""
	if err := d.use(ctx, s.variants); err != nil {
		r.fail("apply: %v", err)
	} else {
		proves = s.run(ctx, d, r)
	}
	if ctx.Err() != nil {
		// What failed after Ctrl-C failed because of it: no verdict on the manifests.
		r.failures = nil
		r.skip("interrupted (Ctrl-C)")
	}
	r.verdict(proves)
	return r
}

// stepResult is a step's verdict.
type stepResult int

const (
	stepPassed stepResult = iota
	stepFailed
	stepSkipped
)

// stepRecord is what a step printed, kept for the handout: blocks in order.
type stepRecord struct {
	n            int
	title, intro string
	blocks       []block
	out          *screen
	result       stepResult
	failures     []string
	skipReason   string
	line         string // the verdict line
}

// block is one part of a step's output: kind is "yaml", "sh", "text" (live answers) or
// "note" (prose).
type block struct {
	kind, caption string
	lines         []string
}

func (r *stepRecord) add(kind, caption string, lines ...string) {
	switch kind {
	case "table":
		kind = "text" // preformatted: never wrapped
	case "text":
		var wrapped []string
		for _, l := range lines {
			wrapped = append(wrapped, strings.Split(strings.ReplaceAll(wrap(l, maxColumns-2), "\n", "\n  "), "\n")...)
		}
		lines = wrapped
	}
	if n := len(r.blocks); n > 0 && r.blocks[n-1].kind == kind && caption == "" {
		switch kind {
		case "sh":
			r.blocks[n-1].lines = append(append(r.blocks[n-1].lines, ""), lines...)
			return
		case "text":
			r.blocks[n-1].lines = append(r.blocks[n-1].lines, lines...)
			return
		}
	}
	r.blocks = append(r.blocks, block{kind: kind, caption: caption, lines: lines})
}

// yaml prints a manifest excerpt, captioned with where it came from.
func (r *stepRecord) yaml(caption, text string) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	r.out.section(caption + ":")
	r.out.code(lines)
	r.add("yaml", caption, lines...)
}

// command prints a command line to paste; consecutive commands share one heading.
func (r *stepRecord) command(c shellCommand) {
	lines := c.lines("", maxColumns-2) // the screen indents code by two
	if n := len(r.blocks); n > 0 && r.blocks[n-1].kind == "sh" {
		r.out.println("")
	} else {
		r.out.section("run it yourself:")
	}
	r.out.code(lines)
	r.add("sh", "", lines...)
}

// live heads the answers of the live calls once.
func (r *stepRecord) live() {
	if n := len(r.blocks); n == 0 || r.blocks[n-1].kind != "text" {
		r.out.section("live:")
	}
}

// answer prints one line of what the live call returned.
func (r *stepRecord) answer(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	r.live()
	r.out.answer(line)
	r.add("text", "", line)
}

// table prints preformatted lines (a truth table) as they are.
func (r *stepRecord) table(lines []string) {
	r.live()
	r.out.code(lines)
	r.add("table", "", lines...)
}

// note prints a line of progress or explanation inside the step.
func (r *stepRecord) note(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	r.out.text(line)
	r.add("note", "", line)
}

// check records a failure when ok is false and prints the answer line either way.
func (r *stepRecord) check(ok bool, format string, args ...any) bool {
	line := fmt.Sprintf(format, args...)
	if !ok {
		r.failures = append(r.failures, line)
		line += "   <- not as expected"
	}
	r.live()
	r.out.answer(line)
	r.add("text", "", line)
	return ok
}

// fail records a failure that has no answer line of its own.
func (r *stepRecord) fail(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	r.failures = append(r.failures, line)
	r.live()
	r.out.answer("error: " + line)
	r.add("text", "", "error: "+line)
}

// skip marks the step skipped, with the reason: neither passed nor failed.
func (r *stepRecord) skip(format string, args ...any) {
	r.skipReason = fmt.Sprintf(format, args...)
}

// verdict ends the step with one line: ✓ and what it proves, ✗ and what went wrong, or ○
// and why it was skipped.
func (r *stepRecord) verdict(proves string) {
	switch {
	case len(r.failures) > 0:
		r.result = stepFailed
		r.line = fmt.Sprintf("✗ not shown: %s", r.failures[0])
		if len(r.failures) > 1 {
			r.line += fmt.Sprintf(" (and %d more)", len(r.failures)-1)
		}
	case r.skipReason != "":
		r.result = stepSkipped
		r.line = "○ skipped: " + r.skipReason
	default:
		r.line = "✓ " + proves
	}
	// One line, in bold in the handout too (4 columns of **): a long failure is cut, its
	// whole text is in the answers above.
	if rs := []rune(r.line); len(rs) > maxColumns-4 {
		r.line = string(rs[:maxColumns-5]) + "…"
	}
	r.out.verdict(r.result, r.line)
}

// handout writes the Markdown record of a run.
type handout struct {
	w   io.Writer
	err error
}

func (h *handout) printf(format string, args ...any) {
	if h.err == nil {
		_, h.err = fmt.Fprintf(h.w, format, args...)
	}
}

func (h *handout) header(platform string, at time.Time) {
	h.printf("# grpclab workshop: gRPC on Kubernetes, step by step\n\n")
	h.printf("Recorded by `grpclab demo` on the %s platform, %s. Every command below\n", platform, at.UTC().Format("2006-01-02 15:04 MST"))
	h.printf("was printed by this run and works when pasted while the demo waits at its step\n")
	h.printf("(addresses and paths are this run's); every answer is the real output of this run.\n\n")
}

func (h *handout) step(r *stepRecord) {
	h.printf("## %d. %s\n\n%s\n\n", r.n, r.title, wrap(r.intro, maxColumns))
	for _, b := range r.blocks {
		switch b.kind {
		case "note":
			h.printf("%s\n\n", wrap(strings.Join(b.lines, "\n"), maxColumns))
		case "yaml":
			h.printf("%s:\n\n```yaml\n%s\n```\n\n", b.caption, strings.Join(b.lines, "\n"))
		case "sh":
			h.printf("```sh\n%s\n```\n\n", strings.Join(b.lines, "\n"))
		case "text":
			h.printf("```text\n%s\n```\n\n", strings.Join(b.lines, "\n"))
		}
	}
	h.printf("**%s**\n\n", r.line)
}

// wrap breaks text at spaces so that no line is longer than width (a longer word stays whole).
func wrap(text string, width int) string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			switch {
			case line == "":
				line = w
			case len([]rune(line))+1+len([]rune(w)) > width:
				out = append(out, line)
				line = w
			default:
				line += " " + w
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// itoa is strconv.Itoa for int32 ports.
func itoa(n int32) string { return strconv.Itoa(int(n)) }
