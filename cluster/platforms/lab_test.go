package platforms

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/internal/expect"
	"github.com/grpclab/grpclab/manifests"
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

// recorder is a platform that records what is applied and deleted, by kind/namespace/name.
type recorder struct {
	cluster.Platform
	calls []string
}

func (r *recorder) Apply(_ context.Context, objs []manifests.Object) error {
	r.calls = append(r.calls, "apply "+names(objs, "NetworkPolicy"))
	return nil
}

func (r *recorder) Delete(_ context.Context, objs []manifests.Object) error {
	r.calls = append(r.calls, "delete "+names(objs, ""))
	return nil
}

// names lists the objects of kind ("" for every kind) as Kind/namespace/name.
func names(objs []manifests.Object, kind string) string {
	var out []string
	for _, o := range objs {
		if k := o.GetObjectKind().GroupVersionKind().Kind; kind == "" || k == kind {
			out = append(out, k+"/"+o.GetNamespace()+"/"+o.GetName())
		}
	}
	return strings.Join(out, " ")
}

// TestUse: switching variants applies the new set, then deletes what only the previous set
// defined; an object both define (a variant's replacement) is applied, never deleted.
func TestUse(t *testing.T) {
	r := &recorder{}
	l := &Lab{cfg: LabConfig{Variants: manifests.DefaultVariants(), Progress: io.Discard}, p: r}
	if _, err := l.Use(context.Background()); err != nil {
		t.Fatal(err)
	}
	objs, err := l.Use(context.Background(), "networkpolicy/default-deny")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(objs, "NetworkPolicy"); got != "NetworkPolicy/default/default-deny-ingress" {
		t.Errorf("Use returned NetworkPolicies %q, want the variant's", got)
	}
	if _, err := l.Use(context.Background(), "gateway-api/reflection"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"apply ",
		"apply NetworkPolicy/default/default-deny-ingress",
		"apply ",
		"delete NetworkPolicy/default/default-deny-ingress",
	}
	if !slices.Equal(r.calls, want) {
		t.Errorf("calls\n%q\nwant\n%q", r.calls, want)
	}
	if got := names(l.Objects(), "GRPCRoute"); !strings.Contains(got, "GRPCRoute/default/foo-route") {
		t.Errorf("Objects after Use(reflection) hold GRPCRoutes %q, want foo-route", got)
	}

	down := &Lab{cfg: LabConfig{Variants: manifests.DefaultVariants(), Progress: io.Discard}}
	if _, err := down.Use(context.Background()); err == nil {
		t.Error("Use before Up: nil error")
	}
}
