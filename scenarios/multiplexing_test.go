package scenarios

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/grpclab/grpclab/scenarios/call"
)

// concurrentServedBy makes n concurrent SayHello calls on one client connection and returns
// who answered how often.
func concurrentServedBy(ctx context.Context, conn *grpc.ClientConn, n int) (map[string]int, error) {
	var mu sync.Mutex
	seen := map[string]int{}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := call.Unary(ctx, conn, sayHello)
			if r.Code != codes.OK {
				errs[i] = fmt.Errorf("call %d: %s", i, r)
				return
			}
			mu.Lock()
			seen[r.ServedBy]++
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return seen, err
		}
	}
	return seen, nil
}

// TestMultiplexing: many concurrent calls on ONE client HTTP/2 connection are balanced per
// call by the gateway over every bar-svc replica, while the same calls on one direct
// connection all land on the one pod it reached: L4 balancing pins a connection.
func TestMultiplexing(t *testing.T) {
	const calls = 64
	s := newScenario("multiplexing", "multiplexing")
	s.add(fmt.Sprintf("%d concurrent calls on one connection through the gateway reach every bar-svc pod", calls), func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		pods, err := lab.platform.Backends(ctx, "default", "bar-svc", 50051)
		if err != nil {
			t.Fatal(err)
		}
		if len(pods) < 2 {
			t.Fatalf("bar-svc has %d pods; the case needs at least 2", len(pods))
		}
		conn := lab.dial(t, lab.target(gateway, barHost))
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			seen, err := concurrentServedBy(ctx, conn, calls)
			if err != nil {
				return err
			}
			note("one connection, served by %v", seen)
			if len(seen) != len(pods) {
				return fmt.Errorf("served by %v, want all %d bar-svc pods", slices.Sorted(maps.Keys(seen)), len(pods))
			}
			return nil
		})
	})
	s.add(fmt.Sprintf("%d concurrent calls on one direct connection stay on one pod", calls), func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		pods, err := lab.platform.Backends(ctx, "default", "bar-svc", 50051)
		if err != nil {
			t.Fatal(err)
		}
		conn := lab.dial(t, call.Target{Address: pods[0], Plaintext: true})
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			seen, err := concurrentServedBy(ctx, conn, calls)
			if err != nil {
				return err
			}
			if len(seen) != 1 {
				return fmt.Errorf("one direct connection was served by %v, want exactly one pod", seen)
			}
			return nil
		})
	})
	testenv.Test(t, s.feature().Feature())
}
