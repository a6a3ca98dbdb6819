package local

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/grpclab/grpclab/cluster/local/proc"
	"github.com/grpclab/grpclab/services/serve"
)

// startTimeout bounds how long a replica may take to listen and report SERVING.
const startTimeout = 15 * time.Second

// start runs one replica detached from this process (its own session, so `up --detach` can
// exit and Ctrl-C in the terminal reaches only grpclab, which then cleans up), with stdout
// and stderr in a log file. The caller records the pid before waiting for readiness.
func start(bin string, p *process, args []string, env []string) error {
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.Pod, err)
	}
	defer logf.Close()
	p.Binary = bin
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// Reaped when it exits, so it never lingers as a zombie while we run; it is stopped by
	// pid, since `down` may be another process than the `up` that started it.
	c, err := proc.Start(cmd)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.Pod, err)
	}
	p.PID = c.PID()
	return nil
}

// waitReady waits until the replica has printed where it listens and its health
// service answers SERVING.
func waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for p.Addr == "" {
		addr, err := listeningAddr(p.Log)
		if err != nil {
			return err
		}
		if addr != "" {
			p.Addr = addr
			break
		}
		if !alive(p.PID, p.Binary) {
			return fmt.Errorf("pod %s exited before listening: %s", p.Pod, lastLine(p.Log))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pod %s: no listening line after %s: %w", p.Pod, startTimeout, ctx.Err())
		case <-tick.C:
		}
	}
	conn, err := grpc.NewClient(p.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("pod %s: %w", p.Pod, err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	for {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pod %s at %s not SERVING after %s (last: %v): %w", p.Pod, p.Addr, startTimeout, err, ctx.Err())
		case <-tick.C:
		}
	}
}

func listeningAddr(logPath string) (string, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", logPath, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), serve.ListeningPrefix); ok {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", nil
}

func lastLine(logPath string) string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// alive reports whether pid still runs bin, so a recycled pid is never signalled.
func alive(pid int, bin string) bool { return proc.Alive(pid, proc.Runs(bin)) }

// stop sends SIGTERM (the server drains gracefully), SIGKILL after a deadline, and returns
// once the process is gone.
func stop(ctx context.Context, pid int, bin string) error {
	return proc.Stop(ctx, pid, func() bool { return alive(pid, bin) }, proc.Graceful)
}

func logPath(dir, pod string) string { return filepath.Join(dir, "logs", pod+".log") }
