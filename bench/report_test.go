package bench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func result(method, path, backend string, conc int, conn ConnMode, tool string, p50, p99, rps float64) Result {
	return Result{
		Case:   Case{Method: method, Path: path, Backend: backend, Concurrency: conc, Conn: conn, Tool: tool},
		Median: Stats{P50: p50, P99: p99, RPS: rps},
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestHopRatios(t *testing.T) {
	results := []Result{
		result("SayHello", Direct, "bar-svc", 1, Shared, ToolGHZ, 200, 400, 5000),
		result("SayHello", Gateway, "bar-svc", 1, Shared, ToolGHZ, 370, 1000, 2500),
		result("SayHello", Direct, "bar-svc", 16, Shared, ToolGHZ, 800, 1600, 20000),
		result("SayHello", Gateway, "bar-svc", 16, Shared, ToolGHZ, 1600, 4000, 10000),
		// The ingress's own backend is its baseline, not bar-svc.
		result("SayHello", Direct, "go-grpc-greeter-server", 1, Shared, ToolGHZ, 100, 200, 10000),
		result("SayHello", Ingress, "go-grpc-greeter-server", 1, Shared, ToolGHZ, 300, 300, 4000),
		// A hop whose direct baseline is missing gets no ratio.
		result("Login", Gateway, "foo-svc", 1, Shared, ToolGHZ, 300, 300, 4000),
		// A client result is compared with the client's direct result only.
		result("SayHello", Gateway, "bar-svc", 1, Shared, ToolClient, 500, 500, 2000),
	}
	got := HopRatios(results)
	want := []Ratio{
		{Method: "SayHello", Path: Gateway, Backend: "bar-svc", Concurrency: 1, P50: 1.85, P99: 2.5, RPS: 2, AddedP50: 170},
		{Method: "SayHello", Path: Gateway, Backend: "bar-svc", Concurrency: 16, P50: 2, P99: 2.5, RPS: 2, AddedP50: 800},
		{Method: "SayHello", Path: Ingress, Backend: "go-grpc-greeter-server", Concurrency: 1, P50: 3, P99: 1.5, RPS: 2.5, AddedP50: 200},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d ratios %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.Method || g.Path != w.Path || g.Backend != w.Backend || g.Concurrency != w.Concurrency || g.Baseline != Direct || g.Tool != ToolGHZ {
			t.Errorf("ratio %d is for %+v, want %+v against direct", i, g, w)
		}
		if !near(g.P50, w.P50) || !near(g.P99, w.P99) || !near(g.RPS, w.RPS) || !near(g.AddedP50, w.AddedP50) {
			t.Errorf("ratio %d: p50 %v p99 %v rps %v added %v, want %v %v %v %v", i, g.P50, g.P99, g.RPS, g.AddedP50, w.P50, w.P99, w.RPS, w.AddedP50)
		}
	}
}

func TestHopRatioWithoutBaselineFigure(t *testing.T) {
	got := HopRatios([]Result{
		result("SayHello", Direct, "bar-svc", 1, Shared, ToolGHZ, 0, 0, 0), // every call failed
		result("SayHello", Gateway, "bar-svc", 1, Shared, ToolGHZ, 300, 300, 100),
	})
	if len(got) != 1 || got[0].P50 != 0 || math.IsInf(got[0].RPS, 0) {
		t.Errorf("got %+v, want one ratio of 0 (no baseline), never Inf", got)
	}
}

func TestMultiplexingRatios(t *testing.T) {
	// The client's SayHello through the gateway, over one shared connection and per call; and
	// a per-call figure with no shared twin, which gets no ratio.
	var results []Result
	for _, r := range []struct {
		conc          int
		conn          ConnMode
		p50, p99, rps float64
	}{{1, Shared, 400, 600, 2500}, {1, PerCall, 2000, 4200, 500}, {16, Shared, 1000, 2000, 16000}, {16, PerCall, 8000, 16000, 2000}} {
		results = append(results, result("SayHello", Gateway, "bar-svc", r.conc, r.conn, ToolClient, r.p50, r.p99, r.rps))
	}
	results = append(results, result("SayHello", Ingress, "go-grpc-greeter-server", 1, PerCall, ToolClient, 2000, 4200, 500))
	got := MultiplexingRatios(results)
	if len(got) != 2 {
		t.Fatalf("got %d ratios %+v, want 2", len(got), got)
	}
	for i, w := range []struct {
		conc          int
		p50, p99, rps float64
	}{{1, 5, 7, 5}, {16, 8, 8, 8}} {
		g := got[i]
		if g.Concurrency != w.conc || g.Baseline != string(Shared) || g.Conn != PerCall || !near(g.P50, w.p50) || !near(g.P99, w.p99) || !near(g.RPS, w.rps) {
			t.Errorf("ratio %d = %+v, want concurrency %d per-call over shared: p50 %v p99 %v rps %v", i, g, w.conc, w.p50, w.p99, w.rps)
		}
	}
}

func TestCheckInstrument(t *testing.T) {
	tests := []struct {
		name       string
		ghz, cl    float64
		ok         bool
		checked    bool
		difference float64
	}{
		{"agree", 110, 100, true, true, 0.10},
		{"at the tolerance", 115, 100, true, true, 0.15},
		{"ghz slow", 130, 100, false, true, 0.30},
		{"ghz fast", 80, 100, false, true, 0.20},
		{"missing client", 100, 0, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var results []Result
			if tt.ghz > 0 {
				results = append(results, result("SayHello", Direct, "bar-svc", 1, Shared, ToolGHZ, tt.ghz, 0, 0))
			}
			if tt.cl > 0 {
				results = append(results, result("SayHello", Direct, "bar-svc", 1, Shared, ToolClient, tt.cl, 0, 0))
			}
			// Other results must not be taken for the check: another concurrency, a hop, and
			// another backend measured by one tool only.
			results = append(results, result("SayHello", Direct, "bar-svc", 16, Shared, ToolClient, 1, 0, 0),
				result("SayHello", Gateway, "bar-svc", 1, Shared, ToolClient, 1, 0, 0),
				result("SayHello", Direct, "go-grpc-greeter-server", 1, Shared, ToolClient, 1, 0, 0))
			in := CheckInstrument(results)
			if in.OK != tt.ok || !near(in.Difference, tt.difference) {
				t.Errorf("ok %v difference %v (%s), want %v %v", in.OK, in.Difference, in.Verdict, tt.ok, tt.difference)
			}
			if checked := in.GHZP50 > 0 && in.ClientP50 > 0; checked != tt.checked {
				t.Errorf("checked = %v, want %v", checked, tt.checked)
			}
		})
	}
}

// TestCheckInstrumentPairsByBackend: ghz and the client are compared on one backend, never
// ghz on one pod with the client on another.
func TestCheckInstrumentPairsByBackend(t *testing.T) {
	in := CheckInstrument([]Result{
		result("SayHello", Direct, "bar-svc", 1, Shared, ToolGHZ, 100, 0, 0),
		result("SayHello", Direct, "go-grpc-greeter-server", 1, Shared, ToolGHZ, 300, 0, 0),
		result("SayHello", Direct, "go-grpc-greeter-server", 1, Shared, ToolClient, 290, 0, 0),
	})
	if in.Backend != "go-grpc-greeter-server" || in.GHZP50 != 300 || in.ClientP50 != 290 || !in.OK {
		t.Errorf("got %+v, want ghz 300 and client 290 on go-grpc-greeter-server, agreeing", in)
	}
}

func TestController(t *testing.T) {
	tests := []struct {
		versions map[string]string
		want     string
	}{
		{map[string]string{"controller": "envoy-gateway", "envoy-gateway": "v1.5.0", "kind": "v0.33.0"}, "envoy-gateway v1.5.0"},
		{map[string]string{"platform": "local", "gateway": "nginx (emulated controller)", "nginx": "nginx/1.22.1"}, "nginx (emulated controller), nginx/1.22.1"},
		{map[string]string{}, "unknown (the platform's Versions name no controller)"},
	}
	for _, tt := range tests {
		if got := Controller(tt.versions); got != tt.want {
			t.Errorf("Controller(%v) = %q, want %q", tt.versions, got, tt.want)
		}
	}
}

func TestCPUModel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cpuinfo")
	if err := os.WriteFile(path, []byte("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := cpuModel(path); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q, want AMD EPYC 7B13", got)
	}
	if got := cpuModel(filepath.Join(dir, "missing")); got[:7] != "unknown" {
		t.Errorf("cpuModel of a missing file = %q, want unknown (…)", got)
	}
}

