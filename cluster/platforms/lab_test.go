package platforms

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/grpclab/grpclab/internal/expect"
)

// Bad input fails in NewLab, before anything starts, with an error naming what is wrong.
func TestNewLabBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		cfg  LabConfig
		want string
	}{
		{"unknown platform", LabConfig{Platform: "minikube"}, `PLATFORM="minikube": want kind or local`},
		{"missing manifest directory", LabConfig{Platform: Local, Dirs: []string{filepath.Join(dir, "nope")}}, "nope"},
		{"unknown variant", LabConfig{Platform: Local, Variants: []string{"no-such-variant"}}, "no-such-variant"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.StateDir = filepath.Join(dir, "state")
			l, err := NewLab(context.Background(), c.cfg)
			expect.Error(t, err, c.want)
			if l != nil {
				t.Errorf("NewLab returned a lab with its error")
			}
		})
	}
}

// A lab that never came up has nothing to take down.
func TestDownBeforeUp(t *testing.T) {
	l, err := NewLab(context.Background(), LabConfig{Platform: Local, Options: Options{StateDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Down(context.Background()); err != nil {
		t.Errorf("Down before Up: %v", err)
	}
	if l.Platform() != nil {
		t.Errorf("Platform before Up = %v, want nil", l.Platform())
	}
}
