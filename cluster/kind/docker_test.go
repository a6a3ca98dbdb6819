package kind

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/grpclab/grpclab/internal/expect"
)

// The real check against this machine's docker CLI. Where a daemon answers, CheckDocker
// must pass; where it does not (this build machine), it must fail in one line.
func TestCheckDockerReal(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH; TestCheckDockerNoCLI covers that case")
	}
	daemonUp := exec.Command("docker", "info").Run() == nil
	err := CheckDocker(context.Background())
	if daemonUp {
		if err != nil {
			t.Fatalf("docker info succeeds but CheckDocker says: %v", err)
		}
		t.Log("a Docker daemon answers here; the no-daemon message is not exercised")
		return
	}
	if err == nil {
		t.Fatal("no Docker daemon answers but CheckDocker returned nil")
	}
	msg := err.Error()
	t.Logf("CheckDocker: %s", msg)
	if strings.Contains(msg, "\n") {
		t.Errorf("message spans lines: %q", msg)
	}
	expect.Contains(t, "message", msg, "running Docker daemon", "PLATFORM=local")
}

func TestCheckDockerNoCLI(t *testing.T) {
	old := dockerBinary
	dockerBinary = "grpclab-no-such-docker"
	defer func() { dockerBinary = old }()
	err := CheckDocker(context.Background())
	if err == nil || err.Error() != "kind platform needs Docker: no docker CLI on PATH (use PLATFORM=local)" {
		t.Errorf("CheckDocker without a CLI: %v", err)
	}
}

// The provider refuses to create a cluster without Docker, with the same line, before
// touching the kind library.
func TestProviderCreateWithoutDocker(t *testing.T) {
	if exec.Command("docker", "info").Run() == nil {
		t.Skip("a Docker daemon answers here; creating a cluster is not a unit test")
	}
	p := NewProvider()
	p.WithName("grpclab-test")
	_, err := p.Create(context.Background())
	if err == nil || !strings.Contains(err.Error(), "kind platform needs") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Create without Docker: %v", err)
	}
}
