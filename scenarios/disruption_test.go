package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/platforms"
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/scenarios/call"
	"github.com/grpclab/grpclab/scenarios/load"
	"github.com/grpclab/grpclab/services/userpb"
)

// The disruption suite (disruption_*_test.go) applies a bounded constant load, causes one
// event per case, and counts every outcome by code before, during and after it. Each case
// runs with two clients: grpc-go's defaults, and a retry policy for UNAVAILABLE, which tells
// the errors a well-configured client never sees from those that reach the application.

// retryServiceConfig retries UNAVAILABLE on every method, up to 5 attempts.
const retryServiceConfig = `{"methodConfig": [{"name": [{}], "retryPolicy": {
  "maxAttempts": 5, "initialBackoff": "0.05s", "maxBackoff": "0.5s", "backoffMultiplier": 2,
  "retryableStatusCodes": ["UNAVAILABLE"]}}]}`

// clientKind is one of the two client behaviours every disruption case runs with.
type clientKind struct {
	name string
	opts []grpc.DialOption
}

var disruptionClients = []clientKind{
	{name: "grpc-go defaults"},
	{name: "retry policy", opts: []grpc.DialOption{grpc.WithDefaultServiceConfig(retryServiceConfig)}},
}

func (c clientKind) retries() bool { return len(c.opts) > 0 }

// shape is the load of the event cases: 16 calls in flight over the pool's connections, at most 1000
// calls a second, 300 calls before the event and 300 after it, 30 s at most in all (longer
// where the platform converges more slowly: onPlatform).
var shape = load.Config{Concurrency: 16, Rate: 1000, Before: 300, After: 300, MaxDuring: 20000, Timeout: 30 * time.Second}

// byPlatform picks the words that describe an event on the platform that runs.
func byPlatform(local, kind string) string {
	if lab.platform.Name() == platforms.Kind {
		return kind
	}
	return local
}

// onPlatform stretches a load's deadline to the platform's bound for convergence: on a
// cluster a rollout takes seconds a pod (scheduling, container start, readiness probes).
func onPlatform(cfg load.Config) load.Config {
	cfg.Timeout = max(cfg.Timeout, lab.timeouts.Max)
	return cfg
}

const (
	// poolConns is how many client connections carry the load (ghz's --connections, as in
	// the measurement).
	poolConns = 4
	// streamCount WatchEvents streams stay open through every run, an event each
	// streamInterval: well inside the proxies' idle timeout.
	streamCount    = 4
	streamInterval = 50 * time.Millisecond
)

// disruptor returns the platform's event source, or skips the case with the reason.
func disruptor(t *testing.T) cluster.Disruptor {
	t.Helper()
	d, ok := lab.platform.(cluster.Disruptor)
	if !ok {
		skip(t, fmt.Sprintf("the %s platform causes no disruption events (no cluster.Disruptor)", lab.platform.Name()))
	}
	return d
}

// topology is what the cases read from the default manifests, never retyped: the hosts and
// the Deployments behind bar-route's two backends and behind fortune-ingress.
type topology struct {
	barHost, ingressHost string
	// stable and canary are the Deployments behind bar-svc and bar-svc-canary; greeter the
	// one behind the Ingress's backend.
	stable, canary, greeter string
	barPort                 int32
}

