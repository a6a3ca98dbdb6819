package platforms

import (
	"context"
	"strings"
	"testing"
)

func TestOpenUnknownPlatform(t *testing.T) {
	if _, err := Open("minikube", Options{StateDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), `"minikube"`) {
		t.Errorf("Open(minikube): %v, want an error naming it", err)
	}
}

// Open builds the local platform from saved state even where no grpclab-server is at hand:
// status and down need none.
func TestOpenLocalWithoutServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	p, err := Open(Local, Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Open(local): %v", err)
	}
	if err := p.Down(context.Background()); err != nil {
		t.Errorf("Down of nothing: %v", err)
	}
}
