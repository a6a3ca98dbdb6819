package load

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// TestRunPhases: calls fail only while the event runs; the counts, phases and the longest gap
// say so, and the run stops by itself after its bounded calls.
func TestRunPhases(t *testing.T) {
	var broken atomic.Bool
	call := func(ctx context.Context) Outcome {
		time.Sleep(time.Millisecond)
		if broken.Load() {
			return Outcome{Code: codes.Unavailable, Message: "down"}
		}
		return Outcome{Code: codes.OK, ServedBy: "a"}
	}
	event := func(ctx context.Context) error {
		broken.Store(true)
		time.Sleep(100 * time.Millisecond)
		broken.Store(false)
		return nil
	}
	res, err := Run(context.Background(), Config{Concurrency: 4, Rate: 1000, Before: 50, After: 50, Timeout: 10 * time.Second}, call, event)
	if err != nil {
		t.Fatal(err)
	}
	if res.TimedOut {
		t.Fatal("timed out")
	}
	if n := res.Counts(Before).Total(); n != 50 {
		t.Errorf("before: %d calls, want 50", n)
	}
	if n := res.Counts(After).Total(); n != 50 {
		t.Errorf("after: %d calls, want 50", n)
	}
	during := res.Counts(During)
	if during.Total() < 50 || during[codes.Unavailable] < 40 {
		t.Errorf("during: %v over %d calls, want ~100 calls mostly Unavailable", during, during.Total())
	}
	if f := res.Counts(Before, After).Failed(); f > 8 {
		t.Errorf("%d failures outside the event (only calls in flight at its edges may fail)", f)
	}
	gap, _ := res.LongestGap()
	if gap < 90*time.Millisecond || gap > 300*time.Millisecond {
		t.Errorf("longest gap %s, want about the event's 100ms", gap)
	}
	if got := res.Counts().String(); got == "0" {
		t.Errorf("Counts().String() = %q, want the Unavailable count", got)
	}
}

// TestRunDeadline: a call that never returns in time cannot keep the run going past its
// timeout.
func TestRunDeadline(t *testing.T) {
	call := func(ctx context.Context) Outcome {
		<-ctx.Done()
		return Outcome{Code: codes.DeadlineExceeded}
	}
	start := time.Now()
	res, err := Run(context.Background(), Config{Concurrency: 2, Before: 1000, Timeout: 200 * time.Millisecond}, call, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %s", took)
	}
	if !res.TimedOut || res.Counts().Total() > 4 {
		t.Errorf("timed out %v after %d calls, want true after at most 4", res.TimedOut, res.Counts().Total())
	}
}
