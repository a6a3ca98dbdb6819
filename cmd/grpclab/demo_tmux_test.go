package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grpclab/grpclab/cluster/local/netns"
)

// tmuxSession is a private tmux server (its own socket) running one command in a pane.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

// screen is the pane's whole history as a person would read it (no escape codes).
func (s *tmuxSession) screen() string {
	return s.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "demo")
}

// display is one tmux format of the pane.
func (s *tmuxSession) display(format string) string {
	return strings.TrimSpace(s.tmux("display-message", "-p", "-t", "demo", format))
}

// waitFor polls the screen until re matches, and returns the match.
func (s *tmuxSession) waitFor(re *regexp.Regexp, within time.Duration) []string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if m := re.FindStringSubmatch(s.screen()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q within %s:\n%s", re, within, s.screen())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDemoTmux uses the demo as a person at a terminal: in tmux, from the NetworkPolicy
// step (which starts network namespaces and nftables), Enter between steps, then Ctrl-C
// half way. The demo tears down, and no process, port, network namespace or nftables table
// of it is left.
func TestDemoTmux(t *testing.T) {
	needNginx(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install tmux; hack/deps.sh test installs it)")
	}
	dir := t.TempDir()
	s := &tmuxSession{t: t, socket: fmt.Sprintf("grpclab-test-%d", os.Getpid())}
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	// A terminal of 120 columns, so that any line over 100 would show as one.
	s.tmux("new-session", "-d", "-s", "demo", "-x", "120", "-y", "50", "-c", dir,
		filepath.Join(binDir, "grpclab"), "demo", "--platform", "local", "--from", "10")
	s.tmux("set-option", "-t", "demo", "remain-on-exit", "on")

	// Step 10 has run and the demo waits for Enter before step 11.
	s.waitFor(regexp.MustCompile(`press Enter for step 11/`), 2*time.Minute)
	r := readState(t, dir)
	pid := s.display("#{pane_pid}")
	var prefix string
	if m := regexp.MustCompile(`data plane (glab-[0-9a-f]+) `).FindStringSubmatch(s.screen()); m != nil {
		prefix = m[1]
	} else if netnsReady() {
		t.Fatalf("step 10 started no data plane:\n%s", s.screen())
	}
	if !strings.Contains(s.tmux("capture-pane", "-p", "-e", "-t", "demo"), "\033[") {
		t.Errorf("no colour on a terminal")
	}
	s.tmux("send-keys", "-t", "demo", "Enter")
	s.waitFor(regexp.MustCompile(`press Enter for step 12/`), 2*time.Minute)
	screen := s.screen()
	if !regexp.MustCompile(`(?m)^[✓○] .*`).MatchString(screen[strings.Index(screen, "step 11/"):]) {
		t.Errorf("step 11 has no ✓ verdict:\n%s", screen)
	}

	// Ctrl-C half way: the demo tears everything down and exits.
	s.tmux("send-keys", "-t", "demo", "C-c")
	// The pane stays (remain-on-exit) once the demo has exited; tmux may draw its
	// "Pane is dead (status N, …)" line a moment later, so the status is read when it shows.
	deadline := time.Now().Add(time.Minute)
	for s.display("#{pane_dead}") != "1" {
		if time.Now().After(deadline) {
			st, _ := os.ReadFile("/proc/" + pid + "/status")
			t.Fatalf("the demo (pid %s) still runs a minute after Ctrl-C:\n%s\n%s", pid, st, s.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := regexp.MustCompile(`Pane is dead \(status (\d+)`).FindStringSubmatch(s.screen()); m != nil && m[1] != "0" {
		t.Errorf("the demo exited %s after Ctrl-C, want 0", m[1])
	} else if m == nil {
		if status := s.display("#{pane_dead_status}"); status != "" && status != "0" {
			t.Errorf("the demo exited %s after Ctrl-C, want 0", status)
		}
	}
	screen = s.screen()
	for _, want := range []string{"interrupted before step 12", "==> local platform down"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "── step 12/") {
		t.Errorf("step 12 ran after Ctrl-C:\n%s", screen)
	}
	assertNothingLeft(t, dir, r)
	if prefix != "" {
		left, err := netns.Leftovers(prefix)
		if err != nil || len(left) > 0 {
			t.Errorf("data plane %s left behind: %v %v", prefix, left, err)
		}
		for _, c := range [][]string{{"ip", "netns", "list"}, {"nft", "list", "tables"}} {
			out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
			if err != nil || strings.Contains(string(out), prefix) {
				t.Errorf("%v after Ctrl-C: %v\n%s", c, err, out)
			}
		}
	}
}
