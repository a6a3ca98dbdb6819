package proc

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Step is one rung of a stop: a signal, to the process or to its whole process group, and
// how long to wait for the process to be gone before the next rung.
type Step struct {
	Signal syscall.Signal
	Group  bool
	Wait   time.Duration
}

// Graceful stops a server: SIGTERM (grpclab-server drains with GracefulStop), 5 s, then SIGKILL.
var Graceful = []Step{{Signal: syscall.SIGTERM, Wait: 5 * time.Second}, {Signal: syscall.SIGKILL, Wait: 5 * time.Second}}

// Kill is SIGKILL at once, for a process nothing needs to drain.
var Kill = []Step{{Signal: syscall.SIGKILL, Wait: 5 * time.Second}}

// Stop takes the steps in order until alive reports the process gone, and returns nil then.
// A done ctx cuts every wait but the last step's, which has SIGKILL's job of making sure. The
// error names the pid and the last signal it survived, or a signal that could not be sent.
func Stop(ctx context.Context, pid int, alive func() bool, steps []Step) error {
	if !alive() {
		return nil
	}
	if pid <= 0 {
		// 0 and -1 would signal this process's group, or every process it may signal.
		return fmt.Errorf("stop pid %d: not a process", pid)
	}
	if len(steps) == 0 {
		return fmt.Errorf("stop pid %d: no signal to send", pid)
	}
	for n, s := range steps {
		if n > 0 && !alive() {
			return nil
		}
		target := pid
		if s.Group {
			target = -pid
		}
		if err := syscall.Kill(target, s.Signal); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop pid %d: %s: %w", pid, signalName(s.Signal), err)
		}
		last := n == len(steps)-1
		for deadline := time.Now().Add(s.Wait); alive(); {
			if time.Now().After(deadline) || (!last && ctx.Err() != nil) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !alive() {
		return nil
	}
	last := steps[len(steps)-1]
	to := ""
	if last.Group {
		to = " (to its process group)"
	}
	return fmt.Errorf("stop pid %d: still running %s after %s%s", pid, last.Wait, signalName(last.Signal), to)
}

// signalNames are the signals the platform's stops send, as errors name them.
var signalNames = map[syscall.Signal]string{
	syscall.SIGTERM: "SIGTERM", syscall.SIGKILL: "SIGKILL", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP",
}

func signalName(s syscall.Signal) string {
	if n, ok := signalNames[s]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", int(s))
}

// Child is a process this one started. It is reaped as soon as it exits, so it never
// lingers as a zombie, and Done says when.
type Child struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts cmd and reaps it in the background.
func Start(cmd *exec.Cmd) (*Child, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	c := &Child{cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// PID is the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Args is the child's command line, for errors.
func (c *Child) Args() []string { return c.cmd.Args }

// Done is closed once the child has exited and been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// Err is how the child exited; valid once Done is closed.
func (c *Child) Err() error { return c.err }

// Stop stops the child with the steps (see Stop) and returns once it has been reaped.
func (c *Child) Stop(ctx context.Context, steps []Step) error {
	alive := func() bool {
		select {
		case <-c.done:
			return false
		default:
			return true
		}
	}
	if err := Stop(ctx, c.PID(), alive, steps); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(c.cmd.Args, " "), err)
	}
	return nil
}

// CommandContext is exec.CommandContext for a short command (a probe, a tool) that must not
// outlive ctx: when ctx is done it gets SIGTERM, and SIGKILL grace later.
func CommandContext(ctx context.Context, grace time.Duration, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = grace
	return cmd
}
