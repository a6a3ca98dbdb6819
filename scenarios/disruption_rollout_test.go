package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/scenarios/call"
	"github.com/grpclab/grpclab/services/helloworldpb"
)

// drainStreams is how many SayHelloStream calls are in flight on the replica when it gets
// SIGTERM, and drainMessages how many each sends after the signal before closing.
const (
	drainStreams  = 8
	drainMessages = 3
)

// TestDisruptionRollout replaces bar-stable's replicas one by one under load through the
// gateway, the way a Deployment's rolling update does (surge one, ready, in the endpoints,
// the old one out of them, then SIGTERM: GracefulStop).
//   - No unary call fails, with either client: the proxy stops sending new calls to the old
//     replica before it is signalled, and GracefulStop lets the ones in flight finish.
//   - Every WatchEvents stream was on an old replica, and each is ended by the server's drain
//     with UNAVAILABLE (services/README.md: on SIGTERM open WatchEvents streams end with
//     Unavailable); no stream ends any other way. A client must re-open it; a retry policy
//     cannot, since the stream has already answered.
//
// And, so that a failure can be blamed on the right hop: direct to a replica, calls in flight
// when it gets SIGTERM all finish (0 dropped), which fails the moment GracefulStop is gone.
func TestDisruptionRollout(t *testing.T) {
	table := &disruptionTable{}
	s := newScenario("disruption/rollout", "disruption")
	// prestop is the fix variant: bar-stable with a preStop sleep, so the endpoint leaves the
	// proxy's configuration before the server is signalled.
	const prestop = "base/prestop"
	for _, variant := range []string{"", prestop} {
		for _, c := range disruptionClients {
			name := "rolling update of bar-stable under Login load through the gateway, " + c.name
			if variant != "" {
				name = fmt.Sprintf("rolling update of bar-stable with a preStop sleep (%s) under Login load through the gateway, %s", variant, c.name)
			}
			s.add(name, func(ctx context.Context, t *testing.T, note func(string, ...any)) {
				d := disruptor(t)
				top := readTopology(t)
				event := "rolling update of " + top.stable
				if variant != "" {
					if err := lab.use(ctx, variant); err != nil {
						t.Fatal(err)
					}
					defer func() {
						if err := lab.use(ctx); err != nil {
							t.Errorf("put the default variants back: %v", err)
						}
					}()
					event += " (preStop sleep)"
				}
				rollout(ctx, t, note, d, c, top, event, table)
			})
		}
	}
	for _, c := range disruptionClients {
		s.add(fmt.Sprintf("graceful stop drops 0 of %d in-flight calls direct to a replica, %s", drainStreams, c.name), func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			d := disruptor(t)
			top := readTopology(t)
			dropped, detail := drainDirect(ctx, t, c, func(ctx context.Context) error { return d.RolloutRestart(ctx, "default", top.stable) }, top)
			note("%s", detail)
			if dropped > 0 {
				t.Errorf("%d of %d in-flight calls dropped when the replica got SIGTERM: %s", dropped, drainStreams, detail)
			}
		})
	}
	testenv.Test(t, s.feature().Feature())
	table.section("Disruption: rolling update", fmt.Sprintf(
		"%d Login calls before and %d after the event, %d in flight, at most %.0f/s, on %d connections; %d WatchEvents streams (an event every %s) open through it. "+
			"%s",
		shape.Before, shape.After, shape.Concurrency, shape.Rate, poolConns, streamCount, streamInterval, byPlatform(
			"The emulator replaces one replica at a time: start, SERVING, into the endpoints (nginx reload), out of them (reload), SIGTERM, exit.",
			"On kind: kubectl rollout restart's restartedAt annotation; the Deployment's default strategy replaces one pod at a time (maxSurge 1, maxUnavailable 0 for 2 replicas), "+
				"and the kubelet sends SIGTERM while the endpoint is being removed (no preStop hook); the event ends once every old pod has exited.")))
}

