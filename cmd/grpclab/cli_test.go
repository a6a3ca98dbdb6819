package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binaries: grpclab brings the local platform up (grpclab-server
// processes and Debian's nginx) in a temporary directory, and each test checks what is left
// afterwards.

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "grpclab-cli-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir, ".", "../grpclab-server")
	build.Stderr = os.Stderr
	code := 1
	if err := build.Run(); err == nil {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func needNginx(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx is not installed (apt-get install nginx): the local platform needs it")
	}
}

// grpclab runs the CLI in dir and returns its output and exit code.
func grpclab(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "grpclab"), args...)
	cmd.Dir = dir
	out, code, err := combinedOutput(cmd)
	if err != nil {
		t.Fatalf("grpclab %v: %v", args, err)
	}
	return out, code
}

// combinedOutput runs cmd and returns its stdout and stderr together and its exit code; the
// error says only that it could not run.
func combinedOutput(cmd *exec.Cmd) (string, int, error) {
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode(), nil
	}
	return string(out), 0, err
}

// startMerged starts cmd with its stderr on its stdout and returns that stream.
func startMerged(t *testing.T, cmd *exec.Cmd) io.Reader {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdout
}

// checkRunError checks that a command's error names every want and is a usageError (exit
// status 2) exactly when usage is set.
func checkRunError(t *testing.T, err error, want []string, usage bool) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	var u usageError
	if errors.As(err, &u) != usage {
		t.Errorf("usage error = %v, want %v (%v)", !usage, usage, err)
	}
}

// recorded is what the local platform's state file says it started.
type recorded struct {
	Ingress, IngressHTTP, Admin string
	Listeners                   map[string]string
	Processes                   []struct {
		PID    int
		Addr   string
		Binary string
	}
}

func readState(t *testing.T, dir string) recorded {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".grpclab", "local", "state.json"))
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	var r recorded
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("state: %v", err)
	}
	return r
}

// running reports whether pid still runs bin (a zombie waiting for init does not count).
func running(pid int, bin string) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return strings.HasPrefix(string(cmdline), bin)
}

// assertNothingLeft checks that no process, port or file of the recorded platform remains.
func assertNothingLeft(t *testing.T, dir string, r recorded) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range r.Processes {
		for running(p.PID, p.Binary) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if running(p.PID, p.Binary) {
			t.Errorf("pid %d (%s) still runs", p.PID, p.Addr)
		}
	}
	addrs := []string{r.Ingress, r.IngressHTTP, r.Admin}
	for _, a := range r.Listeners {
		addrs = append(addrs, a)
	}
	for _, p := range r.Processes {
		addrs = append(addrs, p.Addr)
	}
	for _, a := range addrs {
		if a == "" {
			continue
		}
		if c, err := net.DialTimeout("tcp", a, 200*time.Millisecond); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections", a)
		}
	}
	// Also the processes the state never recorded (a crash between start and record): every
	// process the platform starts carries its state directory in its environment.
	marker := []byte("GRPCLAB_LOCAL_STATE=" + filepath.Join(dir, ".grpclab", "local") + "\x00")
	procs, _ := os.ReadDir("/proc")
	for _, e := range procs {
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(append(env, 0), marker) {
			if pid, _ := strconv.Atoi(e.Name()); running(pid, "") {
				t.Errorf("pid %s of this platform still runs", e.Name())
			}
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("files left in %s: %v %v", dir, entries, err)
	}
}

