package controller

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/grpclab/grpclab/cluster/local/proc"
)

// Binary is the nginx executable; Debian's has http_v2, ssl, grpc, map and split_clients.
var Binary = "/usr/sbin/nginx"

const (
	confName = "nginx.conf"
	pidName  = "nginx.pid"
	// defaultWait bounds Start, Reload and Stop when the context has no deadline.
	defaultWait = 15 * time.Second
	// quitGrace is how long Stop lets a graceful shutdown (SIGQUIT) drain streams before
	// SIGTERM, then SIGKILL.
	quitGrace = 5 * time.Second
)

// Start writes stateDir/nginx.conf, checks it with `nginx -t`, and starts nginx detached (its
// own session: it outlives the calling process until Stop). It returns once the admin endpoint
// answers the config's generation.
func Start(ctx context.Context, stateDir string, cfg *Config) error {
	if cfg == nil {
		return fmt.Errorf("start nginx: nil config")
	}
	if pid, alive := running(stateDir); alive {
		return fmt.Errorf("start nginx: already running in %s (pid %d); use Reload", stateDir, pid)
	}
	if err := prepareState(stateDir); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	conf := filepath.Join(stateDir, confName)
	if err := os.WriteFile(conf, []byte(cfg.Text), 0o644); err != nil {
		return fmt.Errorf("start nginx: write config: %w", err)
	}
	if err := testConfig(ctx, stateDir, conf); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	stderr, err := os.OpenFile(filepath.Join(stateDir, "nginx.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	defer stderr.Close()
	// With "daemon on" (the default) nginx forks a master into its own session and the
	// command returns; Setsid also keeps the brief launcher out of our process group.
	cmd := exec.CommandContext(ctx, Binary, args(stateDir, conf)...)
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("start nginx: %w%s", err, logTail(stateDir))
	}
	if err := waitGeneration(ctx, cfg, nil); err != nil {
		// Do not leave a detached nginx behind that nobody knows is there.
		_ = Stop(context.Background(), stateDir)
		return fmt.Errorf("start nginx: %w%s", err, logTail(stateDir))
	}
	return nil
}

// Reload checks the new configuration with `nginx -t` first (a bad one leaves the running
// configuration untouched), installs it, sends SIGHUP and waits for the new generation.
func Reload(ctx context.Context, stateDir string, cfg *Config) error {
	if cfg == nil {
		return fmt.Errorf("reload nginx: nil config")
	}
	pid, alive := running(stateDir)
	if !alive {
		return fmt.Errorf("reload nginx: not running in %s", stateDir)
	}
	conf := filepath.Join(stateDir, confName)
	next := conf + ".next"
	if err := os.WriteFile(next, []byte(cfg.Text), 0o644); err != nil {
		return fmt.Errorf("reload nginx: write config: %w", err)
	}
	if err := testConfig(ctx, stateDir, next); err != nil {
		return fmt.Errorf("reload nginx: %w", err)
	}
	prev, err := os.ReadFile(conf)
	if err != nil {
		return fmt.Errorf("reload nginx: read running config: %w", err)
	}
	if err := os.Rename(next, conf); err != nil {
		return fmt.Errorf("reload nginx: %w", err)
	}
	old := children(pid)
	// nginx reports a configuration it cannot apply (a port in use, say) only in its log, and
	// keeps the old one: watch the log so that fails fast instead of at the deadline.
	logFile := filepath.Join(stateDir, "error.log")
	var offset int64
	if fi, err := os.Stat(logFile); err == nil {
		offset = fi.Size()
	}
	failed := func() error { return emergSince(logFile, offset) }
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("reload nginx: signal pid %d: %w", pid, err)
	}
	if err := waitGeneration(ctx, cfg, failed); err != nil {
		// nginx kept the old configuration; so does the file, for the next start.
		_ = os.WriteFile(conf, prev, 0o644)
		return fmt.Errorf("reload nginx: %w%s", err, logTail(stateDir))
	}
	// Until the old workers close their listening sockets they still accept connections with
	// the old configuration; the new generation answering is not enough.
	if err := waitOldWorkers(ctx, old); err != nil {
		return fmt.Errorf("reload nginx: %w", err)
	}
	return nil
}