func readTopology(t *testing.T) topology {
	t.Helper()
	objs, err := manifests.Load(defaultVariants)
	if err != nil {
		t.Fatal(err)
	}
	var top topology
	for _, r := range manifests.Of[*gatewayv1.GRPCRoute](objs) {
		if r.Name == "bar-route" && len(r.Spec.Hostnames) > 0 {
			top.barHost = string(r.Spec.Hostnames[0])
		}
	}
	for _, ing := range manifests.Of[*networkingv1.Ingress](objs) {
		if ing.Name == "fortune-ingress" && len(ing.Spec.Rules) > 0 {
			top.ingressHost = ing.Spec.Rules[0].Host
		}
	}
	deploymentOf := func(svc *corev1.Service) string {
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, d := range manifests.Of[*appsv1.Deployment](objs) {
			if d.Namespace == svc.Namespace && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				return d.Name
			}
		}
		return ""
	}
	for _, svc := range manifests.Of[*corev1.Service](objs) {
		switch svc.Name {
		case "bar-svc":
			top.stable, top.barPort = deploymentOf(svc), svc.Spec.Ports[0].Port
		case "bar-svc-canary":
			top.canary = deploymentOf(svc)
		case "go-grpc-greeter-server":
			top.greeter = deploymentOf(svc)
		}
	}
	if top.barHost == "" || top.ingressHost == "" || top.stable == "" || top.canary == "" || top.greeter == "" {
		t.Fatalf("the default manifests lack what the disruption suite needs: %+v", top)
	}
	return top
}

// settleCalls is how many Login calls one check of settle makes.
const settleCalls = 20

// settle waits until target serves the state a case starts from: settleCalls Login calls in a
// row all OK, and answered by pods of deployment unless it is "", Consecutive checks in a
// row. The local platform's Apply returns with nginx serving the new configuration, so this
// passes at once there; on a cluster Apply returns before the controller has programmed its
// data plane (disruption/reload measures by how much), and a case must not measure the last
// case's state. It dials a connection of its own, so the pool's counts start clean.
func settle(ctx context.Context, t *testing.T, note func(string, ...any), target call.Target, deployment string) {
	t.Helper()
	conn := lab.dial(t, target)
	start := time.Now()
	lab.eventually(ctx, t, note, func(ctx context.Context) error {
		for i := range settleCalls {
			r := call.Unary(ctx, conn, login, admin...)
			if r.Code != codes.OK {
				return fmt.Errorf("before the event: call %d of %d: %v %s", i+1, settleCalls, r.Code, r.Message)
			}
			if deployment != "" && !strings.HasPrefix(r.ServedBy, deployment+"-") {
				return fmt.Errorf("before the event: call %d of %d answered by %s, want a pod of %s", i+1, settleCalls, r.ServedBy, deployment)
			}
		}
		return nil
	})
	if d := time.Since(start); d > time.Second {
		note("settled after %s", d.Round(time.Millisecond))
	}
}

// pool is poolConns client connections that count every connection they dial (a proxy's
// GOAWAY shows as a redial) and every attempt of a unary call: grpc-go retries an attempt the
// server never processed (one above a GOAWAY's last stream id) transparently, and the retry
// policy retries UNAVAILABLE.
type pool struct {
	conns []*grpc.ClientConn
	dials atomic.Int64
	next  atomic.Uint64
	attempts
}

// attempts counts unary call attempts as grpc-go's stats handler sees them.
type attempts struct {
	all, transparent atomic.Int64
}

func (a *attempts) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (a *attempts) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (a *attempts) HandleConn(context.Context, stats.ConnStats) {}
func (a *attempts) HandleRPC(_ context.Context, s stats.RPCStats) {
	if b, ok := s.(*stats.Begin); ok && !b.IsClientStream && !b.IsServerStream {
		a.all.Add(1)
		if b.IsTransparentRetryAttempt {
			a.transparent.Add(1)
		}
	}
}

func newPool(t *testing.T, target call.Target, c clientKind) *pool {
	t.Helper()
	p := &pool{}
	dialer := grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		p.dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	})
	for range poolConns {
		p.conns = append(p.conns, lab.dial(t, target, append(slices.Clone(c.opts), dialer, grpc.WithStatsHandler(&p.attempts))...))
	}
	return p
}

func (p *pool) conn() *grpc.ClientConn {
	return p.conns[p.next.Add(1)%uint64(len(p.conns))]
}

// login is the load's call: the authenticated Login, bounded by the call timeout.
func (p *pool) login(ctx context.Context) load.Outcome {
	ctx, cancel := context.WithTimeout(ctx, lab.timeouts.Call)
	defer cancel()
	r := call.Unary(ctx, p.conn(), login, admin...)
	return load.Outcome{Code: r.Code, ServedBy: r.ServedBy, Message: r.Message}
}

