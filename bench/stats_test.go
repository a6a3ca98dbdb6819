package bench

import (
	"math"
	"testing"
	"time"

	"github.com/bojand/ghz/runner"
)

func us(n int) time.Duration { return time.Duration(n) * time.Microsecond }

func TestPercentile(t *testing.T) {
	// 1..1000 µs: the nearest-rank percentile p is p*10 µs.
	var lat []time.Duration
	for i := 1000; i >= 1; i-- {
		lat = append(lat, us(i))
	}
	s := summarise(lat, nil, nil, 2*time.Second)
	tests := []struct {
		name      string
		got, want float64
	}{
		{"p50", s.P50, 500},
		{"p90", s.P90, 900},
		{"p99", s.P99, 990},
		{"p99.9", s.P999, 999},
		{"max", s.Max, 1000},
		{"rps", s.RPS, 500},
		{"ok", float64(s.OK), 1000},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if len(s.Errors) != 0 {
		t.Errorf("errors = %v, want none", s.Errors)
	}
}

func TestPercentileEdges(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample", []time.Duration{us(7)}, 99.9, us(7)},
		{"p0 is the smallest", []time.Duration{us(1), us(2)}, 0, us(1)},
		{"p100 is the largest", []time.Duration{us(1), us(2)}, 100, us(2)},
		{"two samples p50", []time.Duration{us(1), us(2)}, 50, us(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

// syntheticReport is what ghz returns for 100 OK calls of 1..100 µs plus failures.
func syntheticReport() *runner.Report {
	r := &runner.Report{Total: time.Second, Count: 104, StatusCodeDist: map[string]int{"OK": 100, "Unavailable": 3, "Unauthenticated": 1}}
	for i := 1; i <= 100; i++ {
		r.Details = append(r.Details, runner.ResultDetail{Latency: us(i), Status: "OK"})
	}
	r.Details = append(r.Details,
		// Failures are fast; they must not pull the percentiles down.
		runner.ResultDetail{Latency: us(1), Status: "Unavailable", Error: "connection refused"},
		runner.ResultDetail{Latency: us(1), Status: "Unavailable", Error: "connection refused"},
		runner.ResultDetail{Latency: us(1), Status: "Unavailable", Error: "connection refused"},
		runner.ResultDetail{Latency: us(2000), Status: "Unauthenticated", Error: "bad password"},
	)
	r.LatencyDistribution = []runner.LatencyDistribution{{Percentage: 50, Latency: us(50)}, {Percentage: 99, Latency: us(99)}}
	return r
}

func TestFromGHZ(t *testing.T) {
	s := FromGHZ(syntheticReport())
	if s.Calls != 104 || s.OK != 100 {
		t.Errorf("calls %d ok %d, want 104 and 100", s.Calls, s.OK)
	}
	if s.P50 != 50 || s.P99 != 99 || s.P999 != 100 || s.Max != 100 {
		t.Errorf("p50 %v p99 %v p99.9 %v max %v, want 50 99 100 100 (OK calls only)", s.P50, s.P99, s.P999, s.Max)
	}
	if s.ToolP50 != 50 {
		t.Errorf("ghz's own p50 = %v, want 50", s.ToolP50)
	}
	if s.RPS != 100 {
		t.Errorf("rps = %v, want 100 OK calls per second", s.RPS)
	}
	if s.Errors["Unavailable"] != 3 || s.Errors["Unauthenticated"] != 1 || len(s.Errors) != 2 {
		t.Errorf("errors = %v, want Unavailable 3, Unauthenticated 1", s.Errors)
	}
	if s.ErrorSamples["Unavailable"] != "connection refused" || s.ErrorSamples["Unauthenticated"] != "bad password" {
		t.Errorf("error samples = %v, want the first message of each code", s.ErrorSamples)
	}
	if s.ErrorCount() != 4 {
		t.Errorf("error count = %d, want 4", s.ErrorCount())
	}
}

func TestFromGHZWithoutDetails(t *testing.T) {
	r := syntheticReport()
	r.Details = nil
	s := FromGHZ(r)
	if s.Errors["Unavailable"] != 3 || s.Errors["Unauthenticated"] != 1 {
		t.Errorf("errors = %v, want the status distribution's failures", s.Errors)
	}
}

func TestMedian(t *testing.T) {
	reps := []Stats{
		{Calls: 10, OK: 9, P50: 300, P99: 900, Max: 1000, RPS: 10, Errors: map[string]int{"Unavailable": 1}},
		{Calls: 10, OK: 10, P50: 100, P99: 500, Max: 5000, RPS: 30},
		{Calls: 10, OK: 8, P50: 200, P99: 700, Max: 800, RPS: 20, Errors: map[string]int{"Unavailable": 1, "Internal": 1}},
	}
	m := Median(reps)
	if m.P50 != 200 || m.P99 != 700 || m.RPS != 20 {
		t.Errorf("p50 %v p99 %v rps %v, want the medians 200 700 20", m.P50, m.P99, m.RPS)
	}
	if m.Max != 5000 {
		t.Errorf("max = %v, want the largest of all repetitions, 5000", m.Max)
	}
	if m.Calls != 30 || m.OK != 27 || m.Errors["Unavailable"] != 2 || m.Errors["Internal"] != 1 {
		t.Errorf("calls %d ok %d errors %v, want totals 30, 27, Unavailable 2 Internal 1", m.Calls, m.OK, m.Errors)
	}
	even := Median(reps[:2])
	if even.P50 != 200 {
		t.Errorf("median of two p50s = %v, want their mean 200", even.P50)
	}
	if math.IsNaN(Median(nil).P50) {
		t.Error("median of nothing is NaN")
	}
}

// TestMedianLeavesOutFailedRepetitions: a repetition without an OK call has no latency;
// counting it as 0 µs would make a failing path look fast.
func TestMedianLeavesOutFailedRepetitions(t *testing.T) {
	m := Median([]Stats{
		{Calls: 10, OK: 10, P50: 300, RPS: 10},
		{Calls: 4, OK: 0, Errors: map[string]int{"Unavailable": 4}, ErrorSamples: map[string]string{"Unavailable": "draining"}},
		{Calls: 10, OK: 10, P50: 500, RPS: 30},
	})
	if m.P50 != 400 || m.RPS != 20 {
		t.Errorf("p50 %v rps %v, want 400 and 20 from the two measured repetitions", m.P50, m.RPS)
	}
	if m.Calls != 24 || m.Errors["Unavailable"] != 4 || m.ErrorSamples["Unavailable"] != "draining" {
		t.Errorf("calls %d errors %v samples %v, want the failed repetition's calls and errors kept", m.Calls, m.Errors, m.ErrorSamples)
	}
	if none := Median([]Stats{{Calls: 1, Errors: map[string]int{"Internal": 1}}}); none.P50 != 0 || none.Errors["Internal"] != 1 {
		t.Errorf("all failed: %+v, want no latency and the error", none)
	}
}