func TestUpStatusDown(t *testing.T) {
	needNginx(t)
	dir := t.TempDir()
	out, code := grpclab(t, dir, "up", "--platform", "local", "--detach")
	if code != 0 {
		t.Fatalf("up: exit %d\n%s", code, out)
	}
	for _, want := range []string{"==> load manifests", "==> local platform up", "==> apply", "gateway  127.0.0.1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("up output lacks %q:\n%s", want, out)
		}
	}
	var env struct {
		Platform string
		Gateway  struct{ Address string }
		Ingress  struct{ Address string }
		CAFile   string
	}
	b, err := os.ReadFile(filepath.Join(dir, ".grpclab", "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &env); err != nil || env.Platform != "local" || env.Gateway.Address == "" || env.Ingress.Address == "" || env.CAFile == "" {
		t.Fatalf("env.json = %s (%v)", b, err)
	}
	r := readState(t, dir)
	if len(r.Processes) == 0 {
		t.Fatal("state records no processes")
	}

	out, code = grpclab(t, dir, "up", "--platform", "local", "--detach")
	if code != 0 || !strings.Contains(out, "already up") {
		t.Errorf("second up: exit %d, want 0 and 'already up':\n%s", code, out)
	}
	out, code = grpclab(t, dir, "status")
	if code != 0 || !strings.Contains(out, "foo-0") || !strings.Contains(out, "running") {
		t.Errorf("status: exit %d:\n%s", code, out)
	}
	if out, code = grpclab(t, dir, "down"); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, out)
	}
	assertNothingLeft(t, dir, r)
	if out, code = grpclab(t, dir, "status"); code != 0 || !strings.Contains(out, "down") {
		t.Errorf("status after down: exit %d:\n%s", code, out)
	}
}

func TestBadExtraManifestStartsNothing(t *testing.T) {
	dir := t.TempDir()
	extra := filepath.Join(dir, "extra")
	if err := os.Mkdir(extra, 0o755); err != nil {
		t.Fatal(err)
	}
	broken := `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: broken-route
spec:
  parentRefs:
    - name: example-gateway
  rules:
    - backendRefs:
        - name: foo-svc
          port: 50051
          weight: -3
`
	if err := os.WriteFile(filepath.Join(extra, "route.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := grpclab(t, dir, "up", "--platform", "local", "--detach", "-f", extra)
	if code != 2 {
		t.Fatalf("up with a broken manifest: exit %d, want 2\n%s", code, out)
	}
	for _, want := range []string{"route.yaml", "broken-route", "weight"} {
		if !strings.Contains(out, want) {
			t.Errorf("error lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".grpclab")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something started: .grpclab exists (%v)", err)
	}
}

// TestDownAfterCrash kills `up` as soon as it has recorded its first process, half way
// through starting the pods; `down` must still find and stop everything.
func TestDownAfterCrash(t *testing.T) {
	needNginx(t)
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "grpclab"), "up", "--platform", "local", "--detach")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(dir, ".grpclab", "local", "state.json")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(statePath); err == nil && bytes.Contains(b, []byte(`"pid"`)) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("up recorded no process within 20s")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	r := readState(t, dir)
	if out, code := grpclab(t, dir, "down"); code != 0 {
		t.Fatalf("down after a crash: exit %d\n%s", code, out)
	}
	assertNothingLeft(t, dir, r)
}

// TestInterruptCleansUp: Ctrl-C on a foreground `up` tears everything down.
func TestInterruptCleansUp(t *testing.T) {
	needNginx(t)
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "grpclab"), "up", "--platform", "local")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "press Ctrl-C") {
			ready = true
			break
		}
	}
	if !ready {
		cmd.Process.Kill()
		t.Fatal("up never said it was ready")
	}
	r := readState(t, dir)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Errorf("up after Ctrl-C: %v", err)
	}
	assertNothingLeft(t, dir, r)
}

// TestCommandHelp: -h prints a command's flags and is no error, for every command.
func TestCommandHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), []string{c.name, "-h"}, &stdout, &stderr); err != nil {
				t.Fatalf("%s -h: %v", c.name, err)
			}
			if !strings.Contains(stderr.String(), "\n  -") { // flag.PrintDefaults' lines
				t.Errorf("%s -h printed no flags:\n%s", c.name, stderr.String())
			}
		})
	}
}
