package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/platforms"
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/scenarios/call"
	"github.com/grpclab/grpclab/scenarios/report"
)

// defaultVariants is what every scenario starts from: the production Gateway API routes
// (no reflection) and the article's Ingress. Scenarios that need another variant apply it
// in their setup and put the defaults back in their teardown.
var defaultVariants = manifests.DefaultVariants()

// Lab is the platform under test and how to reach it.
type Lab struct {
	// up brought the platform up and takes it down.
	up       *platforms.Lab
	platform cluster.Platform
	ep       cluster.Endpoints
	timeouts Timeouts
	tmp      string
	// serverBin is the grpclab-server the local platform and the isolation data plane run.
	serverBin string
}

// Timeouts is where eventual consistency is handled, in one place: a case passes only after
// Consecutive successes in a row, within Max; it retries every Interval after a failure.
type Timeouts struct {
	Consecutive int
	Max         time.Duration
	Interval    time.Duration
	// Call bounds one attempt.
	Call time.Duration
}

// timeoutsFor returns the documented defaults: a real cluster converges in seconds after an
// apply (controllers reconcile, data planes reload); the local platform applies synchronously.
func timeoutsFor(platform string) Timeouts {
	if platform == platforms.Kind {
		return Timeouts{Consecutive: 5, Max: 90 * time.Second, Interval: time.Second, Call: 10 * time.Second}
	}
	return Timeouts{Consecutive: 3, Max: 10 * time.Second, Interval: 100 * time.Millisecond, Call: 5 * time.Second}
}

// newLab brings the platform up with the default variants: PLATFORM and CONTROLLER choose it.
func newLab(ctx context.Context) (*Lab, error) {
	tmp, err := os.MkdirTemp("", "grpclab-e2e-")
	if err != nil {
		return nil, err
	}
	l := &Lab{tmp: tmp}
	if l.serverBin, err = serverBinary(tmp); err != nil {
		return l, err
	}
	l.up, err = platforms.NewLab(ctx, platforms.LabConfig{
		Options: platforms.Options{
			StateDir:     filepath.Join(tmp, "state"),
			ServerBinary: l.serverBin,
			RepoRoot:     "..",
			Artifacts:    artifactsDir(),
		},
		Variants: defaultVariants,
		Progress: os.Stdout,
	})
	if err != nil {
		return l, err
	}
	if err := l.up.Up(ctx); err != nil {
		return l, err
	}
	l.platform, l.ep, l.timeouts = l.up.Platform(), l.up.Endpoints(), timeoutsFor(l.up.Name())
	progress("entry points: gateway %s, ingress %s (http %s)", l.ep.Gateway.Address, l.ep.Ingress.Address, l.ep.IngressHTTP.Address)
	return l, nil
}

// serverBinary is $GRPCLAB_SERVER (hack/e2e.sh builds it), else a fresh build.
func serverBinary(tmp string) (string, error) {
	if bin := os.Getenv("GRPCLAB_SERVER"); bin != "" {
		return bin, nil
	}
	bin := filepath.Join(tmp, "grpclab-server")
	err := timed("build grpclab-server", func() error {
		out, err := exec.Command("go", "build", "-o", bin, "../cmd/grpclab-server").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
	return bin, err
}

// close takes the platform down (on kind, KEEP_CLUSTER=1 keeps the cluster) and removes the
// run's files.
func (l *Lab) close(ctx context.Context) error {
	var errs []error
	if l.up != nil {
		errs = append(errs, l.up.Down(ctx))
	}
	errs = append(errs, os.RemoveAll(l.tmp))
	return errors.Join(errs...)
}

// use applies the default variants with extra ones on top, and deletes what only the
// variants applied before defined (platforms.Lab.Use); use(ctx) puts the defaults back.
func (l *Lab) use(ctx context.Context, extra ...string) error {
	_, err := l.up.Use(ctx, extra...)
	return err
}

// withVariants is a feature setup that applies extra variants; resetVariants its teardown.
func withVariants(extra ...string) features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		if err := lab.use(ctx, extra...); err != nil {
			t.Fatalf("setup: %v", err)
		}
		return ctx
	}
}

func resetVariants(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	if err := lab.use(ctx); err != nil {
		t.Errorf("teardown: %v", err)
	}
	return ctx
}

// entry names an entry point of the platform.
type entry string

const (
	gateway     entry = "gateway"
	ingress     entry = "ingress"
	ingressHTTP entry = "ingress-http"
)

func (l *Lab) target(e entry, host string) call.Target {
	t := call.Target{Host: host, CAFile: l.ep.CAFile}
	switch e {
	case gateway:
		t.Address = l.ep.Gateway.Address
	case ingress:
		t.Address = l.ep.Ingress.Address
	case ingressHTTP:
		t.Address, t.Plaintext = l.ep.IngressHTTP.Address, true
	}
	return t
}

