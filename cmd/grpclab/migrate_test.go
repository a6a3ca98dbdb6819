package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/manifests/migrate"
)

// userDir copies testdata/name, a user's manifest directory, into a fresh directory that the
// test removes, and returns it: migrate reads it where a user's would be, and nothing it
// could write there lands in testdata.
func userDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMigrate converts testdata/migrate: the greeter workload in app/ and, in ingress.yaml,
// two Ingresses, one of them gRPC.
func TestMigrate(t *testing.T) {
	in := userDir(t, "migrate")
	outDir := filepath.Join(t.TempDir(), "migrated")
	out := filepath.Join(outDir, "gateway.yaml")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"migrate", "-f", in, "-o", out, "--gateway", "edge", "--gateway-class", "envoy"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("wrote to stdout despite -o:\n%s", stdout.String())
	}
	ing := filepath.Join(in, "ingress.yaml")
	wantStderr := []string{
		"warning: " + ing + "#1: Ingress default/greeter: nginx.ingress.kubernetes.io/proxy-read-timeout: \"3600\" not carried over: GRPCRoute has no timeouts field; the controller's own policy must set it",
		"warning: " + ing + "#2: Ingress default/web: nginx.ingress.kubernetes.io/backend-protocol: not a gRPC Ingress (backend-protocol is not set, so HTTP), left as it is",
		"wrote 3 objects to " + out + " (2 warnings)",
	}
	if got := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n"); !slices.Equal(got, wantStderr) {
		t.Errorf("stderr:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantStderr, "\n"))
	}

	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s:\n%s", out, written)
	var comments []string
	for _, line := range strings.Split(string(written), "\n") {
		if strings.HasPrefix(line, "#") {
			comments = append(comments, line)
		}
	}
	from := ", from Ingress default/greeter (" + ing + "#1)"
	wantComments := []string{
		"# Gateway default/edge" + from,
		"# GRPCRoute default/greeter" + from,
		"# HTTPRoute default/greeter-redirect" + from,
	}
	if !slices.Equal(comments, wantComments) {
		t.Errorf("comment lines %q, want %q", comments, wantComments)
	}
	if n := strings.Count(string(written), "\n---\n"); n != 2 {
		t.Errorf("%d document separators, want 2", n)
	}
	for _, leftover := range []string{"status:", "creationTimestamp"} {
		if strings.Contains(string(written), leftover) {
			t.Errorf("output holds %q", leftover)
		}
	}

	// Round trip: the output loads beside the input, strictly decoded and validated, and is
	// what Convert returns.
	loaded, err := manifests.Load(nil, in, outDir)
	if err != nil {
		t.Fatalf("load the output beside the input: %v", err)
	}
	input, err := manifests.Load(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	res, err := migrate.Convert(input, migrate.Options{GatewayName: "edge", GatewayClass: "envoy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != len(input)+len(res.Objects) {
		t.Fatalf("loaded %d objects, want %d input and %d converted", len(loaded), len(input), len(res.Objects))
	}
	for i, want := range res.Objects {
		got := loaded[len(input)+i]
		if got.Source != fmt.Sprintf("%s#%d", out, i+1) {
			t.Errorf("object %d comes from %s, want %s#%d", i, got.Source, out, i+1)
		}
		if !apiequality.Semantic.DeepEqual(specOf(got.Object), specOf(want.Object)) || got.Object.GetName() != want.Object.GetName() {
			t.Errorf("%s round-trips as\n%+v\nwant\n%+v", want.Object.GetName(), specOf(got.Object), specOf(want.Object))
		}
	}

	t.Run("stdout", func(t *testing.T) {
		var stdout bytes.Buffer
		if err := run(context.Background(), []string{"migrate", "-f", in, "--gateway=edge", "--gateway-class=envoy"}, &stdout, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if stdout.String() != string(written) {
			t.Errorf("stdout differs from the -o file:\n%s", stdout.String())
		}
	})
}

func specOf(o any) any {
	switch v := o.(type) {
	case *gatewayv1.Gateway:
		return v.Spec
	case *gatewayv1.GRPCRoute:
		return v.Spec
	case *gatewayv1.HTTPRoute:
		return v.Spec
	}
	return o
}

func TestMigrateErrors(t *testing.T) {
	// The error cases are directories of testdata/migrate-errors, read beside the workload.
	good := userDir(t, "migrate")
	app := filepath.Join(good, "app")
	errs := userDir(t, "migrate-errors")
	broken, noGRPC, badHost := filepath.Join(errs, "broken"), filepath.Join(errs, "no-grpc"), filepath.Join(errs, "bad-host")
	for _, tc := range []struct {
		name  string
		args  []string
		want  []string // substrings of the error
		usage bool
	}{
		{"bad manifest", []string{"-f", app, "-f", broken}, []string{filepath.Join(broken, "broken.yaml") + "#1", "Ingress greeter", `unknown field "spec.rulez"`}, true},
		{"missing directory", []string{"-f", filepath.Join(good, "nope")}, []string{filepath.Join(good, "nope")}, true},
		{"nothing to convert", []string{"-f", app, "-f", noGRPC}, []string{"nothing to convert"}, true},
		{"bad host", []string{"-f", app, "-f", badHost}, []string{filepath.Join(badHost, "ingress.yaml") + "#1: Ingress default/greeter: spec.rules[0].host: invalid host"}, true},
		{"bad gateway name", []string{"-f", good, "--gateway", "Edge"}, []string{`gateway name "Edge"`}, true},
		{"no directory", nil, []string{"want at least one -f DIR"}, true},
		{"positional argument", []string{good}, []string{"unexpected argument"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.yaml")
			if err := os.WriteFile(out, []byte("# before\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout bytes.Buffer
			err := run(context.Background(), append([]string{"migrate", "-o", out}, tc.args...), &stdout, &bytes.Buffer{})
			if err == nil {
				t.Fatal("no error")
			}
			checkRunError(t, err, tc.want, tc.usage)
			if b, _ := os.ReadFile(out); string(b) != "# before\n" || stdout.Len() != 0 {
				t.Errorf("output written despite the error: -o holds %q, stdout %q", b, stdout.String())
			}
			if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
				t.Errorf("left files beside -o: %v", entries)
			}
		})
	}
}