// rollout is one rolling update of bar-stable under load through the gateway: no unary call
// may fail, every stream is ended by the old replicas' drain with UNAVAILABLE, and the
// endpoints are all new afterwards.
func rollout(ctx context.Context, t *testing.T, note func(string, ...any), d cluster.Disruptor, c clientKind, top topology, event string, table *disruptionTable) {
	t.Helper()
	before, err := lab.platform.Backends(ctx, "default", "bar-svc", top.barPort)
	if err != nil {
		t.Fatal(err)
	}
	target := lab.target(gateway, top.barHost)
	settle(ctx, t, note, target, top.stable)
	p := newPool(t, target, c)
	res, streams := measure(ctx, t, shape, p, func(ctx context.Context) error {
		return d.RolloutRestart(ctx, "default", top.stable)
	})
	r := newRun("gateway → bar-svc", event, c, p, res, streams,
		"GracefulStop (--shutdown-timeout) and the endpoint leaving before SIGTERM (a preStop sleep on a cluster); streams need the client to re-open them")
	r.seen = fmt.Sprintf("%d unary calls failed; %d connections dialled for %d%s; %d of %d streams ended by the old replicas' drain (%s)",
		res.Counts().Failed(), r.dials, r.conns, byPlatform(" (each nginx reload sends GOAWAY)", ""), cuts(streams), len(streams), cutCodes(streams))
	table.record(t, note, r, "rolling update", shape)
	if f := res.Counts().Failed(); f > 0 {
		t.Errorf("%d of %d calls failed (%s), want 0: %v", f, res.Counts().Total(), failedByPhase(res), res.Messages())
	}
	for i, sr := range streams {
		if code := status.Code(sr.err); code != codes.Unavailable {
			t.Errorf("stream %d (served by %v) ended with %v, want Unavailable from the old replica's drain", i, sr.servedBy, sr.err)
		}
	}
	after, err := lab.platform.Backends(ctx, "default", "bar-svc", top.barPort)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || slices.ContainsFunc(after, func(a string) bool { return slices.Contains(before, a) }) {
		t.Errorf("bar-svc endpoints %v before, %v after: want as many, every one new", before, after)
	}
}

// drainDirect holds drainStreams SayHelloStream calls open direct to one replica of bar-svc,
// runs event (which must SIGTERM that replica), waits until the replica's health turns
// NOT_SERVING (it got the signal and is draining), then has every call send drainMessages
// more messages and close. It returns how many calls did not complete with every answer.
func drainDirect(ctx context.Context, t *testing.T, c clientKind, event func(context.Context) error, top topology) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, onPlatform(shape).Timeout)
	defer cancel()
	pods, err := lab.platform.Backends(ctx, "default", "bar-svc", top.barPort)
	if err != nil {
		t.Fatal(err)
	}
	conn := lab.dial(t, call.Target{Address: pods[0], Plaintext: true}, c.opts...)
	hctx, hcancel := context.WithCancel(ctx)
	defer hcancel()
	watch, err := call.WatchServing(hctx, conn)
	if err != nil {
		t.Fatalf("replica %s: %v", pods[0], err)
	}
	greeter := helloworldpb.NewGreeterClient(conn)
	var calls []helloworldpb.Greeter_SayHelloStreamClient
	for i := range drainStreams {
		st, err := greeter.SayHelloStream(ctx)
		if err == nil {
			err = st.Send(&helloworldpb.HelloRequest{Name: fmt.Sprint(i)})
		}
		if err == nil {
			_, err = st.Recv()
		}
		if err != nil {
			t.Fatalf("open in-flight call %d on %s: %v", i, pods[0], err)
		}
		calls = append(calls, st)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- event(ctx) }()
	// The health service turns NOT_SERVING first thing in Shutdown: the signal has arrived.
	for {
		st, err := watch.Recv()
		if err != nil {
			t.Fatalf("health watch of %s ended before NOT_SERVING: %v", pods[0], err)
		}
		if st.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
	}
	signalled := time.Since(start)
	hcancel() // the watch is an in-flight call too; GracefulStop would wait for it
	dropped := 0
	var firstErr error
	for i, st := range calls {
		err := finish(st, i)
		if err != nil {
			dropped++
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	evErr := <-done
	if evErr != nil {
		t.Fatalf("event: %v", evErr)
	}
	detail := fmt.Sprintf("replica %s NOT_SERVING %s after the rollout began; %d of %d in-flight calls then sent %d more messages each and closed: %d dropped",
		pods[0], signalled.Round(time.Millisecond), drainStreams, drainStreams, drainMessages, dropped)
	if firstErr != nil {
		detail += fmt.Sprintf(" (first: %v)", firstErr)
	}
	return dropped, detail
}

// finish sends drainMessages more messages on an in-flight call, closes it and reads every
// answer and the final status.
func finish(st helloworldpb.Greeter_SayHelloStreamClient, i int) error {
	for m := range drainMessages {
		if err := st.Send(&helloworldpb.HelloRequest{Name: fmt.Sprintf("%d-%d", i, m)}); err != nil {
			_, rerr := st.Recv()
			return fmt.Errorf("call %d: send %d: %v (status %v)", i, m, err, rerr)
		}
		if _, err := st.Recv(); err != nil {
			return fmt.Errorf("call %d: answer %d: %w", i, m, err)
		}
	}
	if err := st.CloseSend(); err != nil {
		return fmt.Errorf("call %d: close: %w", i, err)
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("call %d: want the end of the call, got %v", i, err)
	}
	return nil
}
