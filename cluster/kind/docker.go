package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// dockerBinary is the docker CLI; a variable so tests can point it at a fake.
var dockerBinary = "docker"

// CheckDocker returns nil when a Docker daemon answers, else one line saying why the kind
// platform cannot run here. `make e2e PLATFORM=kind` prints that line and stops.
func CheckDocker(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	path, err := exec.LookPath(dockerBinary)
	if err != nil {
		return errors.New("kind platform needs Docker: no docker CLI on PATH (use PLATFORM=local)")
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "version", "--format", "{{.Server.Version}}")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		reason := firstLine(stderr.String())
		if reason == "" && err != nil {
			reason = err.Error()
		}
		if reason == "" {
			reason = "the daemon reported no server version"
		}
		return fmt.Errorf("kind platform needs a running Docker daemon: %s (use PLATFORM=local)", reason)
	}
	return nil
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// BuildImage runs `docker build` on the repository's Dockerfile. The docker CLI is the
// build tool here; only loading into nodes goes through the kind library.
func BuildImage(ctx context.Context, contextDir, image string) error {
	cmd := exec.CommandContext(ctx, dockerBinary, "build", "--tag", image, contextDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker build %s in %s: %w: %s", image, contextDir, err, lastLines(string(out), 5))
	}
	return nil
}

// LoadImage saves image to a temporary archive with `docker save` and imports it into
// every node's containerd with nodeutils.LoadImageArchive, what `kind load docker-image`
// does without the CLI.
func LoadImage(ctx context.Context, image string, nodeList []nodes.Node) error {
	dir, err := os.MkdirTemp("", "grpclab-image-")
	if err != nil {
		return fmt.Errorf("load image %s: %w", image, err)
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "image.tar")
	cmd := exec.CommandContext(ctx, dockerBinary, "save", "--output", archive, image)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker save %s: %w: %s", image, err, lastLines(string(out), 5))
	}
	return LoadImageArchive(archive, nodeList)
}

// LoadImageArchive imports an image archive into every node.
func LoadImageArchive(archive string, nodeList []nodes.Node) error {
	if len(nodeList) == 0 {
		return fmt.Errorf("load image archive %s: the cluster has no nodes", archive)
	}
	for _, n := range nodeList {
		f, err := os.Open(archive)
		if err != nil {
			return fmt.Errorf("load image archive: %w", err)
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("load image archive %s into node %s: %w", archive, n.String(), err)
		}
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// kindNetwork is the Docker network kind puts every cluster's nodes on.
const kindNetwork = "kind"

// removeIdleNetwork removes kind's Docker network once no container is attached to it: kind
// creates it on the first cluster and never removes it, and grpclab leaves nothing behind.
// Another cluster's nodes keep it in place.
func removeIdleNetwork(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, dockerBinary, "network", "inspect", "--format", "{{len .Containers}}", kindNetwork).Output()
	if err != nil {
		return nil // no such network
	}
	if strings.TrimSpace(string(out)) != "0" {
		return nil
	}
	if out, err := exec.CommandContext(ctx, dockerBinary, "network", "rm", kindNetwork).CombinedOutput(); err != nil {
		return fmt.Errorf("docker network rm %s: %w: %s", kindNetwork, err, lastLines(string(out), 3))
	}
	return nil
}
