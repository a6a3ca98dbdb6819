package scenarios

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpclab/grpclab/scenarios/call"
)

// latencyCalls is how many sequential calls each path gets after its warm-up: enough for a
// stable p50 in the report, small enough to cost well under a second. `make bench` is the
// real measurement (ghz, repetitions, concurrency); this is the report's summary.
const (
	latencyWarmup = 30
	latencyCalls  = 300
)

// path is one way to the same backend.
type latencyPath struct {
	name   string
	target func(ctx context.Context, t *testing.T) call.Target
}

func directTo(service string, port int32) func(context.Context, *testing.T) call.Target {
	return func(ctx context.Context, t *testing.T) call.Target {
		pods, err := lab.platform.Backends(ctx, "default", service, port)
		if err != nil {
			t.Fatal(err)
		}
		return call.Target{Address: pods[0], Plaintext: true}
	}
}

func through(e entry, host string) func(context.Context, *testing.T) call.Target {
	return func(context.Context, *testing.T) call.Target { return lab.target(e, host) }
}

// TestLatencySummary measures SayHello at concurrency 1 on one connection over each path,
// fails if any call fails, and writes p50/p99 and each hop's ratio to its direct path into
// the report.
func TestLatencySummary(t *testing.T) {
	paths := []latencyPath{
		{"direct → bar-svc pod", directTo("bar-svc", 50051)},
		{"gateway (bar.example.com) → bar-svc", through(gateway, barHost)},
		{"direct → go-grpc-greeter-server pod", directTo("go-grpc-greeter-server", 80)},
		{"ingress (grpctest.dev.mydomain.com) → go-grpc-greeter-server", through(ingress, greeterHost)},
	}
	results := make([][]time.Duration, len(paths))
	s := newScenario("latency", "latency")
	for i, p := range paths {
		s.add(fmt.Sprintf("%d SayHello calls %s", latencyCalls, p.name), func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			conn := lab.dial(t, p.target(ctx, t))
			// The path must answer first (the previous scenario may have just changed the
			// policies or routes); from then on every call must succeed.
			lab.eventually(ctx, t, note, func(ctx context.Context) error {
				return call.Unary(ctx, conn, sayHello).Expect(codes.OK, "")
			})
			var d []time.Duration
			for n := range latencyWarmup + latencyCalls {
				start := time.Now()
				r := call.Unary(ctx, conn, sayHello)
				took := time.Since(start)
				if r.Code != codes.OK {
					t.Fatalf("call %d: %s", n, r)
				}
				if n >= latencyWarmup {
					d = append(d, took)
				}
			}
			slices.Sort(d)
			results[i] = d
			note("p50 %s, p99 %s", pct(d, 50), pct(d, 99))
		})
	}
	testenv.Test(t, s.feature().Feature())

	var b strings.Builder
	fmt.Fprintf(&b, "SayHello at concurrency 1 on one connection, %d calls after %d warm-up calls, on this run's machine. `make bench` measures properly (ghz, repetitions, concurrency 16, a connection per call).\n\n", latencyCalls, latencyWarmup)
	fmt.Fprintf(&b, "| path | p50 | p99 | p50 × direct |\n|---|---:|---:|---:|\n")
	for i, p := range paths {
		if results[i] == nil {
			fmt.Fprintf(&b, "| %s | — | — | — |\n", p.name)
			continue
		}
		ratio := "1.00"
		if i%2 == 1 && results[i-1] != nil {
			ratio = fmt.Sprintf("%.2f", float64(pct(results[i], 50))/float64(pct(results[i-1], 50)))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", p.name, pct(results[i], 50), pct(results[i], 99), ratio)
	}
	rec.AddSection("Latency summary", b.String())
}

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(i, 0)].Round(time.Microsecond)
}
