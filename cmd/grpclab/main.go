// Command grpclab brings a platform up with the project's manifests, tears it down and
// reports on it; workshops and scripts drive it, `make e2e` runs the suites through it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/grpclab/grpclab/cmd/internal/cmdmain"
)

// main reports an error as it reads: a list of manifest problems stays one to a line.
func main() { cmdmain.Main[usageError]("grpclab", run, cmdmain.AsIs) }

// usageError is bad input on the command line or in a manifest: exit code 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

const usage = `usage: grpclab <command> [flags]

commands:
  up       bring a platform up with the manifests and write .grpclab/env.json
  down     stop and remove everything up made
  status   show what runs and where the entry points are
  bench    measure each hop and HTTP/2 multiplexing with ghz; report in _artifacts/bench
  compare  put scenario runs side by side, from DIR/results.json of each, in Markdown
  migrate  convert ingress-nginx gRPC Ingresses (-f DIR) into Gateway API YAML
  demo     workshop mode: bring a platform up and walk through the article step by step

run 'grpclab <command> -h' for its flags`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usageError{errors.New("no command")}
	}
	switch args[0] {
	case "up":
		return up(ctx, args[1:], stdout, stderr)
	case "down":
		return down(ctx, args[1:], stdout, stderr)
	case "status":
		return status(ctx, args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "compare":
		return compare(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrateIngresses(ctx, args[1:], stdout, stderr)
	case "demo":
		return demo(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", args[0])}
	}
}
