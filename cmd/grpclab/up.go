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

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/platforms"
	"github.com/grpclab/grpclab/manifests"
)

// defaultVariants are applied by `up` unless --variant replaces them, and are what every
// step of the demo starts from.
var defaultVariants = manifests.DefaultVariants()

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// platformFlags choose and configure the platform of the commands that bring one up.
type platformFlags struct{ platform, controller, server string }

func (p *platformFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.platform, "platform", "", "kind or local (default: $PLATFORM, else kind when a Docker daemon answers, else local)")
	fs.StringVar(&p.controller, "controller", "", "the kind platform's controller (default: $CONTROLLER, else envoy-gateway where images are pulled, traefik on images built here)")
	fs.StringVar(&p.server, "server", "", "grpclab-server binary for the local platform (default: next to grpclab, else PATH)")
}

// lab configures the bring-up of a command: the platform's state in stateDir, the env file in
// envDir ("" for none).
func (p *platformFlags) lab(stateDir, envDir string, stdout io.Writer, variants, dirs []string) platforms.LabConfig {
	return platforms.LabConfig{
		Options: platforms.Options{
			StateDir: stateDir, ServerBinary: p.server, Controller: p.controller,
			RepoRoot: ".", Artifacts: "_artifacts",
		},
		Platform: p.platform, Variants: variants, Dirs: dirs, EnvDir: envDir, Progress: stdout,
	}
}

// stateFlags are the flags every command shares.
type stateFlags struct{ dir string }

func (s *stateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dir, "state-dir", ".grpclab", "where the platform keeps its state and env.json")
}

// parseStateFlags parses the arguments of a command that takes only --state-dir.
func parseStateFlags(command string, args []string, stderr io.Writer) (stateFlags, error) {
	fs := flag.NewFlagSet("grpclab "+command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var st stateFlags
	st.register(fs)
	if err := fs.Parse(args); err != nil {
		return st, usageError{err}
	}
	if fs.NArg() > 0 {
		return st, usageError{fmt.Errorf("%s: unexpected argument %q", command, fs.Arg(0))}
	}
	return st, nil
}

func (s *stateFlags) localDir() string { return filepath.Join(s.dir, "local") }

func (s *stateFlags) envPath() string { return filepath.Join(s.dir, cluster.EnvFile) }

func step(w io.Writer, format string, args ...any) { fmt.Fprintf(w, "==> "+format+"\n", args...) }

// timedStep runs fn and prints one line with its duration.
func timedStep(w io.Writer, what string, fn func() error) error {
	start := time.Now()
	if err := fn(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	step(w, "%s (%s)", what, time.Since(start).Round(time.Millisecond))
	return nil
}

func up(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grpclab up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		st       stateFlags
		detach   = fs.Bool("detach", false, "return once the platform is up instead of waiting for Ctrl-C")
		pf       platformFlags
		dirs     listFlag
		variants listFlag
	)
	st.register(fs)
	pf.register(fs)
	fs.Var(&dirs, "f", "an extra manifest directory to apply (repeatable)")
	fs.Var(&variants, "variant", fmt.Sprintf("a manifest variant to apply, repeatable (default %s)", strings.Join(defaultVariants, ", ")))
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("up: unexpected argument %q", fs.Arg(0))}
	}
	if len(variants) == 0 {
		variants = defaultVariants
	}

	l, err := bringUp(ctx, pf.lab(st.localDir(), st.dir, stdout, variants, dirs))
	if errors.Is(err, cluster.ErrAlreadyUp) {
		fmt.Fprintf(stdout, "grpclab is already up (%s); `grpclab status` shows it, `grpclab down` stops it\n", st.envPath())
		return nil
	}
	if err != nil {
		return err
	}
	protos, err := writeProtos(st.dir)
	if err != nil {
		return tearDown(ctx, l, st.dir, err)
	}
	if err := printEndpoints(stdout, l.Endpoints(), st.envPath(), protos); err != nil {
		return tearDown(ctx, l, st.dir, err)
	}
	if *detach {
		return nil
	}
	fmt.Fprintln(stdout, "press Ctrl-C to stop")
	<-ctx.Done()
	return tearDown(ctx, l, st.dir, nil)
}

// bringUp is the bring-up of up, bench and demo: bad input (a manifest, a platform name) is a
// usage error, and nothing has started. When Up fails the lab has taken itself down, and the
// state directory goes when nothing else is in it; an error that wraps cluster.ErrAlreadyUp
// means another bring-up runs from the same state, untouched.
func bringUp(ctx context.Context, cfg platforms.LabConfig) (*platforms.Lab, error) {
	l, err := platforms.NewLab(ctx, cfg)
	if err != nil {
		return nil, usageError{err}
	}
	if err := l.Up(ctx); err != nil {
		if !errors.Is(err, cluster.ErrAlreadyUp) && cfg.EnvDir != "" {
			_ = os.Remove(cfg.EnvDir) // only when empty
		}
		return nil, err
	}
	return l, nil
}

// tearDown takes the lab down after a failure, Ctrl-C or the end of a command, removes what
// the command wrote beside it, and the state directory when nothing else is in it.
func tearDown(ctx context.Context, l *platforms.Lab, dir string, cause error) error {
	if err := l.Down(ctx); err != nil {
		return errors.Join(cause, fmt.Errorf("clean up: %w", err))
	}
	if err := removeState(dir); err != nil {
		return errors.Join(cause, fmt.Errorf("clean up: %w", err))
	}
	_ = os.Remove(dir) // only when empty
	return cause
}

// removeState removes what up writes beside the platform's own state: the env file and the
// .proto sources.
func removeState(dir string) error {
	if err := os.Remove(filepath.Join(dir, cluster.EnvFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.RemoveAll(filepath.Join(dir, protoDir))
}

// printEndpoints says where everything is, and a grpcurl line that works when pasted.
func printEndpoints(w io.Writer, ep cluster.Endpoints, envPath, importPath string) error {
	hosts, err := defaultHosts()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "gateway  %s   (%s)\n", ep.Gateway.Address, strings.Join(hosts.gateway, ", "))
	fmt.Fprintf(w, "ingress  %s   (%s; http %s)\n", ep.Ingress.Address, strings.Join(hosts.ingress, ", "), ep.IngressHTTP.Address)
	fmt.Fprintf(w, "CA       %s\n", ep.CAFile)
	fmt.Fprintf(w, "env      %s\n", envPath)
	fmt.Fprintln(w, "try:")
	for _, l := range tryLogin(ep, hosts.login, importPath).lines("  ", maxColumns) {
		fmt.Fprintln(w, l)
	}
	return nil
}
