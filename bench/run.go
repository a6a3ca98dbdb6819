package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Settings bound a benchmark in time and count.
type Settings struct {
	// Duration is one measured repetition of one case.
	Duration time.Duration
	// Warmup runs before each repetition of each case and is never counted.
	Warmup time.Duration
	// Repetitions of every case; medians are reported.
	Repetitions int
	// MaxCalls bounds the calls of one repetition.
	MaxCalls int
	// Concurrencies: 1 measures latency, a higher one throughput.
	Concurrencies []int
}

// DefaultSettings keep `make bench` on the local platform under three minutes on two cores.
func DefaultSettings() Settings {
	return Settings{Duration: 700 * time.Millisecond, Warmup: 150 * time.Millisecond, Repetitions: 3, MaxCalls: 200000, Concurrencies: []int{1, 16}}
}

// Validate names the setting that is out of range.
func (s Settings) Validate() error {
	switch {
	case s.Duration <= 0:
		return fmt.Errorf("duration %s: want more than 0", s.Duration)
	case s.Warmup < 0:
		return fmt.Errorf("warmup %s: want 0 or more", s.Warmup)
	case s.Repetitions < 1:
		return fmt.Errorf("repetitions %d: want at least 1", s.Repetitions)
	case s.MaxCalls < 1:
		return fmt.Errorf("max calls %d: want at least 1", s.MaxCalls)
	case len(s.Concurrencies) == 0:
		return errors.New("concurrencies: want at least one")
	}
	for _, c := range s.Concurrencies {
		if c < 1 {
			return fmt.Errorf("concurrency %d: want at least 1", c)
		}
	}
	return nil
}

// Result is one case's repetitions and their median.
type Result struct {
	Case
	Median      Stats   `json:"median"`
	Repetitions []Stats `json:"repetitions"`
	// Problems are repetitions that measured nothing; the run goes on and reports them.
	Problems []string `json:"problems,omitempty"`
}

// Measure runs every case Repetitions times. Repetitions are interleaved (every case once,
// then every case again) so that drift on a shared machine spreads over all cases alike
// instead of landing on whichever ran last. Each repetition starts with a warm-up. A
// cancelled ctx ends the run in progress and returns.
func Measure(ctx context.Context, s Settings, cases []Case, progress io.Writer) ([]Result, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	results := make([]Result, len(cases))
	for i, c := range cases {
		results[i].Case = c
	}
	for rep := range s.Repetitions {
		for i, c := range cases {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("benchmark stopped: %w", err)
			}
			start := time.Now()
			st, err := measureOnce(ctx, s, c)
			if err != nil {
				return nil, err
			}
			if st.Calls == 0 {
				// A path that answers nothing within the window is a finding, not a zero,
				// and one stalled repetition must not throw the others' figures away.
				results[i].Problems = append(results[i].Problems, fmt.Sprintf("repetition %d: no call completed in %s", rep+1, s.Duration))
			}
			results[i].Repetitions = append(results[i].Repetitions, st)
			fmt.Fprintf(progress, "==> [%d/%d] %-52s p50 %8.0fµs p99 %8.0fµs %8.0f rps errors %d (%s)\n",
				rep+1, s.Repetitions, c.Name(), st.P50, st.P99, st.RPS, st.ErrorCount(), time.Since(start).Round(time.Millisecond))
		}
	}
	for i := range results {
		results[i].Median = Median(results[i].Repetitions)
	}
	return results, nil
}

func measureOnce(ctx context.Context, s Settings, c Case) (Stats, error) {
	switch c.Tool {
	case ToolGHZ:
		if s.Warmup > 0 {
			// A run of its own: ghz cannot drop results by time within a run.
			if _, err := runGHZ(ctx, c, s.Warmup, s.MaxCalls); err != nil {
				return Stats{}, fmt.Errorf("warm up: %w", err)
			}
		}
		return runGHZ(ctx, c, s.Duration, s.MaxCalls)
	case ToolClient:
		return runClient(ctx, c, Window{Warmup: s.Warmup, Duration: s.Duration, MaxCalls: s.MaxCalls})
	default:
		return Stats{}, fmt.Errorf("case %s: unknown tool %q", c.Name(), c.Tool)
	}
}

// settingsJSON spells durations as Go durations ("700ms") rather than nanoseconds.
type settingsJSON struct {
	Duration      string `json:"duration"`
	Warmup        string `json:"warmup"`
	Repetitions   int    `json:"repetitions"`
	MaxCalls      int    `json:"maxCalls"`
	Concurrencies []int  `json:"concurrencies"`
}

func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(settingsJSON{s.Duration.String(), s.Warmup.String(), s.Repetitions, s.MaxCalls, s.Concurrencies})
}

func (s *Settings) UnmarshalJSON(b []byte) error {
	var j settingsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	d, err := time.ParseDuration(j.Duration)
	if err != nil {
		return fmt.Errorf("settings: duration: %w", err)
	}
	w, err := time.ParseDuration(j.Warmup)
	if err != nil {
		return fmt.Errorf("settings: warmup: %w", err)
	}
	*s = Settings{Duration: d, Warmup: w, Repetitions: j.Repetitions, MaxCalls: j.MaxCalls, Concurrencies: j.Concurrencies}
	return nil
}
