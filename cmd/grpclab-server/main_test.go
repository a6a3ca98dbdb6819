package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fullstorydev/grpcurl"
	"github.com/jhump/protoreflect/grpcreflect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/grpclab/grpclab/internal/expect"
	"github.com/grpclab/grpclab/services/interceptor"
	"github.com/grpclab/grpclab/services/serve"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real grpclab-server once per test run.
func binary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH: cannot build the binary under test")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "grpclab-server-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "grpclab-server")
		out, err := exec.Command(goTool, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build grpclab-server: %v", buildErr)
	}
	return binPath
}

// startServer runs the binary on 127.0.0.1:0 and returns the address read
// from its listening line, and a function that SIGTERMs it and returns its
// exit error and stderr.
func startServer(t *testing.T, args ...string) (addr string, stop func() (error, string)) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
	}
	if !strings.HasPrefix(line, serve.ListeningPrefix) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("first stdout line = %q, want prefix %q; stderr: %s", line, serve.ListeningPrefix, stderr.String())
	}
	addr = strings.TrimPrefix(line, serve.ListeningPrefix)
	stopped := false
	stop = func() (error, string) {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			err = cmd.Wait()
		}
		return err, stderr.String()
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

// capture keeps response headers and prints responses as JSON.
type capture struct {
	*grpcurl.DefaultEventHandler
	headers metadata.MD
}

func (c *capture) OnReceiveHeaders(md metadata.MD) { c.headers = md }

func TestBinaryWithGrpcurl(t *testing.T) {
	addr, stop := startServer(t, "--name", "grpcurl-test-0")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	refClient := grpcreflect.NewClientAuto(ctx, conn)
	defer refClient.Reset()
	source := grpcurl.DescriptorSourceFromServer(ctx, refClient)

	t.Run("list", func(t *testing.T) {
		services, err := grpcurl.ListServices(source)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, want := range []string{"com.example.User", "helloworld.Greeter", "grpc.health.v1.Health",
			"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} {
			if !slices.Contains(services, want) {
				t.Errorf("services %v lack %s", services, want)
			}
		}
	})
	t.Run("describe", func(t *testing.T) {
		d, err := source.FindSymbol("com.example.User.WatchEvents")
		if err != nil {
			t.Fatalf("find: %v", err)
		}
		text, err := grpcurl.GetDescriptorText(d, source)
		if err != nil {
			t.Fatal(err)
		}
		if want := "rpc WatchEvents ( .com.example.WatchEventsRequest ) returns ( stream .com.example.Event )"; !strings.Contains(text, want) {
			t.Errorf("describe = %q, want it to contain %q", text, want)
		}
	})

	invoke := func(t *testing.T, method, body string, headers ...string) (*capture, string) {
		t.Helper()
		parser, formatter, err := grpcurl.RequestParserAndFormatter(grpcurl.FormatJSON, source, strings.NewReader(body), grpcurl.FormatOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		h := &capture{DefaultEventHandler: &grpcurl.DefaultEventHandler{Out: &out, Formatter: formatter}}
		if err := grpcurl.InvokeRPC(ctx, source, conn, method, headers, h, parser.Next); err != nil {
			t.Fatalf("invoke %s: %v", method, err)
		}
		return h, out.String()
	}
	t.Run("SayHello", func(t *testing.T) {
		h, out := invoke(t, "helloworld.Greeter/SayHello", `{"name":"grpcurl"}`)
		if h.Status.Err() != nil {
			t.Fatalf("status: %v", h.Status.Err())
		}
		if !strings.Contains(out, "Hello grpcurl from grpcurl-test-0") {
			t.Errorf("output = %q", out)
		}
		if got := h.headers.Get(interceptor.HeaderServedBy); !slices.Equal(got, []string{"grpcurl-test-0"}) {
			t.Errorf("x-served-by = %v", got)
		}
	})
	t.Run("Login", func(t *testing.T) {
		h, out := invoke(t, "com.example.User/Login", `{}`, "username: alice", "password: alice-password")
		if h.Status.Err() != nil {
			t.Fatalf("status: %v", h.Status.Err())
		}
		if !strings.Contains(out, `"username": "alice"`) {
			t.Errorf("output = %q", out)
		}
	})
	t.Run("Login wrong password", func(t *testing.T) {
		h, _ := invoke(t, "com.example.User/Login", `{}`, "username: alice", "password: nope")
		if h.Status.Code().String() != "Unauthenticated" {
			t.Errorf("status = %v, want Unauthenticated", h.Status.Err())
		}
		if got := h.headers.Get(interceptor.HeaderServedBy); !slices.Equal(got, []string{"grpcurl-test-0"}) {
			t.Errorf("x-served-by on error = %v", got)
		}
	})

	err, stderr := stop()
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr: %s", err, stderr)
	}
	if !strings.Contains(stderr, `"msg":"stopped"`) {
		t.Errorf("stderr lacks the stopped log line: %s", stderr)
	}
	if strings.Contains(stderr, "alice-password") || strings.Contains(stderr, `"nope"`) {
		t.Errorf("a password reached the logs: %s", stderr)
	}
}