func TestSettingsValidate(t *testing.T) {
	ok := DefaultSettings()
	if err := ok.Validate(); err != nil {
		t.Fatalf("default settings: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Settings)
	}{
		{"no duration", func(s *Settings) { s.Duration = 0 }},
		{"negative warm-up", func(s *Settings) { s.Warmup = -1 }},
		{"no repetition", func(s *Settings) { s.Repetitions = 0 }},
		{"no call budget", func(s *Settings) { s.MaxCalls = 0 }},
		{"no concurrency", func(s *Settings) { s.Concurrencies = nil }},
		{"zero concurrency", func(s *Settings) { s.Concurrencies = []int{1, 0} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSettings()
			tt.change(&s)
			if err := s.Validate(); err == nil {
				t.Errorf("Validate(%+v) = nil, want an error", s)
			}
		})
	}
}

func TestReportListsProblems(t *testing.T) {
	bad := result("SayHello", Gateway, "bar-svc", 16, PerCall, ToolClient, 0, 0, 0)
	bad.Problems = []string{"repetition 2: no call completed in 700ms"}
	r := NewReport("local", nil, DefaultSettings(), time.Now(), []Result{bad})
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], bad.Name()) || !strings.Contains(r.Problems[0], "repetition 2") {
		t.Fatalf("problems = %q, want the case and its repetition", r.Problems)
	}
	var md strings.Builder
	WriteMarkdown(&md, r)
	if !strings.Contains(md.String(), "## Problems") || !strings.Contains(md.String(), "repetition 2: no call completed") {
		t.Errorf("the table does not show the problem:\n%s", md.String())
	}
}
