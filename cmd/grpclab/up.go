package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/local"
	"github.com/grpclab/grpclab/cluster/platforms"
	"github.com/grpclab/grpclab/manifests"
)

// defaultVariants are applied by `up` unless --variant replaces them.
var defaultVariants = manifests.DefaultVariants()

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// platformFlags choose and configure the platform of the commands that bring one up.
type platformFlags struct{ platform, controller, server string }

func (p *platformFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.platform, "platform", "", "kind or local (default: kind when a Docker daemon answers, else local)")
	fs.StringVar(&p.controller, "controller", "", "the kind platform's controller (default: envoy-gateway where images are pulled, traefik on images built here)")
	fs.StringVar(&p.server, "server", "", "grpclab-server binary for the local platform (default: next to grpclab, else PATH)")
}

// options are the platform options for a state directory of the local platform.
func (p *platformFlags) options(stateDir string) platforms.Options {
	return platforms.Options{
		StateDir: stateDir, ServerBinary: p.server, Controller: p.controller,
		RepoRoot: ".", Artifacts: "_artifacts",
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

	p, name, err := bringUp(ctx, stdout, pf.platform, pf.options(st.localDir()), variants, dirs, st.dir)
	if errors.Is(err, local.ErrAlreadyUp) {
		fmt.Fprintf(stdout, "grpclab is already up (%s); `grpclab status` shows it, `grpclab down` stops it\n", filepath.Join(st.dir, cluster.EnvFile))
		return nil
	}
	if err != nil {
		return err
	}
	ep := p.Endpoints()
	ep.Platform = name
	if err := cluster.WriteEnv(st.dir, ep); err != nil {
		return cleanUp(p, st.dir, err)
	}
	protos, err := writeProtos(st.dir)
	if err != nil {
		return cleanUp(p, st.dir, err)
	}
	if err := printEndpoints(stdout, ep, filepath.Join(st.dir, cluster.EnvFile), protos); err != nil {
		return cleanUp(p, st.dir, err)
	}
	if *detach {
		return nil
	}
	fmt.Fprintln(stdout, "press Ctrl-C to stop")
	<-ctx.Done()
	return cleanUp(p, st.dir, nil)
}

// bringUp is the sequence `up` and `bench` share: load the manifests (bad input stops here,
// before anything starts), choose and build the platform, bring it up, apply, and wait for
// the entry points. On failure the platform is down again and envDir holds no env file;
// when a platform already runs from the same state, ErrAlreadyUp comes back and nothing is
// touched.
func bringUp(ctx context.Context, stdout io.Writer, requested string, o platforms.Options, variants, dirs []string, envDir string) (cluster.Platform, string, error) {
	var objs []manifests.Object
	err := timedStep(stdout, "load manifests "+strings.Join(variants, " + ")+extraDirs(dirs), func() error {
		var err error
		objs, err = manifests.Load(variants, dirs...)
		return err
	})
	if err != nil {
		return nil, "", usageError{err}
	}
	name, why, err := platforms.Choose(ctx, requested, o.Controller)
	if err != nil {
		return nil, "", usageError{err}
	}
	step(stdout, "platform %s (%s)", name, why)
	if name == platforms.Kind && o.Logger == nil {
		// A cluster takes minutes to come up: one line per step, with its duration.
		o.Logger = cluster.ProgressLogger(stdout)
	}
	p, err := platforms.New(ctx, name, o)
	if err != nil {
		return nil, "", err
	}
	if err := timedStep(stdout, name+" platform up", func() error { return p.Up(ctx) }); err != nil {
		if errors.Is(err, local.ErrAlreadyUp) {
			return nil, "", err
		}
		return nil, "", cleanUp(p, envDir, err)
	}
	if err := timedStep(stdout, fmt.Sprintf("apply %d objects", len(objs)), func() error { return p.Apply(ctx, objs) }); err != nil {
		return nil, "", cleanUp(p, envDir, err)
	}
	ep := p.Endpoints()
	if err := timedStep(stdout, "entry points answer", func() error { return answer(ctx, ep) }); err != nil {
		return nil, "", cleanUp(p, envDir, err)
	}
	return p, name, nil
}

func extraDirs(dirs []string) string {
	if len(dirs) == 0 {
		return ""
	}
	return " + " + strings.Join(dirs, " + ")
}

// cleanUp tears the platform down after a failure or Ctrl-C, with a context of its own
// because the command's is usually the one that was cancelled, and removes the env file.
func cleanUp(p interface{ Down(context.Context) error }, dir string, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Down(ctx); err != nil {
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

// answer waits until every entry point accepts connections.
func answer(ctx context.Context, ep cluster.Endpoints) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, addr := range []string{ep.Gateway.Address, ep.Ingress.Address, ep.IngressHTTP.Address} {
		if addr == "" {
			continue
		}
		for {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				conn.Close()
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("%s does not answer: %w", addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
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
