package bench

import (
	"bufio"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine is where absolute times come from: they mean nothing without it.
type Machine struct {
	Hostname string `json:"hostname"`
	Cores    int    `json:"cores"`
	CPU      string `json:"cpu"`
	Go       string `json:"go"`
	OS       string `json:"os"`
}

// ThisMachine describes the machine the benchmark runs on.
func ThisMachine() Machine {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown (" + err.Error() + ")"
	}
	return Machine{Hostname: host, Cores: runtime.NumCPU(), CPU: cpuModel("/proc/cpuinfo"), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
}

// cpuModel reads the first "model name" from a cpuinfo file.
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown (no model name in " + path + ")"
}

// Ratio compares one case with its baseline measured in the same run: a hop with direct,
// or a new connection per call with a shared one.
type Ratio struct {
	Method      string   `json:"method"`
	Path        string   `json:"path"`
	Backend     string   `json:"backend"`
	Concurrency int      `json:"concurrency"`
	Conn        ConnMode `json:"connection"`
	Tool        string   `json:"tool"`
	// Baseline is what it is compared with ("direct" or "shared").
	Baseline string `json:"baseline"`
	// P50 and P99 are this case's figure over the baseline's; RPS is the baseline's over
	// this one's, so that above 1 always means "costs more".
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	RPS float64 `json:"rps"`
	// AddedP50 is the difference at p50, in microseconds.
	AddedP50 float64 `json:"added_p50_us"`
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0 // no baseline figure (every call failed): no ratio rather than +Inf
	}
	return a / b
}

func newRatio(c, base Result, baseline string) Ratio {
	return Ratio{
		Method: c.Method, Path: c.Path, Backend: c.Backend, Concurrency: c.Concurrency, Conn: c.Conn, Tool: c.Tool,
		Baseline: baseline,
		P50:      ratio(c.Median.P50, base.Median.P50),
		P99:      ratio(c.Median.P99, base.Median.P99),
		RPS:      ratio(base.Median.RPS, c.Median.RPS),
		AddedP50: c.Median.P50 - base.Median.P50,
	}
}

// HopRatios compares every non-direct result with the direct result of the same method,
// backend, concurrency, connection mode and tool.
func HopRatios(results []Result) []Ratio {
	direct := map[string]Result{}
	for _, r := range results {
		if r.Path == Direct {
			direct[r.baselineKey()] = r
		}
	}
	var out []Ratio
	for _, r := range results {
		if r.Path == Direct {
			continue
		}
		if base, ok := direct[r.baselineKey()]; ok {
			out = append(out, newRatio(r, base, Direct))
		}
	}
	return out
}

// MultiplexingRatios compares every per-call result with the shared-connection result of
// the same route, concurrency and tool.
func MultiplexingRatios(results []Result) []Ratio {
	key := func(r Result) string {
		return r.Method + "|" + r.Path + "|" + r.Backend + "|" + r.Tool + "|" + strconv.Itoa(r.Concurrency)
	}
	shared := map[string]Result{}
	for _, r := range results {
		if r.Conn == Shared {
			shared[key(r)] = r
		}
	}
	var out []Ratio
	for _, r := range results {
		if r.Conn != PerCall {
			continue
		}
		if base, ok := shared[key(r)]; ok {
			out = append(out, newRatio(r, base, string(Shared)))
		}
	}
	return out
}

// InstrumentTolerance is how far ghz's p50 may be from the minimal client's before the
// report says the instrument is off.
const InstrumentTolerance = 0.15

// Instrument checks the measuring tool: ghz's p50 on the direct SayHello path at
// concurrency 1 against the minimal closed-loop client's on the same backend, measured in
// the same run, back to back.
type Instrument struct {
	Backend   string  `json:"backend"`
	GHZP50    float64 `json:"ghz_p50_us"`
	ClientP50 float64 `json:"client_p50_us"`
	// Difference is |ghz - client| / client.
	Difference float64 `json:"difference"`
	Tolerance  float64 `json:"tolerance"`
	OK         bool    `json:"ok"`
	Verdict    string  `json:"verdict"`
}

// CheckInstrument compares the first backend that has a direct SayHello result at
// concurrency 1 over a shared connection from both ghz and the client.
func CheckInstrument(results []Result) Instrument {
	in := Instrument{Tolerance: InstrumentTolerance}
	ghz, client := map[string]float64{}, map[string]float64{}
	var order []string
	for _, r := range results {
		if r.Method != SayHello.Name || r.Path != Direct || r.Concurrency != 1 || r.Conn != Shared {
			continue
		}
		switch r.Tool {
		case ToolGHZ:
			ghz[r.Backend] = r.Median.P50
		case ToolClient:
			client[r.Backend] = r.Median.P50
		}
		order = append(order, r.Backend)
	}
	for _, b := range order {
		if ghz[b] > 0 && client[b] > 0 {
			in.Backend, in.GHZP50, in.ClientP50 = b, ghz[b], client[b]
			break
		}
	}
	if in.Backend == "" {
		in.Verdict = "not checked: the run lacks a direct SayHello result at concurrency 1 from both ghz and the client on one backend"
		return in
	}
	in.Difference = math.Abs(in.GHZP50-in.ClientP50) / in.ClientP50
	in.OK = in.Difference <= in.Tolerance
	if in.OK {
		in.Verdict = "ghz agrees with a minimal grpc-go client"
	} else {
		in.Verdict = "the instrument is off: ghz's p50 differs from a minimal grpc-go client's by more than the tolerance"
	}
	return in
}

// Report is everything one benchmark run measured, written as bench.json.
type Report struct {
	Started  time.Time `json:"started"`
	Elapsed  string    `json:"elapsed"`
	Platform string    `json:"platform"`
	// Controller is what serves the entry points (from the platform's Versions).
	Controller   string            `json:"controller"`
	Versions     map[string]string `json:"versions"`
	Machine      Machine           `json:"machine"`
	Settings     Settings          `json:"settings"`
	Instrument   Instrument        `json:"instrument"`
	Hops         []Ratio           `json:"hops"`
	Multiplexing []Ratio           `json:"multiplexing"`
	// Notes say what the figures do not cover or include: skipped entry points, and
	// what "direct" means on this platform.
	Notes []string `json:"notes,omitempty"`
	// Problems lists every case repetition that measured nothing.
	Problems []string `json:"problems,omitempty"`
	Results  []Result `json:"results"`
}

// NewReport assembles a report from results measured on platform.
func NewReport(platform string, versions map[string]string, s Settings, started time.Time, results []Result) Report {
	var problems []string
	for _, r := range results {
		for _, p := range r.Problems {
			problems = append(problems, r.Name()+": "+p)
		}
	}
	return Report{
		Problems: problems,
		Started:  started, Elapsed: time.Since(started).Round(time.Millisecond).String(),
		Platform: platform, Controller: Controller(versions), Versions: versions,
		Machine: ThisMachine(), Settings: s,
		Instrument:   CheckInstrument(results),
		Hops:         HopRatios(results),
		Multiplexing: MultiplexingRatios(results),
		Results:      results,
	}
}

// Controller names the gateway/ingress controller from a platform's Versions: kind reports
// "controller" and that controller's version, the local platform its emulated "gateway".
func Controller(v map[string]string) string {
	if name := v["controller"]; name != "" {
		if ver := v[name]; ver != "" {
			return name + " " + ver
		}
		return name
	}
	if g := v["gateway"]; g != "" {
		if n := v["nginx"]; n != "" {
			return g + ", " + n
		}
		return g
	}
	return "unknown (the platform's Versions name no controller)"
}
