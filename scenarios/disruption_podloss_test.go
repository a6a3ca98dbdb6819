package scenarios

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpclab/grpclab/scenarios/load"
)

// podLossMaxGap bounds the longest time without a success when one of two replicas dies: the
// proxy must route around the dead address at once (nginx tries the next upstream server when
// a connection is refused), not wait for the platform to notice (on the local platform a
// second: cluster/local.KillNoticeDelay).
const podLossMaxGap = 500 * time.Millisecond

// TestDisruptionPodLoss sends SIGKILL to one bar-stable replica under load through the
// gateway; the platform notices after a while, replaces it (as a ReplicaSet
// would) and reloads the proxy.
//   - At most the calls in flight on the killed replica fail (≤ the load's concurrency), and
//     none after the replacement. nginx answers those with RST_STREAM INTERNAL_ERROR, so
//     grpc-go says INTERNAL and a retry policy for UNAVAILABLE does not retry them: with it,
//     INTERNAL is the only failure left.
//   - The longest gap without a success stays under podLossMaxGap.
//   - The streams the killed replica served are cut, the others live on.
func TestDisruptionPodLoss(t *testing.T) {
	table := &disruptionTable{}
	s := newScenario("disruption/pod-loss", "disruption")
	for _, c := range disruptionClients {
		s.add("SIGKILL of a bar-stable pod under Login load through the gateway, "+c.name, func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			d := disruptor(t)
			top := readTopology(t)
			target := lab.target(gateway, top.barHost)
			settle(ctx, t, note, target, top.stable)
			p := newPool(t, target, c)
			var victim string
			res, streams := measure(ctx, t, shape, p, func(ctx context.Context) error {
				var err error
				victim, err = d.KillPod(ctx, "default", top.stable)
				return err
			})
			gap, at := res.LongestGap()
			r := newRun("gateway → bar-svc", "SIGKILL of "+victim, c, p, res, streams,
				byPlatform("nginx's grpc_next_upstream (a refused connection goes to the next replica; a call already sent does not); retryableStatusCodes would need INTERNAL, which is only safe for idempotent methods",
					"the controller's retries (Traefik: the retry middleware) and how fast it drops the address (Traefik: providersThrottleDuration, 2 s); a client retry policy for UNAVAILABLE"))
			r.seen = fmt.Sprintf("%d calls failed (in flight on %s), longest gap %s at %s; %d of %d streams cut", res.Counts().Failed(), victim,
				gap.Round(time.Millisecond), at.Round(time.Millisecond), cuts(streams), len(streams))
			table.record(t, note, r, "kill pod", shape)
			all := res.Counts()
			if failed := all.Failed(); failed > shape.Concurrency {
				t.Errorf("%d calls failed (%s), want at most the %d in flight: %v", failed, failedByPhase(res), shape.Concurrency, res.Messages())
			}
			// A call already sent to the dead replica is not retried by nginx (gRPC calls are
			// POSTs): nginx resets the client's stream with INTERNAL_ERROR, which grpc-go reports
			// as INTERNAL. A retry policy for UNAVAILABLE leaves those; it must leave nothing else.
			if c.retries() && all.Failed() != all[codes.Internal] {
				t.Errorf("with the retry policy %s failed, want INTERNAL only (UNAVAILABLE is retried): %v", all, res.Messages())
			}
			if f := res.Counts(load.After).Failed(); f > 0 {
				t.Errorf("%d calls failed after the replacement was in the endpoints", f)
			}
			if gap > podLossMaxGap {
				t.Errorf("no success for %s (from %s), want under %s: the proxy waited for the platform to notice", gap, at, podLossMaxGap)
			}
			for i, sr := range streams {
				onVictim := sr.servedBy[victim] > 0
				if onVictim != sr.cut() {
					t.Errorf("stream %d served by %v: cut %v (%v), want cut exactly when %s served it", i, sr.servedBy, sr.cut(), sr.err, victim)
				}
			}
			if victim == "" || !strings.HasPrefix(victim, top.stable+"-") {
				t.Errorf("killed %q, want a %s pod", victim, top.stable)
			}
		})
	}
	testenv.Test(t, s.feature().Feature())
	table.section("Disruption: pod loss", fmt.Sprintf(
		"%d Login calls before and %d after the event, %d in flight, at most %.0f/s, on %d connections; %d WatchEvents streams open through it. "+
			"The event: SIGKILL one replica; %s",
		shape.Before, shape.After, shape.Concurrency, shape.Rate, poolConns, streamCount, byPlatform(
			"the local platform leaves it in the endpoints for 1 s (cluster/local.KillNoticeDelay: a cluster's kubelet and endpoints take about that, "+
				"a failing readiness probe longer), then starts a replacement and reloads nginx once it is SERVING.",
			"on kind, through the node's container runtime (crictl stop --timeout 0: no SIGTERM first); the pod stays in the endpoints until the kubelet sees the exit, "+
				"then the kubelet restarts the container in place and the event ends once the pod is a ready endpoint again.")))
}
