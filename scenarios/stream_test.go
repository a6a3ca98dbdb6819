package scenarios

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/grpclab/grpclab/services/userpb"
)

// watch holds a WatchEvents stream through the ingress whose events are further apart than
// the proxy's idle timeout, and returns how many events arrived, for how long the stream
// stayed open, and how it ended (nil: the server ended it after count events).
func watch(ctx context.Context, t *testing.T, interval time.Duration, count int) (int, time.Duration, error) {
	conn := lab.dial(t, lab.target(ingress, greeterHost))
	ctx = metadata.AppendToOutgoingContext(ctx, admin...)
	start := time.Now()
	stream, err := userpb.NewUserClient(conn).WatchEvents(ctx, &userpb.WatchEventsRequest{
		IntervalMs: uint32(interval.Milliseconds()),
		Count:      uint32(count),
	})
	if err != nil {
		return 0, time.Since(start), err
	}
	got := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return got, time.Since(start), nil
		}
		if err != nil {
			return got, time.Since(start), err
		}
		got++
	}
}

// streamBudget bounds one long-lived-stream case: the events plus generous slack.
func streamBudget(interval time.Duration, count int) time.Duration {
	return time.Duration(count+2)*interval + 10*time.Second
}

// TestLongLivedStream proves both halves of the stream-timeouts advice: with the default
// idle timeout the proxy cuts a stream that is quiet for longer than it, and with the
// variant's proxy-read/send-timeout annotations the same stream lives on.
func TestLongLivedStream(t *testing.T) {
	const count = 2
	idle := lab.ep.IdleTimeout.Duration
	interval := idle + time.Second
	// hold holds one stream for count events, within streamBudget, and notes the timeout,
	// the interval and what arrived; expired says the budget ran out first.
	hold := func(ctx context.Context, t *testing.T, note func(string, ...any)) (got int, open time.Duration, err, expired error) {
		note("idle timeout %s, an event every %s", idle, interval)
		ctx, cancel := context.WithTimeout(ctx, streamBudget(interval, count))
		defer cancel()
		got, open, err = watch(ctx, t, interval, count)
		note("%d of %d events, open %s, ended with %v", got, count, open.Round(time.Millisecond), err)
		return got, open, err, ctx.Err()
	}

	cut := newScenario("stream/default-timeout", "stream")
	// The names hold no durations: they differ by platform, and the comparison of runs
	// matches cases by name. The durations go into the case's detail.
	cut.add("a stream quiet for longer than the idle timeout is cut at it", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		got, open, err, expired := hold(ctx, t, note)
		if err == nil || got >= count {
			t.Fatalf("the stream was not cut: %d of %d events in %s (err %v)", got, count, open, err)
		}
		if expired != nil {
			t.Fatalf("the proxy never cut the stream; the test gave up after %s", open)
		}
		if open < idle {
			t.Fatalf("the stream ended after %s, before the %s idle timeout: %v", open, idle, err)
		}
	})
	testenv.Test(t, cut.feature().Feature())

	held := newScenario("stream/annotated", "stream")
	held.add("with proxy-read-timeout the stream outlives the idle timeout", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		got, open, err, _ := hold(ctx, t, note)
		if err != nil || got != count {
			t.Fatalf("got %d of %d events in %s, ended with %v", got, count, open, err)
		}
		if open <= idle {
			t.Fatalf("the stream lasted %s, not past the %s idle timeout: it proves nothing", open, idle)
		}
	})
	testenv.Test(t, held.feature().Setup(withVariants("ingress-nginx/stream-timeouts")).Teardown(resetVariants).Feature())
}
