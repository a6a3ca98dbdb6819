package bench

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/bojand/ghz/runner"
)

// Stats summarises one measured run (or, in Result.Median, several).
type Stats struct {
	// Calls is every call that completed in the measured window, errors included.
	Calls int `json:"calls"`
	// OK is the calls that answered OK; the percentiles are over these alone, so a
	// failure never hides as a fast call.
	OK int `json:"ok"`
	// Percentiles and Max of OK calls, in microseconds.
	P50  float64 `json:"p50_us"`
	P90  float64 `json:"p90_us"`
	P99  float64 `json:"p99_us"`
	P999 float64 `json:"p99_9_us"`
	Max  float64 `json:"max_us"`
	// RPS is OK calls per second of the measured window.
	RPS float64 `json:"rps"`
	// Errors counts failed calls by gRPC code name; never dropped.
	Errors map[string]int `json:"errors,omitempty"`
	// ErrorSamples holds the first message seen for each code in Errors.
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	// ToolP50 is the tool's own p50 where it reports one (ghz), to cross-check ours.
	ToolP50 float64 `json:"tool_p50_us,omitempty"`
}

// ErrorCount is the number of failed calls.
func (s Stats) ErrorCount() int {
	n := 0
	for _, v := range s.Errors {
		n += v
	}
	return n
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// percentile is the nearest-rank percentile (p in 0..100) of sorted latencies: the smallest
// sample with at least p% of the samples at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps float error (99.9/100*1000 = 999.0000000000001) from moving the
	// rank one sample up.
	rank := int(math.Ceil(p*float64(len(sorted))/100 - 1e-9))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// summarise builds Stats from the latencies of OK calls, the error counts by code and the
// length of the measured window.
func summarise(ok []time.Duration, errs map[string]int, samples map[string]string, window time.Duration) Stats {
	slices.Sort(ok)
	s := Stats{OK: len(ok), Calls: len(ok)}
	for code, msg := range samples {
		if errs[code] > 0 {
			s.addSample(code, msg)
		}
	}
	for code, n := range errs {
		if n == 0 {
			continue
		}
		if s.Errors == nil {
			s.Errors = map[string]int{}
		}
		s.Errors[code] += n
		s.Calls += n
	}
	if len(ok) > 0 {
		s.P50 = micros(percentile(ok, 50))
		s.P90 = micros(percentile(ok, 90))
		s.P99 = micros(percentile(ok, 99))
		s.P999 = micros(percentile(ok, 99.9))
		s.Max = micros(ok[len(ok)-1])
	}
	if window > 0 {
		s.RPS = float64(len(ok)) / window.Seconds()
	}
	return s
}

func (s *Stats) addSample(code, msg string) {
	if s.ErrorSamples == nil {
		s.ErrorSamples = map[string]string{}
	}
	if _, seen := s.ErrorSamples[code]; !seen {
		s.ErrorSamples[code] = msg
	}
}

// FromGHZ reads a ghz report: percentiles come from its per-call details (ghz itself reports
// no p99.9), errors from its status code distribution, and its own p50 is kept in ToolP50.
func FromGHZ(r *runner.Report) Stats {
	var ok []time.Duration
	errs := map[string]int{}
	samples := map[string]string{}
	for _, d := range r.Details {
		if d.Error == "" && (d.Status == "" || d.Status == "OK") {
			ok = append(ok, d.Latency)
			continue
		}
		code := d.Status
		if code == "" || code == "OK" {
			// ghz saw an error that carries no gRPC status (a broken stream, say).
			code = "Unknown"
		}
		errs[code]++
		if _, seen := samples[code]; !seen {
			samples[code] = d.Error
		}
	}
	if len(r.Details) == 0 {
		// A report without details (never written by runner.Run, but possible from a
		// file) still has its counts.
		for code, n := range r.StatusCodeDist {
			if code != "OK" {
				errs[code] += n
			}
		}
	}
	s := summarise(ok, errs, samples, r.Total)
	for _, l := range r.LatencyDistribution {
		if l.Percentage == 50 {
			s.ToolP50 = micros(l.Latency)
		}
	}
	return s
}

// Median combines repetitions: every percentile and RPS is the median across the
// repetitions that had OK calls (one that had none has no latency, not a latency of 0),
// Max is the largest of all (a spike in any repetition is a spike), and Calls, OK and
// Errors are totals over all, so that no error from any repetition is lost.
func Median(reps []Stats) Stats {
	var s Stats
	var measured []Stats
	for _, r := range reps {
		s.Calls += r.Calls
		s.OK += r.OK
		for code, n := range r.Errors {
			if s.Errors == nil {
				s.Errors = map[string]int{}
			}
			s.Errors[code] += n
		}
		for code, msg := range r.ErrorSamples {
			s.addSample(code, msg)
		}
		s.Max = max(s.Max, r.Max)
		if r.OK > 0 {
			measured = append(measured, r)
		}
	}
	if len(measured) == 0 {
		return s
	}
	med := func(get func(Stats) float64) float64 {
		v := make([]float64, len(measured))
		for i, r := range measured {
			v[i] = get(r)
		}
		sort.Float64s(v)
		if n := len(v); n%2 == 0 {
			return (v[n/2-1] + v[n/2]) / 2
		}
		return v[len(v)/2]
	}
	s.P50 = med(func(r Stats) float64 { return r.P50 })
	s.P90 = med(func(r Stats) float64 { return r.P90 })
	s.P99 = med(func(r Stats) float64 { return r.P99 })
	s.P999 = med(func(r Stats) float64 { return r.P999 })
	s.RPS = med(func(r Stats) float64 { return r.RPS })
	if measured[0].ToolP50 != 0 {
		s.ToolP50 = med(func(r Stats) float64 { return r.ToolP50 })
	}
	return s
}
