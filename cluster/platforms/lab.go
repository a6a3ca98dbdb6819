package platforms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/manifests"
)

// LabConfig says what a Lab brings up.
type LabConfig struct {
	Options
	// Platform is kind or local; "" reads $PLATFORM, and with that unset Choose picks.
	// Options.Controller "" likewise reads $CONTROLLER.
	Platform string
	// Variants are the manifest variants applied (default manifests.DefaultVariants()), and
	// Dirs extra manifest directories on top of them.
	Variants []string
	Dirs     []string
	// EnvDir, when set, receives cluster.EnvFile once the entry points answer; Down removes it.
	EnvDir string
	// Progress receives one line per step, with its duration; nil is silent.
	Progress io.Writer
}

// Lab is one bring-up: the platform chosen and built, up, the manifests applied, the entry
// points answering and the env file written; and its teardown, which leaves nothing running.
// `grpclab up`, `bench` and `demo` and the scenarios' TestMain all bring their platform up
// through it.
type Lab struct {
	cfg       LabConfig
	name, why string
	objs      []manifests.Object // what is applied (once Up has applied it)
	p         cluster.Platform   // set once Up may have started something; nil after Down
	ep        cluster.Endpoints
}

// downTimeout bounds a teardown, which runs also after the caller's context was cancelled.
const downTimeout = 5 * time.Minute

// NewLab loads the manifests and chooses the platform, printing one line for each. Nothing
// runs yet: an error here is bad input (a manifest, a platform name), and nothing needs
// taking down.
func NewLab(ctx context.Context, cfg LabConfig) (*Lab, error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if len(cfg.Variants) == 0 {
		cfg.Variants = manifests.DefaultVariants()
	}
	if cfg.Platform == "" {
		cfg.Platform = os.Getenv("PLATFORM")
	}
	if cfg.Controller == "" {
		cfg.Controller = os.Getenv("CONTROLLER")
	}
	l := &Lab{cfg: cfg}
	what := "load manifests " + strings.Join(append(append([]string(nil), cfg.Variants...), cfg.Dirs...), " + ")
	err := l.timed(what, func() error {
		var err error
		l.objs, err = manifests.Load(cfg.Variants, cfg.Dirs...)
		return err
	})
	if err != nil {
		return nil, err
	}
	if l.name, l.why, err = Choose(ctx, cfg.Platform, cfg.Controller); err != nil {
		return nil, err
	}
	l.step("platform %s (%s)", l.name, l.why)
	return l, nil
}

// Name is the chosen platform's name.
func (l *Lab) Name() string { return l.name }

// Platform is the platform once Up has returned nil.
func (l *Lab) Platform() cluster.Platform { return l.p }

// Endpoints are the platform's entry points, with the platform's name, once Up has returned.
func (l *Lab) Endpoints() cluster.Endpoints { return l.ep }

// Up builds the platform and brings it up, applies the manifests, waits until every entry
// point accepts connections and writes the env file. On failure, also when ctx is cancelled
// (Ctrl-C), it takes down whatever it started before it returns. When a platform already runs
// from the same state it returns an error wrapping cluster.ErrAlreadyUp and touches nothing.
func (l *Lab) Up(ctx context.Context) error {
	o := l.cfg.Options
	if l.name == Kind && o.Logger == nil {
		// A cluster takes minutes to come up: one line per step, with its duration.
		o.Logger = cluster.ProgressLogger(l.cfg.Progress)
	}
	p, err := New(ctx, l.name, o)
	if err != nil {
		return err
	}
	if err := l.timed(l.name+" platform up", func() error { return p.Up(ctx) }); err != nil {
		if errors.Is(err, cluster.ErrAlreadyUp) {
			return err // another bring-up owns what runs
		}
		l.p = p
		return l.fail(ctx, err)
	}
	l.p = p
	if err := l.timed(fmt.Sprintf("apply %d objects", len(l.objs)), func() error { return p.Apply(ctx, l.objs) }); err != nil {
		return l.fail(ctx, err)
	}
	ep := p.Endpoints()
	ep.Platform = l.name
	if err := l.timed("entry points answer", func() error { return answer(ctx, ep) }); err != nil {
		return l.fail(ctx, err)
	}
	if l.cfg.EnvDir != "" {
		if err := cluster.WriteEnv(l.cfg.EnvDir, ep); err != nil {
			return l.fail(ctx, err)
		}
	}
	l.ep = ep
	return nil
}

