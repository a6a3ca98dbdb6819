package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An env file naming a platform grpclab does not know is an error naming the file and the
// platform, for status and down alike; nothing is touched.
func TestSavedUnknownPlatform(t *testing.T) {
	dir := t.TempDir()
	env := filepath.Join(dir, "env.json")
	if err := os.WriteFile(env, []byte(`{"platform":"minikube"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []func(context.Context, []string, io.Writer, io.Writer) error{status, down} {
		var out, errOut bytes.Buffer
		err := cmd(context.Background(), []string{"--state-dir", dir}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), env) || !strings.Contains(err.Error(), `"minikube"`) {
			t.Errorf("got %v, want an error naming %s and the platform", err, env)
		}
	}
	if _, err := os.Stat(env); err != nil {
		t.Errorf("env file: %v", err)
	}
}

// With nothing saved, status says the platform is down.
func TestStatusNothingSaved(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := status(context.Background(), []string{"--state-dir", t.TempDir()}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "grpclab is down") {
		t.Errorf("status = %q", out.String())
	}
}
