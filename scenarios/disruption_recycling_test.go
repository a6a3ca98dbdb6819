package scenarios

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpclab/grpclab/bench"
	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/scenarios/call"
	"github.com/grpclab/grpclab/scenarios/load"
)

// recyclingShape is the load of one recycling run: the ghz shape (200 calls in flight
// over 4 connections, as fast as they go) for 1100 calls per connection, just past
// ingress-nginx's keepalive_requests (1000), 30 s at most.
var recyclingShape = load.Config{Concurrency: 200, Before: 4400, Timeout: 30 * time.Second}

// recyclingPath is one way to the backend, with what the case expects of it.
type recyclingPath struct {
	name     string
	variants []string // applied on top of the defaults for this path
	target   func(context.Context, *testing.T, topology) call.Target
	// proxied paths read their limits from the platform; direct ones have none. Where the
	// proxy's request limit is below the run's calls per connection it must send GOAWAY;
	// otherwise no connection may be dialled twice.
	proxied bool
	// knob is what changes the limits, unless the platform names its proxy's own.
	knob string
}

// TestDisruptionRecycling runs sustained Login load past the proxy's per-connection request
// limit, with WatchEvents streams open on the same connections, and counts what clients see.
//   - Where the proxy's request limit is below the calls per connection (the local platform
//     renders ingress-nginx's defaults: 1000), it must send GOAWAY (the connections are
//     dialled at least calls/limit times); clients with grpc-go defaults may see
//     UNAVAILABLE, the retry policy must see none.
//   - Where it has no such limit (Traefik's default), with ingress-nginx/recycling-tuned,
//     and direct to a pod, nothing is redialled and no call fails, whatever the client.
//   - In every run no open stream is cut: nginx lets a stream finish on a connection it sent
//     GOAWAY on.
func TestDisruptionRecycling(t *testing.T) {
	paths := []recyclingPath{
		{
			name: "gateway → bar-svc", proxied: true,
			target: func(_ context.Context, _ *testing.T, top topology) call.Target {
				return lab.target(gateway, top.barHost)
			},
			knob: "keepalive_requests of the Gateway's nginx (NGINX Gateway Fabric: NginxProxy; ingress-nginx: keep-alive-requests), or a client retry policy",
		},
		{
			name: "ingress → go-grpc-greeter-server", proxied: true,
			target: func(_ context.Context, _ *testing.T, top topology) call.Target {
				return lab.target(ingress, top.ingressHost)
			},
			knob: "ConfigMap ingress-nginx-controller keep-alive-requests (ingress-nginx/recycling-tuned), or a client retry policy",
		},
		{
			name: "ingress (recycling-tuned) → go-grpc-greeter-server", proxied: true,
			variants: []string{"ingress-nginx/recycling-tuned"},
			target: func(_ context.Context, _ *testing.T, top topology) call.Target {
				return lab.target(ingress, top.ingressHost)
			},
			knob: "keep-alive-requests 1000000 is the fix; a connection still ends at keepalive_time (1h)",
		},
		{
			name: "direct → bar-svc pod",
			target: func(ctx context.Context, t *testing.T, top topology) call.Target {
				pods, err := lab.platform.Backends(ctx, "default", "bar-svc", top.barPort)
				if err != nil {
					t.Fatal(err)
				}
				return call.Target{Address: pods[0], Plaintext: true}
			},
			knob: "grpc-go's server has no request limit; its MaxConnectionAge (unset here) would recycle the same way",
		},
	}
	table := &disruptionTable{}
	s := newScenario("disruption/recycling", "disruption")
	for _, path := range paths {
		for _, c := range disruptionClients {
			s.add(fmt.Sprintf("%d Login calls %s, %s", recyclingShape.Before, path.name, c.name), func(ctx context.Context, t *testing.T, note func(string, ...any)) {
				d := disruptor(t)
				top := readTopology(t)
				target := path.target(ctx, t, top)
				var defaults cluster.Recycling
				if len(path.variants) > 0 {
					var err error
					if defaults, err = recyclingOf(ctx, t, d, target.Address); err != nil {
						t.Fatal(err)
					}
					if err := lab.use(ctx, path.variants...); err != nil {
						t.Fatal(err)
					}
					defer func() {
						if err := lab.use(ctx); err != nil {
							t.Errorf("put the default variants back: %v", err)
						}
						if back, err := d.Recycling(ctx, target.Address); err != nil || back != defaults {
							t.Errorf("after the variant, the limits are %+v (%v), want the defaults' %+v again", back, err, defaults)
						}
					}()
				}
				limit := cluster.Recycling{Source: "grpc-go server: no limit"}
				if path.proxied {
					var err error
					if limit, err = recyclingOf(ctx, t, d, target.Address); err != nil {
						t.Fatal(err)
					}
				}
				knob := path.knob
				if limit.Knob != "" {
					knob = limit.Knob
				}
				if path.proxied {
					settle(ctx, t, note, target, "")
				}
				note("limits: keepalive_requests %d, keepalive_time %s, keepalive_timeout %s (%s)", limit.Requests, limit.MaxAge, limit.Idle, limit.Source)
				p := newPool(t, target, c)
				res, streams := measure(ctx, t, recyclingShape, p, nil)
				r := newRun(path.name, limitEvent(limit, path.proxied), c, p, res, streams, knob)
				calls := res.Counts().Total()
				perConn := calls / poolConns
				recycles := limit.Requests > 0 && recyclingShape.Before/poolConns > limit.Requests
				switch {
				case recycles:
					r.seen = fmt.Sprintf("GOAWAY after %d requests per connection: %d connections for %d calls", limit.Requests, r.dials, calls)
					if r.transparent > 0 {
						r.seen += fmt.Sprintf("; %d calls sent on a connection nginx had sent GOAWAY on were retried by grpc-go transparently", r.transparent)
					}
				default:
					r.seen = fmt.Sprintf("no GOAWAY: %d calls per connection on %d connections", perConn, r.dials)
				}
				if len(path.variants) > 0 && limit == defaults {
					r.seen += fmt.Sprintf("; %s changed no limit of this proxy", strings.Join(path.variants, ", "))
				}
				if f := res.Counts().Failed(); f > 0 {
					r.seen += fmt.Sprintf("; %d calls raced the GOAWAY and failed", f)
				}
				table.record(t, note, r, "no event", recyclingShape)
				if recycles {
					if perConn <= limit.Requests {
						t.Fatalf("the run proves nothing: %d calls per connection, limit %d", perConn, limit.Requests)
					}
					// Each connection carries at most keepalive_requests requests.
					if want := (calls + limit.Requests - 1) / limit.Requests; r.dials < want {
						t.Errorf("%d connections dialled for %d calls; keepalive_requests %d needs at least %d: the proxy did not recycle", r.dials, calls, limit.Requests, want)
					}
				} else {
					if limit.Requests > 0 && perConn >= limit.Requests {
						t.Fatalf("the run proves nothing: %d calls per connection reach the limit %d", perConn, limit.Requests)
					}
					if r.dials != poolConns {
						t.Errorf("%d connections dialled for %d: something recycled them", r.dials, poolConns)
					}
				}
				if f := res.Counts().Failed(); f > 0 && (!recycles || c.retries()) {
					t.Errorf("%d of %d calls failed (%s), want 0: %v", f, calls, res.Counts(), res.Messages())
				}
				if n := cuts(streams); n > 0 {
					t.Errorf("%d of %d open streams were cut (%s), want 0", n, len(streams), cutCodes(streams))
				}
			})
		}
	}
	var ghzLine string
	s.add(fmt.Sprintf("ghz v0.121.0, %d Login calls gateway → bar-svc: its failures are attempts, every call succeeds", recyclingShape.Before), func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		disruptor(t)
		top := readTopology(t)
		got, err := bench.CountGHZ(ctx, lab.target(gateway, top.barHost), bench.Login, recyclingShape.Concurrency, poolConns, recyclingShape.Before, recyclingShape.Timeout)
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for code, n := range got.Codes {
			if code != codes.OK.String() {
				failed += n
			}
		}
		var errs []string
		for _, msg := range slices.Sorted(maps.Keys(got.Errors)) {
			errs = append(errs, fmt.Sprintf("%d× %q", got.Errors[msg], msg))
		}
		ghzLine = fmt.Sprintf("ghz v0.121.0 (`-c %d --connections %d -n %d`, the issue's tool) through the gateway: %d OK and %d failures (%s), i.e. every call succeeded and ghz counted %d failed attempts besides. "+
			"ghz's stats handler records every attempt's end, and grpc-go retries an attempt nginx never processed (sent after its GOAWAY) transparently, so the issue's \"310–423 Unavailable\" are such attempts, not failed calls.",
			recyclingShape.Concurrency, poolConns, recyclingShape.Before, got.Codes[codes.OK.String()], failed, strings.Join(errs, ", "), failed)
		note("%s", ghzLine)
		if ok := got.Codes[codes.OK.String()]; ok != recyclingShape.Before {
			t.Errorf("ghz: %d of %d calls OK (%v, %v): some calls failed, not only attempts", ok, recyclingShape.Before, got.Codes, got.Errors)
		}
	})
	testenv.Test(t, s.feature().Feature())
	table.extra = ghzLine
	table.section("Disruption: connection recycling", fmt.Sprintf(
		"%d Login calls per run, %d in flight, on %d connections (%d per connection), with %d WatchEvents streams open on the same connections. "+
			"Each path's limits are read from the platform (the event column: the rendered nginx.conf on local, the controller's API on kind). "+
			"The local proxies start from ingress-nginx's defaults (keep-alive-requests 1000, keep-alive 75 s, nginx's keepalive_time 1h); "+
			"keepalive_time is not reached in a run. A call fails when it races a GOAWAY (nginx: \"the connection is draining\").",
		recyclingShape.Before, recyclingShape.Concurrency, poolConns, recyclingShape.Before/poolConns, streamCount))
}

// limitEvent names the recycling event a path's limits cause.
func limitEvent(l cluster.Recycling, proxied bool) string {
	switch {
	case !proxied:
		return "none (no proxy)"
	case l.Requests == 0 && l.MaxAge == 0:
		return fmt.Sprintf("none: no request limit, no maximum age (idle timeout %s)", l.Idle)
	}
	return fmt.Sprintf("keepalive_requests %d (keepalive_time %s)", l.Requests, l.MaxAge)
}

// recyclingOf reads the limits of the proxy behind address, and skips the case, saying why,
// where the platform cannot read them.
func recyclingOf(ctx context.Context, t *testing.T, d cluster.Disruptor, address string) (cluster.Recycling, error) {
	t.Helper()
	l, err := d.Recycling(ctx, address)
	if errors.Is(err, errors.ErrUnsupported) {
		skip(t, err.Error())
	}
	return l, err
}