func TestBinaryBadInputExits2(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string { return expect.File(t, dir, name, body) }
	typo := write("typo.yaml", "users:\n- username: bob\n  pasword: x\n")
	badMethod := write("method.yaml", "users:\n- username: bob\n  password: x\n  allow: [Logout]\n")
	tests := []struct {
		name string
		args []string
		want []string // substrings of the one stderr line
	}{
		{"unknown flag", []string{"--bogus"}, []string{"-bogus"}},
		{"bad bool", []string{"--auth=maybe"}, []string{"-auth"}},
		{"stray argument", []string{"serve"}, []string{`"serve"`}},
		{"tls half", []string{"--tls-cert", "x.pem"}, []string{"--tls-key"}},
		{"tls missing files", []string{"--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"}, []string{"--tls-cert", "/nonexistent/c.pem"}},
		{"bad log level", []string{"--log-level", "loud"}, []string{"--log-level", "loud"}},
		{"users file missing", []string{"--users", filepath.Join(dir, "none.yaml")}, []string{"--users", "none.yaml"}},
		{"users file typo", []string{"--users", typo}, []string{"--users", typo, `unknown field "pasword"`}},
		{"users file bad method", []string{"--users", badMethod}, []string{badMethod, "users[0].allow[0]", `"Logout"`}},
		{"probe without target", []string{"probe"}, []string{"probe", "TARGET"}},
		{"probe bad target", []string{"probe", "nohostport"}, []string{"probe", "nohostport"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary(t), tt.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("exit = %v, want code 2; stderr: %s", err, stderr.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
				t.Errorf("stderr is not one line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr %q does not name %q", msg, w)
				}
			}
		})
	}
}

func TestBinaryProbe(t *testing.T) {
	addr, _ := startServer(t)
	// A port that was just free: nothing listens, so connects are refused.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := lis.Addr().String()
	lis.Close()

	out, err := exec.Command(binary(t), "probe", "--timeout", "2s", addr, closed).Output()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	want := map[string][2]string{addr: {"allow", "SERVING"}, closed: {"deny", "deny"}}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("probe printed %d lines, want 2: %s", len(lines), out)
	}
	for _, line := range lines {
		var r probeResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		w, ok := want[r.Target]
		if !ok {
			t.Fatalf("unexpected target in %q", line)
		}
		if r.TCP != w[0] || r.GRPC != w[1] {
			t.Errorf("%s: tcp=%s grpc=%s, want tcp=%s grpc=%s (%s)", r.Target, r.TCP, r.GRPC, w[0], w[1], r.Detail)
		}
	}
}

// TestBinaryProbeCall: --call reports the interceptor's answer for a method, the L7 half of
// the isolation suite.
func TestBinaryProbeCall(t *testing.T) {
	addr, _ := startServer(t)
	for _, c := range []struct {
		md   []string
		want string
	}{
		{[]string{"-H", "username=alice", "-H", "password=alice-password"}, "PermissionDenied"},
		// admin passes the interceptor; the handler then refuses the empty username.
		{[]string{"-H", "username=admin", "-H", "password=admin-password"}, "InvalidArgument"},
		{nil, "Unauthenticated"},
	} {
		args := append([]string{"probe", "--timeout", "2s", "--call", "/com.example.User/DeleteUser"}, c.md...)
		out, err := exec.Command(binary(t), append(args, addr)...).Output()
		if err != nil {
			t.Fatalf("probe %v: %v", c.md, err)
		}
		var r probeResult
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("probe output %q: %v", out, err)
		}
		if r.Call != c.want {
			t.Errorf("DeleteUser with %v: call=%s (%s), want %s", c.md, r.Call, r.CallMessage, c.want)
		}
	}
}
