package scenarios

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grpclab/grpclab/scenarios/load"
)

// reloadFollowsWithin bounds how long after Apply returns a new call may still reach the old
// route: the local platform's Apply returns once nginx serves the new generation and the old
// workers accept nothing new.
const reloadFollowsWithin = time.Second

// reloadShape is the load of the reload case: as the other events, with 1500 calls after the
// event so that the run outlasts reloadFollowsWithin.
var reloadShape = func() load.Config { c := shape; c.After = 1500; return c }()

// TestDisruptionReload flips bar-route's canary weight 0 → 100 (gateway-api/canary-0, then
// gateway-api/canary-100 applied under load: a controller reload) and measures when traffic
// follows, and what happens to the calls and streams open across the reload.
//   - No unary call fails, before, during or after, with either client.
//   - Every call started more than reloadFollowsWithin after Apply returned reaches the canary.
//   - The open WatchEvents streams survive the reload (nginx keeps the old workers for them)
//     and keep their old backend.
func TestDisruptionReload(t *testing.T) {
	table := &disruptionTable{}
	s := newScenario("disruption/reload", "disruption")
	for _, c := range disruptionClients {
		s.add("canary weight 0 → 100 under Login load through the gateway, "+c.name, func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			disruptor(t)
			top := readTopology(t)
			if err := lab.use(ctx, "gateway-api/canary-0"); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := lab.use(ctx); err != nil {
					t.Errorf("put the default variants back: %v", err)
				}
			}()
			target := lab.target(gateway, top.barHost)
			settle(ctx, t, note, target, top.stable)
			p := newPool(t, target, c)
			res, streams := measure(ctx, t, reloadShape, p, func(ctx context.Context) error {
				return lab.use(ctx, "gateway-api/canary-100")
			})
			stable, canary := top.stable+"-", top.canary+"-"
			// When traffic followed: the first call answered by the canary, counted from the
			// start of Apply, and the last call answered by the old route, counted from its end.
			firstCanary, lastStable := time.Duration(-1), time.Duration(-1)
			staleAfter := 0
			for _, r := range res.Records {
				switch {
				case strings.HasPrefix(r.ServedBy, canary) && firstCanary < 0:
					firstCanary = max(r.End-res.EventStart, 0)
				case strings.HasPrefix(r.ServedBy, stable) && r.Phase == load.After:
					lastStable = max(lastStable, r.Start-res.EventEnd)
					if r.Start-res.EventEnd > reloadFollowsWithin {
						staleAfter++
					}
				}
			}
			served := servedByPrefix(res, stable, canary)
			r := newRun("gateway → bar-route", byPlatform("canary weight 0 → 100 (nginx reload)", "canary weight 0 → 100 (controller reload)"), c, p, res, streams,
				byPlatform("nothing to tune for unary calls; streams hold an old nginx worker (and its configuration) until they end: ingress-nginx's worker-shutdown-timeout (240s) cuts them then",
					"how soon the controller applies a change (Traefik: providersThrottleDuration, 2 s by default); streams keep their backend"))
			r.seen = fmt.Sprintf("first canary answer %s after Apply began; last old-route answer %s after it returned (Apply took %s); %s %d, %s %d; streams opened before it: %d cut",
				fmtOffset(firstCanary), fmtOffset(lastStable), (res.EventEnd - res.EventStart).Round(time.Millisecond),
				stable, served[stable], canary, served[canary], cuts(streams))
			table.record(t, note, r, "apply gateway-api/canary-100", reloadShape)
			if f := res.Counts().Failed(); f > 0 {
				t.Errorf("%d of %d calls failed across the reload (%s), want 0: %v", f, res.Counts().Total(), failedByPhase(res), res.Messages())
			}
			if firstCanary == 0 || firstCanary < 0 && served[canary] > 0 {
				t.Errorf("the canary answered before the reload began (canary-0 gives it weight 0)")
			}
			if firstCanary < 0 {
				t.Errorf("the canary never answered")
			}
			if staleAfter > 0 {
				t.Errorf("%d calls started more than %s after Apply returned still reached %s (the last %s after)", staleAfter, reloadFollowsWithin, top.stable, lastStable)
			}
			if n := cuts(streams); n > 0 {
				t.Errorf("%d of %d streams were cut by the reload (%s), want 0", n, len(streams), cutCodes(streams))
			}
			for i, sr := range streams {
				if !sr.lastEvent.After(time.Now().Add(-streamInterval * 20)) {
					t.Errorf("stream %d went quiet: last event at %s", i, sr.lastEvent)
				}
				for pod := range sr.servedBy {
					if !strings.HasPrefix(pod, stable) {
						t.Errorf("stream %d moved to %s: a stream keeps the backend it started on", i, pod)
					}
				}
			}
		})
	}
	testenv.Test(t, s.feature().Feature())
	table.section("Disruption: controller reload", fmt.Sprintf(
		"%d Login calls before the event and %d after it, %d in flight, at most %.0f/s, on %d connections; %d WatchEvents streams open on the same connections. "+
			"The event: gateway-api/canary-100 applied over gateway-api/canary-0 (bar-route's weights bar-svc 100/0 → 0/100); %s",
		reloadShape.Before, reloadShape.After, reloadShape.Concurrency, reloadShape.Rate, poolConns, streamCount, byPlatform(
			"Apply returns once nginx serves the new generation.",
			"on kind, Apply returns once the objects are applied and their conditions are true; the controller then programs its data plane on its own time.")))
}

// fmtOffset prints a measured offset, "never" when there was none.
func fmtOffset(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(time.Millisecond).String()
}