// streamResult is one WatchEvents stream: how many events, who sent them, and how it ended
// (nil: it was still open when the case closed it).
type streamResult struct {
	events    int
	servedBy  map[string]int
	lastEvent time.Time
	err       error
}

func (s streamResult) cut() bool { return s.err != nil }

// streams holds streamCount WatchEvents streams open on the pool's connections until stop.
type streams struct {
	cancel  context.CancelFunc
	stopped atomic.Bool
	wg      sync.WaitGroup
	results []streamResult
}

func openStreams(ctx context.Context, t *testing.T, p *pool) *streams {
	t.Helper()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, admin...), onPlatform(shape).Timeout)
	s := &streams{cancel: cancel, results: make([]streamResult, streamCount)}
	t.Cleanup(cancel)
	for i := range streamCount {
		res := &s.results[i]
		res.servedBy = map[string]int{}
		stream, err := userpb.NewUserClient(p.conns[i%len(p.conns)]).WatchEvents(ctx, &userpb.WatchEventsRequest{IntervalMs: uint32(streamInterval.Milliseconds())})
		if err == nil {
			// The first event proves the stream is open before the load starts.
			var ev *userpb.Event
			if ev, err = stream.Recv(); err == nil {
				res.events, res.lastEvent = 1, time.Now()
				res.servedBy[ev.GetServedBy()]++
			}
		}
		if err != nil {
			t.Fatalf("open WatchEvents stream %d: %v", i, err)
		}
		s.wg.Go(func() {
			for {
				ev, err := stream.Recv()
				if err != nil {
					if !s.stopped.Load() || errors.Is(err, io.EOF) {
						res.err = err
					}
					return
				}
				res.events++
				res.lastEvent = time.Now()
				res.servedBy[ev.GetServedBy()]++
			}
		})
	}
	return s
}

// stop closes the streams still open and returns how each ended.
func (s *streams) stop() []streamResult {
	s.stopped.Store(true)
	s.cancel()
	s.wg.Wait()
	return s.results
}

func cuts(rs []streamResult) int {
	n := 0
	for _, r := range rs {
		if r.cut() {
			n++
		}
	}
	return n
}

