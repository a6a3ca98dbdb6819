// Package load applies a bounded, constant load to a gRPC target while an event happens, and
// counts every outcome by code and by phase: before the event, during it, after it. The load
// is bounded three ways: a number of calls before and after the event, a cap on the calls
// during it, and a deadline for the whole run; it always stops by itself.
package load

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
)

// Phase is when a call started, relative to the event.
type Phase int

const (
	Before Phase = iota
	During
	After
)

var phaseNames = [...]string{"before", "during", "after"}

func (p Phase) String() string { return phaseNames[p] }

// Config is the shape of the load.
type Config struct {
	// Concurrency is how many calls may be in flight at once.
	Concurrency int
	// Rate caps the calls started per second over all workers; 0 starts them as fast as the
	// workers free up.
	Rate float64
	// Before calls start before the event; After calls start once it has returned.
	Before, After int
	// MaxDuring caps the calls started while the event runs (0: Concurrency×1000).
	MaxDuring int
	// Timeout bounds the whole run, event included.
	Timeout time.Duration
}

// Outcome is what one call returned.
type Outcome struct {
	Code     codes.Code
	ServedBy string
	// Message is the status message of a failed call.
	Message string
}

// Call makes one call; it must return when ctx ends.
type Call func(ctx context.Context) Outcome

// Event is what happens during the load; nil means none (every call is Before).
type Event func(ctx context.Context) error

// Record is one call as the run saw it; times are offsets from the run's start.
type Record struct {
	Phase      Phase
	Start, End time.Duration
	Outcome
}

// Result is the whole run.
type Result struct {
	Records []Record
	// EventStart and EventEnd are offsets from the run's start; EventErr is what it returned.
	EventStart, EventEnd time.Duration
	EventErr             error
	Elapsed              time.Duration
	// TimedOut says the deadline stopped the run before every bounded call was made.
	TimedOut bool
}

// Run applies the load, runs event once Before calls have started, and returns when the
// After calls have finished, or at the deadline.
func Run(ctx context.Context, cfg Config, call Call, event Event) (*Result, error) {
	if cfg.Concurrency < 1 || cfg.Before < 0 || cfg.After < 0 || cfg.Timeout <= 0 {
		return nil, fmt.Errorf("load: invalid config %+v: concurrency ≥ 1, counts ≥ 0 and a timeout are required", cfg)
	}
	if cfg.MaxDuring == 0 {
		cfg.MaxDuring = cfg.Concurrency * 1000
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	start := time.Now()
	res := &Result{}
	var mu sync.Mutex
	work := make(chan Phase)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for ph := range work {
				s := time.Since(start)
				out := call(ctx)
				r := Record{Phase: ph, Start: s, End: time.Since(start), Outcome: out}
				mu.Lock()
				res.Records = append(res.Records, r)
				mu.Unlock()
			}
		})
	}
	var tick <-chan time.Time
	if cfg.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
		defer t.Stop()
		tick = t.C
	}
	// send hands one call to a worker, at the rate; false once the deadline passed.
	send := func(ph Phase) bool {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				return false
			}
		}
		select {
		case work <- ph:
			return true
		case <-ctx.Done():
			return false
		}
	}
	ok := true
	for range cfg.Before {
		if ok = send(Before); !ok {
			break
		}
	}
	if ok && event != nil {
		done := make(chan error, 1)
		res.EventStart = time.Since(start)
		go func() { done <- event(ctx) }()
		during := 0
	wait:
		for {
			select {
			case err := <-done:
				res.EventErr = err
				break wait
			default:
			}
			if during >= cfg.MaxDuring {
				res.EventErr = <-done
				break
			}
			if ok = send(During); !ok {
				res.EventErr = <-done
				break
			}
			during++
		}
		res.EventEnd = time.Since(start)
		for i := 0; ok && i < cfg.After; i++ {
			ok = send(After)
		}
	}
	close(work)
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.TimedOut = !ok
	slices.SortFunc(res.Records, func(a, b Record) int { return int(a.Start - b.Start) })
	return res, nil
}

// Counts are calls by code.
type Counts map[codes.Code]int

// Total is every call counted.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Failed is every call that did not return OK.
func (c Counts) Failed() int { return c.Total() - c[codes.OK] }

// String lists the failures by code, "0" when there are none.
func (c Counts) String() string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(c)) {
		if code != codes.OK {
			parts = append(parts, fmt.Sprintf("%d %s", c[code], code))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}

// Counts returns the calls by code, of one phase or (no phase given) of all.
func (r *Result) Counts(phases ...Phase) Counts {
	c := Counts{}
	for _, rec := range r.Records {
		if len(phases) == 0 || slices.Contains(phases, rec.Phase) {
			c[rec.Code]++
		}
	}
	return c
}

// LongestGap is the longest time without a successful call finishing, from the run's start to
// its end, and when that gap began.
func (r *Result) LongestGap() (gap, at time.Duration) {
	var ends []time.Duration
	for _, rec := range r.Records {
		if rec.Code == codes.OK {
			ends = append(ends, rec.End)
		}
	}
	slices.Sort(ends)
	prev := time.Duration(0)
	for _, e := range append(ends, r.Elapsed) {
		if e-prev > gap {
			gap, at = e-prev, prev
		}
		prev = e
	}
	return gap, at
}

// Messages lists the distinct failure messages with their counts, most frequent first.
func (r *Result) Messages() []string {
	seen := map[string]int{}
	for _, rec := range r.Records {
		if rec.Code != codes.OK {
			seen[rec.Code.String()+": "+rec.Message]++
		}
	}
	keys := slices.Collect(maps.Keys(seen))
	slices.SortFunc(keys, func(a, b string) int { return seen[b] - seen[a] })
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%d× %s", seen[k], k)
	}
	return out
}
