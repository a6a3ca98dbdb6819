package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"image/png"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/grpclab/grpclab/cluster/certs"
	"github.com/grpclab/grpclab/internal/expect"
	"github.com/grpclab/grpclab/scenarios/call"
	"github.com/grpclab/grpclab/services/serve"
)

// testCA writes a CA to dir and returns its file and a server certificate for hosts.
func testCA(t *testing.T, dir string, hosts ...string) (string, tls.Certificate) {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return caFile, cert
}

// startServer serves the project's services on 127.0.0.1 (TLS when creds is set).
func startServer(t *testing.T, creds credentials.TransportCredentials) string {
	t.Helper()
	s, err := serve.New(serve.Config{Name: "bench-test", Auth: true, Creds: creds})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.GRPC.Serve(lis)
	t.Cleanup(s.GRPC.Stop)
	return lis.Addr().String()
}

// hopHost is the TLS server name of the test's in-process hop.
const hopHost = "hop.test"

// TestTinyRun measures a few dozen calls against in-process servers: plaintext as the
// "direct" path, TLS as the hop, and checks what the report and its files say.
func TestTinyRun(t *testing.T) {
	dir := t.TempDir()
	caFile, cert := testCA(t, dir, hopHost)
	direct := startServer(t, nil)
	hop := startServer(t, credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))

	routes := []Route{
		{Method: SayHello, Path: Direct, Backend: "bar-svc", Target: call.Target{Address: direct, Plaintext: true}},
		{Method: SayHello, Path: Gateway, Backend: "bar-svc", Target: call.Target{Address: hop, Host: hopHost, CAFile: caFile}},
		{Method: Login, Path: Direct, Backend: "bar-svc", Target: call.Target{Address: direct, Plaintext: true}},
		{Method: SayHelloStream, Path: Gateway, Backend: "bar-svc", Target: call.Target{Address: hop, Host: hopHost, CAFile: caFile}},
	}
	s := Settings{Duration: 150 * time.Millisecond, Warmup: 30 * time.Millisecond, Repetitions: 2, MaxCalls: 40, Concurrencies: []int{1, 2}}
	cases := Plan(routes, s.Concurrencies)
	// 4 routes × 2 concurrencies with ghz, 2 SayHello routes × 2 concurrencies × 2 modes with the client.
	if len(cases) != 16 {
		t.Fatalf("planned %d cases, want 16", len(cases))
	}
	started := time.Now()
	results, err := Measure(context.Background(), s, cases, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if len(r.Repetitions) != s.Repetitions {
			t.Errorf("%s: %d repetitions, want %d", r.Name(), len(r.Repetitions), s.Repetitions)
		}
		if r.Median.OK == 0 || r.Median.ErrorCount() != 0 {
			t.Errorf("%s: %d OK calls, errors %v; want some calls and no error", r.Name(), r.Median.OK, r.Median.Errors)
		}
		if r.Median.P50 <= 0 || r.Median.P50 > r.Median.P99 || r.Median.P99 > r.Median.Max {
			t.Errorf("%s: p50 %v p99 %v max %v are not ordered", r.Name(), r.Median.P50, r.Median.P99, r.Median.Max)
		}
		for _, rep := range r.Repetitions {
			if rep.Calls > s.MaxCalls {
				t.Errorf("%s: %d calls counted in one repetition, want at most %d", r.Name(), rep.Calls, s.MaxCalls)
			}
		}
		if r.Tool == ToolGHZ && r.Median.ToolP50 == 0 {
			t.Errorf("%s: ghz's own p50 was not read", r.Name())
		}
	}

	rep := NewReport("test", map[string]string{"gateway": "in-process TLS server"}, s, started, results)
	if len(rep.Hops) != 6 { // SayHello gateway: ghz ×2 conc, client shared ×2, client per-call ×2
		t.Errorf("%d hop ratios, want 6: %+v", len(rep.Hops), rep.Hops)
	}
	if len(rep.Multiplexing) != 4 { // direct and gateway at 2 concurrencies
		t.Errorf("%d multiplexing ratios, want 4: %+v", len(rep.Multiplexing), rep.Multiplexing)
	}
	if rep.Instrument.GHZP50 == 0 || rep.Instrument.ClientP50 == 0 {
		t.Errorf("instrument not checked: %+v", rep.Instrument)
	}

	out := filepath.Join(dir, "out")
	if err := Write(out, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: %v", JSONFile, err)
	}
	if back.Settings.Duration != s.Duration || back.Settings.Warmup != s.Warmup || len(back.Settings.Concurrencies) != 2 {
		t.Errorf("%s settings = %+v, want %+v", JSONFile, back.Settings, s)
	}
	if !strings.Contains(string(b), `"duration": "150ms"`) {
		t.Errorf("%s does not spell the duration as 150ms", JSONFile)
	}
	if len(back.Results) != len(results) || back.Results[0].Median.P50 != results[0].Median.P50 || back.Machine.Cores == 0 || back.Controller != "in-process TLS server" {
		t.Errorf("%s does not hold the report: %d results, machine %+v, controller %q", JSONFile, len(back.Results), back.Machine, back.Controller)
	}
	md, err := os.ReadFile(filepath.Join(out, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	expect.Contains(t, MarkdownFile, string(md), "## Each hop over direct", "| SayHello | gateway | bar-svc | 1 | ghz |", "## A new connection per call", "## Instrument check", "| SayHelloStream | gateway | bar-svc |", rep.Machine.CPU)
	for _, name := range []string{LatencyPlot, MultiplexingPlot} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 200 {
			t.Errorf("%s is %v, want a readable plot", name, b)
		}
	}
}