// waitOldWorkers waits until every old worker has exited or is draining ("worker process is
// shutting down": it no longer accepts). Draining workers may keep long streams for a while.
func waitOldWorkers(ctx context.Context, pids []int) error {
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	for _, pid := range pids {
		for alivePID(pid) {
			info, err := proc.Read(pid)
			if err != nil || strings.Contains(strings.Join(info.Argv, " "), "shutting down") {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("wait for old worker %d to stop accepting: %w", pid, ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}

// children lists the live child processes of pid (the nginx workers).
func children(pid int) []int {
	var out []int
	for _, c := range proc.Scan(proc.ChildOf(pid)) {
		out = append(out, c.PID)
	}
	return out
}

// Stop ends the nginx of stateDir: SIGQUIT (graceful), then SIGTERM and SIGKILL to its process
// group after deadlines, and waits until the master is gone. No pid file or a dead process
// means nothing to do.
func Stop(ctx context.Context, stateDir string) error {
	pid, alive := running(stateDir)
	if !alive {
		_ = os.Remove(filepath.Join(stateDir, pidName)) // stale or absent; nothing runs
		return nil
	}
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	// The whole escalation fits in quitGrace+4s even without a context deadline.
	steps := []proc.Step{
		{Signal: syscall.SIGQUIT, Wait: quitGrace},
		{Signal: syscall.SIGTERM, Wait: 2 * time.Second},
		// The master is a session and group leader; killing the group takes its workers.
		{Signal: syscall.SIGKILL, Group: true, Wait: 2 * time.Second},
	}
	if err := proc.Stop(ctx, pid, func() bool { return alivePID(pid) }, steps); err != nil {
		return fmt.Errorf("stop nginx: %w", err)
	}
	_ = os.Remove(filepath.Join(stateDir, pidName))
	return nil
}

// PID returns the running master's pid, or 0.
func PID(stateDir string) int {
	pid, alive := running(stateDir)
	if !alive {
		return 0
	}
	return pid
}

func args(stateDir, conf string) []string {
	// -p keeps every relative path (and the compiled-in log path) under stateDir; -e sends
	// startup errors there instead of the system nginx's log.
	return []string{"-p", stateDir + "/", "-c", conf, "-e", filepath.Join(stateDir, "error.log")}
}

// prepareState creates the temp directories. As root, workers run as nobody: they get the
// temp directories and search permission on stateDir, nothing more; key files keep their
// own permissions because only the master reads them.
func prepareState(stateDir string) error {
	if !filepath.IsAbs(stateDir) {
		return fmt.Errorf("state dir %q must be absolute", stateDir)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(stateDir, "tmp")
	dirs := []string{tmp}
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		dirs = append(dirs, filepath.Join(tmp, t))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return fmt.Errorf("look up worker user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, d := range dirs {
		if err := os.Chown(d, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", d, err)
		}
	}
	fi, err := os.Stat(stateDir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o001 == 0 {
		if err := os.Chmod(stateDir, fi.Mode().Perm()|0o001); err != nil {
			return fmt.Errorf("let workers search %s: %w", stateDir, err)
		}
	}
	return nil
}

func testConfig(ctx context.Context, stateDir, conf string) error {
	out, err := exec.CommandContext(ctx, Binary, append([]string{"-t", "-q"}, args(stateDir, conf)...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nginx -t %s: %w: %s", conf, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// running reads the pid file and reports whether that process is an nginx that is alive.
func running(stateDir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(stateDir, pidName))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, alivePID(pid)
}

// alivePID reports whether pid is a live (not zombie) nginx, so a recycled pid is never
// signalled.
func alivePID(pid int) bool { return proc.Alive(pid, proc.Named("nginx")) }

func withDefaultDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultWait)
}

// waitGeneration polls the admin endpoint on fresh connections (old workers keep serving
// kept-alive ones during a reload) until it answers cfg's generation.
func waitGeneration(ctx context.Context, cfg *Config, failed func() error) error {
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	url := "http://" + cfg.AdminListen + "/generation"
	want := strconv.Itoa(cfg.Generation)
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("wait for generation %s: %w", want, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
			resp.Body.Close()
			got := strings.TrimSpace(string(body))
			if got == want {
				return nil
			}
			last = "generation " + got
		} else {
			last = err.Error()
		}
		if failed != nil {
			if err := failed(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for generation %s at %s (last: %s): %w", want, url, last, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// emergSince returns the first "[emerg]" line nginx logged after offset, as an error.
func emergSince(logFile string, offset int64) error {
	f, err := os.Open(logFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "[emerg]") {
			return fmt.Errorf("nginx rejected the new configuration: %s", strings.TrimSpace(line))
		}
	}
	return nil
}

// logTail adds the end of error.log to an error, where nginx says what went wrong.
func logTail(stateDir string) string {
	b, err := os.ReadFile(filepath.Join(stateDir, "error.log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "; error.log: " + string(bytes.Join(lines, []byte(" | ")))
}