// cutCodes lists how the cut streams ended.
func cutCodes(rs []streamResult) string {
	var parts []string
	for _, r := range rs {
		if r.cut() {
			parts = append(parts, status.Code(r.err).String())
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// controllerName names what serves the entry points, as the platform's versions say.
var controllerName = sync.OnceValue(func() string {
	v := lab.platform.Versions()
	name := v["controller"]
	if name == "" {
		name = v["gateway"]
	}
	if n := v["nginx"]; n != "" {
		name += " " + n
	}
	return fmt.Sprintf("%s: %s", lab.platform.Name(), name)
})

// run is one disruption run: the load, the event, the streams; what the table shows.
type run struct {
	path, event, client string
	res                 *load.Result
	streams             []streamResult
	conns, dials        int
	// retried are the attempts beyond one per call: transparent (grpc-go's own, for
	// attempts the server never processed) and by the retry policy.
	transparent, retried int
	seen, knob           string
}

// newRun records a run of the load on p.
func newRun(path, event string, c clientKind, p *pool, res *load.Result, streams []streamResult, knob string) *run {
	all, transparent := int(p.attempts.all.Load()), int(p.attempts.transparent.Load())
	return &run{path: path, event: event, client: c.name, res: res, streams: streams, conns: poolConns, dials: int(p.dials.Load()),
		transparent: transparent, retried: all - transparent - res.Counts().Total(), knob: knob}
}

// measure runs the load on p with the streams open, and event in the middle.
func measure(ctx context.Context, t *testing.T, cfg load.Config, p *pool, event load.Event) (*load.Result, []streamResult) {
	t.Helper()
	s := openStreams(ctx, t, p)
	res, err := load.Run(ctx, onPlatform(cfg), p.login, event)
	results := s.stop()
	if err != nil {
		t.Fatal(err)
	}
	return res, results
}

// failedByPhase is the failures of a run with an event, phase by phase.
func failedByPhase(res *load.Result) string {
	return fmt.Sprintf("before %s · during %s · after %s", res.Counts(load.Before), res.Counts(load.During), res.Counts(load.After))
}

// note records what a run saw in the case's detail and returns it for the table.
func (r *run) note(note func(string, ...any)) {
	gap, at := r.res.LongestGap()
	note("%d calls in %s (%.0f/s), failed %s; longest gap %s at %s; event %s–%s; %d connections dialled for %d; attempts retried: %d transparently, %d by the policy; streams: %d cut (%s)",
		r.res.Counts().Total(), r.res.Elapsed.Round(time.Millisecond), float64(r.res.Counts().Total())/r.res.Elapsed.Seconds(),
		r.failed(), gap.Round(time.Millisecond), at.Round(time.Millisecond),
		r.res.EventStart.Round(time.Millisecond), r.res.EventEnd.Round(time.Millisecond), r.dials, r.conns,
		r.transparent, r.retried, cuts(r.streams), cutCodes(r.streams))
	if msgs := r.res.Messages(); len(msgs) > 0 {
		note("failures: %s", strings.Join(msgs[:min(3, len(msgs))], "; "))
	}
}

func (r *run) failed() string {
	if r.res.EventEnd == 0 {
		return r.res.Counts().String()
	}
	return failedByPhase(r.res)
}

// disruptionTable collects the runs of one scenario for its report section.
type disruptionTable struct {
	mu   sync.Mutex
	runs []*run
	// extra follows the table: what a run outside it showed.
	extra string
}

// record notes what run r saw, puts it in the table, and fails the case at once when the
// event (named what) failed or the load ran out of time: its counts would then prove nothing.
func (d *disruptionTable) record(t *testing.T, note func(string, ...any), r *run, what string, cfg load.Config) {
	t.Helper()
	r.note(note)
	d.mu.Lock()
	d.runs = append(d.runs, r)
	d.mu.Unlock()
	if r.res.EventErr != nil {
		t.Fatalf("%s: %v", what, r.res.EventErr)
	}
	if r.res.TimedOut {
		t.Fatalf("the load did not finish within %s", onPlatform(cfg).Timeout)
	}
}

// section writes the scenario's table into the report: one line per run.
func (d *disruptionTable) section(title, intro string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s A call counts in the phase it started in.\n\n", intro)
	if len(d.runs) == 0 {
		fmt.Fprintf(&b, "No run: the cases were skipped (see Skipped, and why).\n")
		rec.AddSection(title, b.String())
		return
	}
	fmt.Fprintf(&b, "Controller: %s.\n\n", controllerName())
	fmt.Fprintf(&b, "| path | event | client | RPCs | failed by code | longest gap without a success | stream cuts | connections dialled | attempts retried (transparent / policy) | what was seen | the knob |\n")
	fmt.Fprintf(&b, "|---|---|---|---:|---|---:|---|---:|---:|---|---|\n")
	for _, r := range d.runs {
		gap, _ := r.res.LongestGap()
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s | %d of %d (%s) | %d for %d | %d / %d | %s | %s |\n",
			r.path, r.event, r.client, r.res.Counts().Total(), r.failed(), gap.Round(time.Millisecond),
			cuts(r.streams), len(r.streams), cutCodes(r.streams), r.dials, r.conns, r.transparent, r.retried, r.seen, r.knob)
	}
	if d.extra != "" {
		fmt.Fprintf(&b, "\n%s\n", d.extra)
	}
	rec.AddSection(title, b.String())
}

// servedByPrefix counts the calls of a run answered by each prefix.
func servedByPrefix(res *load.Result, prefixes ...string) map[string]int {
	out := map[string]int{}
	for _, rec := range res.Records {
		for _, p := range prefixes {
			if rec.Code == codes.OK && strings.HasPrefix(rec.ServedBy, p) {
				out[p]++
			}
		}
	}
	return out
}