// dial connects to target; a case whose entry point the platform does not serve (a
// Gateway API controller serves no Ingress, ingress-nginx no Gateway) is skipped, visibly.
func (l *Lab) dial(t *testing.T, target call.Target, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	l.need(t, target)
	conn, err := call.Dial(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// eventually passes once check succeeds Consecutive times in a row within Max. It fails the
// case with the last error otherwise, and notes that error for the report.
func (l *Lab) eventually(ctx context.Context, t *testing.T, note func(string, ...any), check func(ctx context.Context) error) {
	t.Helper()
	if err := l.until(ctx, check); err != nil {
		if last := errors.Unwrap(err); last != nil {
			note("%v", last)
		}
		t.Fatal(err)
	}
}

// until is eventually for callers that compare before they fail: it returns nil once check
// succeeded Consecutive times in a row, else an error that wraps check's last error.
func (l *Lab) until(ctx context.Context, check func(ctx context.Context) error) error {
	to := l.timeouts
	deadline := time.Now().Add(to.Max)
	for streak := 0; streak < to.Consecutive; {
		cctx, cancel := context.WithTimeout(ctx, to.Call)
		err := check(cctx)
		cancel()
		if err == nil {
			streak++
			continue
		}
		streak = 0
		if time.Now().After(deadline) {
			return fmt.Errorf("not %d consecutive successes within %s; last: %w", to.Consecutive, to.Max, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cancelled: %v; last: %w", ctx.Err(), err)
		case <-time.After(to.Interval):
		}
	}
	return nil
}

// need skips the case when the platform does not serve target's entry point.
func (l *Lab) need(t *testing.T, target call.Target) call.Target {
	t.Helper()
	if target.Address == "" {
		skip(t, fmt.Sprintf("the %s platform serves no entry point for %s here", l.platform.Name(), target.Host))
	}
	return target
}

// trackers finds the report entry of a running case by its test name.
var trackers sync.Map // t.Name() → *report.Tracked

// skip skips the case with reason, and puts the reason in the report.
func skip(t *testing.T, reason string) {
	t.Helper()
	if tr, ok := trackers.Load(t.Name()); ok {
		tr.(*report.Tracked).Note("%s", reason)
	}
	t.Skip(reason)
}

// limited skips the case, visibly and with the reason, when the platform cannot emulate it.
func (l *Lab) limited(t *testing.T, note func(string, ...any), scenario, name string) {
	t.Helper()
	for _, lim := range l.platform.Limits() {
		covers := lim.Scenario == scenario || strings.HasPrefix(scenario, lim.Scenario+"/")
		if covers && (lim.Case == "" || lim.Case == name) {
			note("%s platform: %s", l.platform.Name(), lim.Reason)
			t.Skipf("%s platform cannot emulate this: %s", l.platform.Name(), lim.Reason)
		}
	}
}

// caseFunc is the body of one case.
type caseFunc func(ctx context.Context, t *testing.T, note func(string, ...any))

// scenario builds a feature whose assessments are the cases, each tracked in the report
// and skipped with its reason where the platform cannot emulate it.
type scenario struct {
	name  string
	suite string
	rows  features.Table
}

func newScenario(name, suite string) *scenario { return &scenario{name: name, suite: suite} }

func (s *scenario) add(name string, fn caseFunc) *scenario {
	s.rows = append(s.rows, features.TableRow{Name: name, Assessment: func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		// The case is a subtest of its own: e2e-framework skips the rest of a feature once an
		// assessment calls t.FailNow, and every case must run and be reported, failed or not.
		t.Run("case", func(t *testing.T) {
			tr := rec.Track(t, s.name, name)
			trackers.Store(t.Name(), tr)
			lab.limited(t, tr.Note, s.name, name)
			fn(ctx, t, tr.Note)
		})
		return ctx
	}})
	return s
}

// feature builds the e2e-framework feature; its last teardown prints the scenario's line.
func (s *scenario) feature() *features.FeatureBuilder {
	start := time.Now()
	return s.rows.Build(s.name).WithLabel("suite", s.suite).
		WithSetup("start "+s.name, func(ctx context.Context, _ *testing.T, _ *envconf.Config) context.Context {
			start = time.Now()
			return ctx
		}).
		WithTeardown("summary of "+s.name, func(ctx context.Context, _ *testing.T, _ *envconf.Config) context.Context {
			counts := map[report.Result]int{}
			for _, c := range rec.Cases() {
				if c.Scenario == s.name {
					counts[c.Result]++
				}
			}
			progress("scenario %s: %d passed, %d failed, %d skipped (%s)", s.name,
				counts[report.Passed], counts[report.Failed], counts[report.Skipped], time.Since(start).Round(time.Millisecond))
			return ctx
		})
}
