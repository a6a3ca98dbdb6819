package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grpclab/grpclab/cluster/kind"
)

// The kind teardown tests bring real clusters up on the images `make images` built and bind the
// entry points' host ports (50051, 8443, 8080), so they run only when asked, with
// GRPCLAB_KIND_TESTS=1, where kind can run (.ci/run's kind phase does), and say why they skip
// everywhere else. Each uses its own cluster name.

func needKindBuilt(t *testing.T) {
	t.Helper()
	if os.Getenv("GRPCLAB_KIND_TESTS") != "1" {
		t.Skip("creates kind clusters on host ports 50051, 8443 and 8080: set GRPCLAB_KIND_TESTS=1 to run (.ci/run does, after the kind e2e)")
	}
	if err := kind.CheckDocker(context.Background()); err != nil {
		t.Skipf("kind cannot run here: %v", err)
	}
	if _, err := kind.ChooseImages(context.Background(), string(kind.Built), "traefik"); err != nil {
		t.Skipf("kind cannot run here on built images: %v", err)
	}
}

// kindLeft lists what Docker still holds of a cluster: its node containers, and kind's network
// when no other cluster's nodes use it.
func kindLeft(t *testing.T, cluster string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "label=io.x-k8s.kind.cluster="+cluster).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	left := strings.Fields(string(out))
	others, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=io.x-k8s.kind.cluster").Output()
	if len(left) == 0 && len(strings.Fields(string(others))) == 0 && exec.Command("docker", "network", "inspect", "kind").Run() == nil {
		left = append(left, "network kind")
	}
	return left
}

func kindUp(t *testing.T, dir, cluster string, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "grpclab"), "up", "--platform", "kind", "--controller", "traefik")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GRPCLAB_IMAGES=built", "GRPCLAB_KIND_CLUSTER=" + cluster}, env...)...)
	stdout := startMerged(t, cmd)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		exec.Command("docker", "rm", "-f", cluster+"-control-plane").Run()
	})
	return cmd, bufio.NewScanner(stdout)
}

// TestKindInterruptDeletesCluster: Ctrl-C while `up` installs the addons deletes the cluster.
func TestKindInterruptDeletesCluster(t *testing.T) {
	needKindBuilt(t)
	const cluster = "grpclab-test-interrupt"
	cmd, sc := kindUp(t, t.TempDir(), cluster)
	var lines []string
	created := false
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), "create or reuse kind cluster "+cluster) {
			created = true
			break
		}
	}
	if !created {
		cmd.Wait()
		t.Fatalf("the cluster never came up:\n%s", strings.Join(lines, "\n"))
	}
	if left := kindLeft(t, cluster); len(left) == 0 {
		t.Fatal("up says the cluster exists, but Docker has no node container of it")
	}
	// Mid-install: the pod network and the enforcer are under way.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		done <- cmd.Wait()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		t.Fatalf("up did not stop within 5 minutes of Ctrl-C:\n%s", strings.Join(lines, "\n"))
	}
	if left := kindLeft(t, cluster); len(left) > 0 {
		t.Errorf("after Ctrl-C, Docker still holds %v\n%s", left, strings.Join(lines, "\n"))
	}
}

// TestKindFailedStepDeletesCluster: an install step that fails (a wait that cannot succeed in
// 1 s) fails `up` with the step named and deletes the cluster.
func TestKindFailedStepDeletesCluster(t *testing.T) {
	needKindBuilt(t)
	const cluster = "grpclab-test-failed-step"
	cmd, sc := kindUp(t, t.TempDir(), cluster, "GRPCLAB_KIND_WAIT_TIMEOUT=1s")
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	err := cmd.Wait()
	out := strings.Join(lines, "\n")
	if err == nil {
		t.Fatalf("up succeeded with 1 s waits:\n%s", out)
	}
	if !strings.Contains(out, "install ") {
		t.Errorf("the error does not name the failed install step:\n%s", out)
	}
	if left := kindLeft(t, cluster); len(left) > 0 {
		t.Errorf("after a failed step, Docker still holds %v\n%s", left, out)
	}
}

// TestKindImageBuildInterruptLeavesNothing: Ctrl-C while `make images` preloads the node image
// (its build container runs) stops the build and leaves no container and no intermediate
// image; the image that was there before stays.
func TestKindImageBuildInterruptLeavesNothing(t *testing.T) {
	needKindBuilt(t)
	base := kind.BuiltNodeImage + "-base"
	var out strings.Builder
	cmd := exec.Command("bash", "../../hack/images/node.sh")
	cmd.Env = append(os.Environ(), "GRPCLAB_REBUILD=1")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // its own group, as a terminal's job
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	running := func() string {
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "ancestor="+base).Output()
		return strings.TrimSpace(string(out))
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Minute)
	for running() == "" {
		select {
		case err := <-exited:
			t.Fatalf("the node build ended (%v) before its build container started:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node build never started its build container:\n%s", out.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Ctrl-C reaches the terminal's whole foreground process group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil {
		t.Errorf("the interrupted build exited 0:\n%s", out.String())
	}
	if c := running(); c != "" {
		t.Errorf("after Ctrl-C the build container %s is still there", c)
	}
	for _, ref := range []string{base, kind.BuiltNodeImage + "-preloaded"} {
		if exec.Command("docker", "image", "inspect", ref).Run() == nil {
			t.Errorf("after Ctrl-C the intermediate image %s is still there", ref)
		}
	}
	if exec.Command("docker", "image", "inspect", kind.BuiltNodeImage).Run() != nil {
		t.Errorf("the node image %s that was there before is gone", kind.BuiltNodeImage)
	}
}