// fail takes the platform down after a failed step and returns both errors.
// Objects are the loaded objects that are applied now: the configured variants and Dirs,
// with what the last Use added.
func (l *Lab) Objects() []manifests.Object { return l.objs }

// Use switches what is applied to the configured variants with extra ones on top (an object
// of a later variant replaces the same object of an earlier one), and the Dirs over them. It
// applies the new set first, so that an object both sets define is replaced, never absent;
// then it deletes the objects that only the previous set defined, because Apply replaces
// objects and never removes them. Use() puts the configured variants back.
func (l *Lab) Use(ctx context.Context, extra ...string) ([]manifests.Object, error) {
	if l.p == nil {
		return nil, errors.New("apply variants: the platform is not up")
	}
	variants := append(slices.Clone(l.cfg.Variants), extra...)
	objs, err := manifests.Load(variants, l.cfg.Dirs...)
	if err != nil {
		return nil, err
	}
	what := strings.Join(append(variants, l.cfg.Dirs...), " + ")
	if err := l.timed("apply "+what, func() error { return l.p.Apply(ctx, objs) }); err != nil {
		return nil, err
	}
	gone := onlyIn(l.objs, objs)
	l.objs = objs
	if len(gone) > 0 {
		err := l.timed(fmt.Sprintf("delete %d objects that %s does not define", len(gone), what), func() error { return l.p.Delete(ctx, gone) })
		if err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// onlyIn returns the objects of before that after has none of, by kind, namespace and name.
func onlyIn(before, after []manifests.Object) []manifests.Object {
	type key struct{ kind, namespace, name string }
	keyOf := func(o manifests.Object) key {
		return key{o.GetObjectKind().GroupVersionKind().GroupKind().String(), o.GetNamespace(), o.GetName()}
	}
	kept := map[key]bool{}
	for _, o := range after {
		kept[keyOf(o)] = true
	}
	var only []manifests.Object
	for _, o := range before {
		if !kept[keyOf(o)] {
			only = append(only, o)
		}
	}
	return only
}

func (l *Lab) fail(ctx context.Context, cause error) error {
	if err := l.Down(ctx); err != nil {
		return errors.Join(cause, fmt.Errorf("clean up: %w", err))
	}
	return cause
}

// Down takes the platform down and removes the env file; a Lab that started nothing, or is
// down already, has nothing to do. It runs with a bounded context of its own, because the
// caller's is usually the one Ctrl-C cancelled. When the platform does not come down, the
// env file stays, so that `grpclab down` can try again.
func (l *Lab) Down(ctx context.Context) error {
	p := l.p
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), downTimeout)
	defer cancel()
	if err := l.timed(p.Name()+" platform down", func() error { return p.Down(ctx) }); err != nil {
		return err
	}
	l.p = nil
	if l.cfg.EnvDir == "" {
		return nil
	}
	if err := os.Remove(filepath.Join(l.cfg.EnvDir, cluster.EnvFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", cluster.EnvFile, err)
	}
	return nil
}

func (l *Lab) step(format string, args ...any) {
	fmt.Fprintf(l.cfg.Progress, "==> "+format+"\n", args...)
}

// timed runs fn and prints one line with its duration; a failure's line says so, and the
// returned error says what failed.
func (l *Lab) timed(what string, fn func() error) error {
	start := time.Now()
	err := fn()
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		l.step("%s: failed after %s", what, took)
		return fmt.Errorf("%s: %w", what, err)
	}
	l.step("%s (%s)", what, took)
	return nil
}

// answerTimeout bounds the wait for the entry points after Apply has returned.
const answerTimeout = 30 * time.Second

// answer waits until every entry point accepts connections.
func answer(ctx context.Context, ep cluster.Endpoints) error {
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
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
				return fmt.Errorf("%s does not answer within %s: %w", addr, answerTimeout, err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}
