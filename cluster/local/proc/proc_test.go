package proc

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sleeper starts `sh -c script` as a child of the test, marked by env, and stops it at the end.
func sleeper(t *testing.T, script string, env ...string) *Child {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Stop(context.Background(), []Step{{Signal: syscall.SIGKILL, Group: true, Wait: 5 * time.Second}})
	})
	return c
}

func TestReadAndMatch(t *testing.T) {
	c := sleeper(t, "exec sleep 30", "GRPCLAB_PROC_TEST="+t.Name())
	// exec replaces sh with sleep; wait until /proc shows it.
	deadline := time.Now().Add(5 * time.Second)
	for !Alive(c.PID(), Named("sleep")) {
		if time.Now().After(deadline) {
			t.Fatal("the child never showed up as sleep in /proc")
		}
		time.Sleep(10 * time.Millisecond)
	}
	i, err := Read(c.PID())
	if err != nil {
		t.Fatal(err)
	}
	if i.PPID != os.Getpid() || i.Exited() || len(i.Argv) == 0 || i.Argv[0] != "sleep" {
		t.Errorf("Read = %+v, want a live sleep whose parent is the test", i)
	}
	if Alive(c.PID(), Runs("/usr/sbin/nginx")) {
		t.Error("Alive with another binary's Runs: a recycled pid would be signalled")
	}
	found := Scan(HasEnv("GRPCLAB_PROC_TEST", t.Name()))
	if len(found) != 1 || found[0].PID != c.PID() {
		t.Errorf("Scan(HasEnv) = %+v, want only pid %d", found, c.PID())
	}
	kids := Scan(ChildOf(os.Getpid()))
	seen := false
	for _, k := range kids {
		seen = seen || k.PID == c.PID()
	}
	if !seen {
		t.Errorf("Scan(ChildOf(test)) = %+v lacks pid %d", kids, c.PID())
	}
	if _, err := Read(-1); err == nil {
		t.Error("Read(-1): no error")
	}
}

func TestStopGraceful(t *testing.T) {
	c := sleeper(t, "exec sleep 30")
	start := time.Now()
	if err := c.Stop(context.Background(), Graceful); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("SIGTERM took %s: sleep ends on it at once", took)
	}
	if _, ok := <-c.Done(); ok {
		t.Error("Done not closed after Stop")
	}
	if Alive(c.PID(), nil) {
		t.Error("alive after Stop")
	}
}

func TestStopEscalates(t *testing.T) {
	// A shell that ignores SIGTERM: only SIGKILL ends it.
	c := sleeper(t, `trap "" TERM; echo ready; while :; do sleep 0.05; done`)
	time.Sleep(100 * time.Millisecond) // let the trap be set
	steps := []Step{{Signal: syscall.SIGTERM, Wait: 200 * time.Millisecond}, {Signal: syscall.SIGKILL, Group: true, Wait: 5 * time.Second}}
	start := time.Now()
	if err := c.Stop(context.Background(), steps); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("stopped after %s, before SIGTERM's grace ran out: the trap was not set", took)
	}
	if c.Err() == nil || !strings.Contains(c.Err().Error(), "killed") {
		t.Errorf("exit %v, want killed", c.Err())
	}
}

func TestStopCancelledSkipsToLastStep(t *testing.T) {
	c := sleeper(t, `trap "" TERM; while :; do sleep 0.05; done`)
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := c.Stop(ctx, []Step{{Signal: syscall.SIGTERM, Wait: time.Minute}, {Signal: syscall.SIGKILL, Group: true, Wait: 5 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a done context still waited SIGTERM's minute: %s", took)
	}
}

func TestStopErrorNamesPidAndSignal(t *testing.T) {
	c := sleeper(t, `trap "" TERM; while :; do sleep 0.05; done`)
	time.Sleep(100 * time.Millisecond)
	err := c.Stop(context.Background(), []Step{{Signal: syscall.SIGTERM, Wait: 100 * time.Millisecond}})
	want := "stop pid " + strconv.Itoa(c.PID()) + ": still running 100ms after SIGTERM"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	if err := Stop(context.Background(), 0, func() bool { return true }, Kill); err == nil {
		t.Error("Stop(pid 0): no error; it would signal this process group")
	}
	if err := Stop(context.Background(), c.PID(), func() bool { return true }, nil); err == nil || !strings.Contains(err.Error(), "no signal to send") {
		t.Errorf("Stop without steps: %v, want an error saying so", err)
	}
	if err := Stop(context.Background(), 0, func() bool { return false }, Kill); err != nil {
		t.Errorf("Stop of what is already gone: %v, want nil", err)
	}
}

func TestCommandContextStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := CommandContext(ctx, time.Second, "sleep", "30").Run()
	if err == nil {
		t.Fatal("sleep 30 finished within 100ms")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s to stop after the context ended", took)
	}
}