// TestErrorsAreCounted: calls that fail are counted by code by both tools, never dropped
// and never timed as if they had answered.
func TestErrorsAreCounted(t *testing.T) {
	addr := startServer(t, nil)
	wrong := Login
	wrong.Metadata = map[string]string{"username": "alice", "password": "wrong"}
	r := Route{Method: wrong, Path: Direct, Backend: "foo-svc", Target: call.Target{Address: addr, Plaintext: true}}
	s := Settings{Duration: 50 * time.Millisecond, Repetitions: 1, MaxCalls: 30, Concurrencies: []int{1}}
	cases := []Case{newCase(r, 1, Shared, ToolGHZ), newCase(r, 1, Shared, ToolClient)}
	results, err := Measure(context.Background(), s, cases, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if res.Median.OK != 0 || res.Median.Errors["Unauthenticated"] == 0 || res.Median.Calls != res.Median.Errors["Unauthenticated"] {
			t.Errorf("%s: ok %d calls %d errors %v, want every call counted as Unauthenticated", res.Name(), res.Median.OK, res.Median.Calls, res.Median.Errors)
		}
		if res.Median.P50 != 0 {
			t.Errorf("%s: p50 %v from failed calls, want none", res.Name(), res.Median.P50)
		}
		if msg := res.Median.ErrorSamples["Unauthenticated"]; msg == "" {
			t.Errorf("%s: no sample message for the Unauthenticated calls", res.Name())
		}
	}
}

// TestMeasureStopsWhenCancelled: Ctrl-C (a cancelled context) ends a run in progress with
// either tool, well before its duration.
func TestMeasureStopsWhenCancelled(t *testing.T) {
	addr := startServer(t, nil)
	r := Route{Method: SayHello, Path: Direct, Backend: "bar-svc", Target: call.Target{Address: addr, Plaintext: true}}
	for _, tool := range []string{ToolGHZ, ToolClient} {
		t.Run(tool, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			s := Settings{Duration: time.Minute, Repetitions: 1, MaxCalls: 1 << 30, Concurrencies: []int{1}}
			done := make(chan error, 1)
			go func() {
				_, err := Measure(ctx, s, []Case{newCase(r, 1, Shared, tool)}, io.Discard)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Error("Measure cancelled mid-run = nil error, want it stopped")
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Measure did not stop within 20s of being cancelled (its run lasts a minute)")
			}
		})
	}
}

func TestClientRefusesStreams(t *testing.T) {
	r := Route{Method: SayHelloStream, Path: Direct, Backend: "bar-svc", Target: call.Target{Address: "127.0.0.1:1", Plaintext: true}}
	s := Settings{Duration: time.Millisecond, Repetitions: 1, MaxCalls: 1, Concurrencies: []int{1}}
	_, err := Measure(context.Background(), s, []Case{newCase(r, 1, Shared, ToolClient)}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SayHelloStream") {
		t.Errorf("err = %v, want one naming the method the client cannot make", err)
	}
}
