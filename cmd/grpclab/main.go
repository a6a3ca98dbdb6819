// Command grpclab brings a platform up with the project's manifests, tears it down and
// reports on it; workshops and scripts drive it, `make e2e` runs the suites through it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/platforms"
	"github.com/grpclab/grpclab/cmd/internal/cmdmain"
)

// main reports an error as it reads: a list of manifest problems stays one to a line.
func main() { cmdmain.Main[usageError]("grpclab", run, cmdmain.AsIs) }

// usageError is bad input on the command line or in a manifest: exit code 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// command is one grpclab command: its name, its line in the usage text, and what it runs with
// the arguments after its name.
type command struct {
	name, summary string
	run           cmdmain.Run
}

// commands are grpclab's commands, in the order the usage text lists them; run dispatches
// on the same entries, so a new command is one more line here.
var commands = []command{
	{"up", "bring a platform up with the manifests and write .grpclab/env.json", up},
	{"down", "stop and remove everything up made", down},
	{"status", "show what runs and where the entry points are", status},
	{"bench", "measure each hop and HTTP/2 multiplexing with ghz; report in _artifacts/bench", bench},
	{"compare", "put scenario runs side by side, from DIR/results.json of each, in Markdown", compare},
	{"migrate", "convert ingress-nginx gRPC Ingresses (-f DIR) into Gateway API YAML", migrateIngresses},
	{"demo", "workshop mode: bring a platform up and walk through the article step by step", demo},
}

// down and status work on the platform an earlier up saved.
var (
	down   = onSaved("down", takeDown)
	status = onSaved("status", showStatus)
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage())
		return usageError{errors.New("no command")}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage())
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			if errors.Is(err, flag.ErrHelp) {
				return nil // -h: the flag package printed the command's flags
			}
			return err
		}
	}
	fmt.Fprintln(stderr, usage())
	return usageError{fmt.Errorf("unknown command %q", args[0])}
}

// usage lists the commands with their summaries, the names in one column.
func usage() string {
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	var b strings.Builder
	b.WriteString("usage: grpclab <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.name, c.summary)
	}
	b.WriteString("\nrun 'grpclab <command> -h' for its flags")
	return b.String()
}

// onSaved makes a command of fn, which works on the platform an earlier up saved: the command
// parses the state flags and opens that platform (see saved) before fn runs.
func onSaved(name string, fn func(ctx context.Context, st stateFlags, p cluster.Platform, stdout io.Writer) error) cmdmain.Run {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		st, p, err := saved(name, args, stderr)
		if err != nil {
			return err
		}
		return fn(ctx, st, p, stdout)
	}
}

// saved parses a command's state flags and builds, to inspect or take down, the platform an
// earlier up saved in that state. The env file says which platform that is; without one only
// local state can be left over (a crash before the env file was written, or nothing at all).
func saved(command string, args []string, stderr io.Writer) (stateFlags, cluster.Platform, error) {
	st, err := parseStateFlags(command, args, stderr)
	if err != nil {
		return st, nil, err
	}
	name := platforms.Local
	if ep, err := cluster.ReadEnv(st.dir); err == nil && ep.Platform != "" {
		name = ep.Platform
	}
	p, err := platforms.Open(name, platforms.Options{StateDir: st.localDir()})
	if err != nil {
		return st, nil, fmt.Errorf("%s: %w", st.envPath(), err)
	}
	return st, p, nil
}
