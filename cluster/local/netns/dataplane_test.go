package netns

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// probeTimeout bounds each denied connection; allowed ones answer in a few milliseconds.
const probeTimeout = 400 * time.Millisecond

// needRoot turns a missing privilege into a visible skip with its reason.
func needRoot(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		if !errors.Is(err, ErrNeedsRoot) {
			t.Fatalf("Available: %v does not wrap ErrNeedsRoot", err)
		}
		t.Skipf("data plane cannot run here: %v", err)
	}
}

// build compiles a package of this module into dir.
func build(t *testing.T, dir, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

func TestDataPlane(t *testing.T) {
	needRoot(t)
	if removed, err := CleanupStale(); err != nil {
		t.Fatalf("clean stale runs: %v", err)
	} else if len(removed) > 0 {
		t.Logf("removed leftovers of crashed runs: %v", removed)
	}
	bin := t.TempDir()
	server := build(t, bin, "github.com/grpclab/grpclab/cmd/grpclab-server")
	client := build(t, bin, "github.com/grpclab/grpclab/cluster/local/netns/testdata/userclient")

	ctx := t.Context()
	workloads, _ := lab(t, "")
	start := time.Now()
	plane, err := Start(ctx, Config{Server: server, Workloads: workloads, Log: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	prefix := plane.Prefix()
	closed := false
	t.Cleanup(func() {
		if !closed {
			if err := plane.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	})
	t.Logf("data plane %s up in %s", prefix, time.Since(start).Round(time.Millisecond))

	tests := []struct {
		name    string
		variant string // of the manifests; "" means no policy
	}{
		{"no policy: everything reachable", ""},
		{"article test-network-policy", "networkpolicy/article"},
		{"default deny ingress in default", "networkpolicy/default-deny"},
		{"only the gateway namespace reaches the backends", "networkpolicy/gateway-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, nps := lab(t, tt.variant)
			res, err := plane.Verify(ctx, nps, probeTimeout)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res)
			if !res.OK() {
				if rs, err := plane.Ruleset(ctx); err == nil {
					t.Logf("live ruleset:\n%s", rs)
				}
				t.Fatalf("data plane disagrees with the model in %d cells", len(res.Mismatches))
			}
		})
	}

	// L7: NetworkPolicy admits frontend-0 to db-0:6379, but it cannot tell Login from
	// DeleteUser; the interceptor can.
	t.Run("allowed at L3/L4, denied at L7", func(t *testing.T) {
		_, nps := lab(t, "networkpolicy/article")
		if err := plane.Apply(ctx, nps); err != nil {
			t.Fatal(err)
		}
		calls := []struct {
			src, user, password, method, wantCode string
		}{
			{"frontend-0", "alice", "alice-password", "DeleteUser", "PermissionDenied"},
			{"frontend-0", "alice", "alice-password", "Login", "OK"},
			{"frontend-0", "admin", "admin-password", "DeleteUser", "OK"},
			{"frontend-0", "alice", "wrong", "Login", "Unauthenticated"},
			// The same call from a workload the policy blocks never reaches the interceptor.
			{"client-0", "admin", "admin-password", "DeleteUser", "DeadlineExceeded"},
		}
		for _, c := range calls {
			cmd, err := plane.Command(ctx, c.src, client, "--addr", "172.17.0.10:6379", "--user", c.user,
				"--password", c.password, "--method", c.method, "--timeout", "1s")
			if err != nil {
				t.Fatal(err)
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s as %s: %v", c.src, c.user, err)
			}
			var got struct{ Code, Message string }
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("userclient output %q: %v", out, err)
			}
			if got.Code != c.wantCode {
				t.Errorf("%s -> db-0:6379 %s as %s: code %s (%s), want %s", c.src, c.method, c.user, got.Code, got.Message, c.wantCode)
			} else {
				t.Logf("%s -> db-0:6379 %s as %s: %s %s", c.src, c.method, c.user, got.Code, got.Message)
			}
		}
	})

	if err := plane.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	closed = true
	left, err := Leftovers(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("left behind after Close: %v", left)
	}
	t.Logf("whole data-plane test: %s", time.Since(start).Round(time.Millisecond))
}

// TestCleanupAfterCrash fakes a run that died without Close (namespaces, a veth pair, an
// nftables table and a process holding a namespace) and checks Cleanup leaves nothing.
func TestCleanupAfterCrash(t *testing.T) {
	needRoot(t)
	prefix := "glab-crash" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
	node, pod := prefix+"-node", prefix+"-w0"
	ctx := context.Background()
	steps := [][]string{
		{"ip", "netns", "add", node},
		{"ip", "netns", "add", pod},
		{"ip", "link", "add", "glv0", "netns", node, "type", "veth", "peer", "name", "eth0", "netns", pod},
		{"ip", "netns", "exec", node, "nft", "add", "table", "inet", prefix},
	}
	for _, s := range steps {
		if _, err := run(ctx, s[0], s[1:]...); err != nil {
			_ = Cleanup(prefix)
			t.Fatal(err)
		}
	}
	sleeper := exec.Command("ip", "netns", "exec", pod, "sleep", "300")
	if err := sleeper.Start(); err != nil {
		_ = Cleanup(prefix)
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleeper.Wait() }()
	if err := os.MkdirAll(ownerDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// An owner that is long gone: the run counts as crashed.
	if err := os.WriteFile(filepath.Join(ownerDir, prefix), []byte("999999999"), 0o644); err != nil {
		t.Fatal(err)
	}

	left, err := Leftovers(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) < 3 { // two namespaces and the owner record
		t.Fatalf("fake crash not visible to Leftovers: %v", left)
	}
	removed, err := CleanupStale()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range removed {
		found = found || r == prefix
	}
	if !found {
		t.Errorf("CleanupStale removed %v, not %s", removed, prefix)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("the process inside the namespace survived cleanup")
		_ = sleeper.Process.Kill()
	}
	if left, err := Leftovers(prefix); err != nil || len(left) > 0 {
		t.Errorf("left behind: %v (err %v)", left, err)
	}
}

func TestNeedsRootError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: the needs-root path cannot be reached here")
	}
	workloads, _ := lab(t, "")
	_, err := Start(t.Context(), Config{Server: "x", Workloads: workloads})
	if !errors.Is(err, ErrNeedsRoot) || !strings.HasPrefix(err.Error(), "needs root: ") {
		t.Fatalf("Start as uid %d: %v, want a needs root error", os.Geteuid(), err)
	}
}
