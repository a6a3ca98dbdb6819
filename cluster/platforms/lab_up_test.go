package platforms

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/grpclab/grpclab/cluster"
)

// Ctrl-C half way through Up (the context cancelled as soon as the first pod's process is
// recorded, while Apply starts the rest) leaves nothing running and no env file: Up takes
// down what it started before it returns.
func TestUpCancelledLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	server := buildServer(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	state, envDir := filepath.Join(dir, "state"), filepath.Join(dir, "env")
	go func() {
		for ctx.Err() == nil {
			if b, err := os.ReadFile(filepath.Join(state, "state.json")); err == nil && bytes.Contains(b, []byte(`"pid"`)) {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var progress bytes.Buffer
	l, err := NewLab(ctx, LabConfig{
		Platform: Local,
		Options:  Options{StateDir: state, ServerBinary: server},
		EnvDir:   envDir,
		Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Up(ctx); err == nil {
		// Apply outran the cancellation: still, Down must leave nothing.
		t.Logf("Up finished before Ctrl-C took effect:\n%s", progress.String())
		if err := l.Down(context.Background()); err != nil {
			t.Fatal(err)
		}
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("Up after Ctrl-C: %v, want context.Canceled", err)
	}
	if !bytes.Contains(progress.Bytes(), []byte("==> local platform down")) {
		t.Errorf("no teardown line:\n%s", progress.String())
	}
	if l.Platform() != nil {
		t.Errorf("Platform after a failed Up = %v, want nil", l.Platform())
	}
	for _, path := range []string{state, filepath.Join(envDir, cluster.EnvFile)} {
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left (%v)", path, err)
		}
	}
	t.Logf("progress:\n%s", progress.String())
	abs, _ := filepath.Abs(state)
	marker := []byte("GRPCLAB_LOCAL_STATE=" + abs + "\x00")
	procs, _ := os.ReadDir("/proc")
	for _, e := range procs {
		if env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ")); err == nil && bytes.Contains(append(env, 0), marker) {
			if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && !bytes.Contains(stat, []byte(") Z ")) {
				t.Errorf("pid %s of this platform still runs", e.Name())
			}
		}
	}
}

// buildServer builds grpclab-server into dir for a local platform, or skips the test where
// the local platform cannot run (no nginx).
func buildServer(t *testing.T, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx is not installed (apt-get install nginx): the local platform needs it")
	}
	bin := filepath.Join(dir, "grpclab-server")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/grpclab-server").CombinedOutput(); err != nil {
		t.Fatalf("build grpclab-server: %v\n%s", err, out)
	}
	return bin
}
