package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two runs as `make e2e` records them: the local emulator and kind with Traefik.
const (
	localResults = `{
  "platform": "local",
  "controller": "",
  "versions": {"gateway": "nginx (emulated controller)", "nginx": "nginx/1.22.1", "platform": "local"},
  "cases": [
    {"scenario": "routing/method", "name": "SayHello reaches bar", "result": "passed", "durationMs": 4, "detail": ""},
    {"scenario": "stream/default-timeout", "name": "a stream quiet for 11s is cut at the 10s idle timeout", "result": "passed", "durationMs": 11020, "detail": "1 of 2 events, open 10.004s"},
    {"scenario": "tls", "name": "unknown host | no certificate", "result": "passed", "durationMs": 3, "detail": ""},
    {"scenario": "isolation", "name": "no policy: truth table", "result": "passed", "durationMs": 900, "detail": "0 mismatches"},
    {"scenario": "isolation", "name": "cluster data plane (the platform's NetworkPolicy enforcer)", "result": "skipped", "durationMs": 0, "detail": "local platform: no CNI"}
  ]
}`
	kindResults = `{
  "platform": "kind",
  "controller": "traefik",
  "versions": {"controller": "traefik", "traefik": "v3.6.2", "kubernetes": "v1.35.0", "gateway-api": "v1.6.3", "images": "built", "kind": "v0.33.0"},
  "cases": [
    {"scenario": "routing/method", "name": "SayHello reaches bar", "result": "passed", "durationMs": 30, "detail": ""},
    {"scenario": "stream/default-timeout", "name": "a stream quiet for 11s is cut at the 10s idle timeout", "result": "failed", "durationMs": 22000, "detail": "the stream was not cut: 2 of 2 events in 22s", "finding": "Traefik's idle timeout is 180s (respondingTimeouts.idleTimeout)"},
    {"scenario": "tls", "name": "unknown host | no certificate", "result": "failed", "durationMs": 5, "detail": "` + longDetail + `"},
    {"scenario": "isolation", "name": "cluster data plane (the platform's NetworkPolicy enforcer)", "result": "passed", "durationMs": 4000, "detail": ""},
    {"scenario": "reflection/production", "name": "no reflection through the gateway", "result": "passed", "durationMs": 7, "detail": ""}
  ]
}`
	longDetail = "handshake succeeded with the default certificate CN=TRAEFIK DEFAULT CERT where the spec says the listener has no certificate for this host; the client saw x509: certificate is valid for ..."
)

// writeRun makes dir/results.json with body; an empty body makes no file.
func writeRun(t *testing.T, name, body string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if body != "" {
		if err := os.WriteFile(filepath.Join(dir, "results.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCompare(t *testing.T) {
	local, kind := writeRun(t, "local", localResults), writeRun(t, "kind", kindResults)
	out := filepath.Join(t.TempDir(), "sub", "compare.md")
	var stdout, stderr bytes.Buffer
	// --out after the directories, as hack/compare.sh writes it.
	if err := run(context.Background(), []string{"compare", local, kind, "--out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("compare: %v\n%s", err, stderr.String())
	}
	md := stdout.String()
	t.Logf("compare output:\n%s", md)
	for _, want := range []string{
		"- **local** (`" + local + "`): platform local · controller nginx (emulated controller), nginx/1.22.1 · 4 passed, 0 failed, 1 skipped\n",
		"- **kind** (`" + kind + "`): platform kind · controller traefik v3.6.2 · kubernetes v1.35.0 · gateway-api v1.6.3 · images built · 3 passed, 2 failed (1 known finding), 0 skipped\n",
		"| scenario | case | local | kind | difference |\n|---|---|---|---|---|\n",
		"| routing/method | SayHello reaches bar | ✅ passed | ✅ passed | same |\n",
		"| stream/default-timeout | a stream quiet for 11s is cut at the 10s idle timeout | ✅ passed | ❌ failed (known finding) | finding: Traefik's idle timeout is 180s (respondingTimeouts.idleTimeout) |\n",
		"| tls | unknown host \\| no certificate | ✅ passed | ❌ failed | local passed, kind failed: " + longDetail[:120] + "… |\n",
		"| isolation | no policy: truth table | ✅ passed | — | only in local |\n",
		"| isolation | cluster data plane (the platform's NetworkPolicy enforcer) | ⏭️ skipped | ✅ passed | local skipped, kind passed: local platform: no CNI |\n",
		"| reflection/production | no reflection through the gateway | — | ✅ passed | only in kind |\n",
		"\n6 cases: 1 same · 3 differ · 2 only in one run\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("comparison lacks %q", want)
		}
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("--out: %v", err)
	}
	if string(written) != md {
		t.Errorf("--out file differs from stdout:\n%s", written)
	}
}

func TestCompareLabelsRunsOnOnePlatform(t *testing.T) {
	envoy := strings.NewReplacer(`"controller": "traefik"`, `"controller": "envoy-gateway"`).Replace(kindResults)
	a, b, c := writeRun(t, "a", kindResults), writeRun(t, "b", envoy), writeRun(t, "c", kindResults)
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"compare", a, b, c}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	header := "| scenario | case | kind (traefik) #1 | kind (envoy-gateway) | kind (traefik) #3 | difference |"
	if md := stdout.String(); !strings.Contains(md, header) || !strings.Contains(md, "0 not in every run") {
		t.Fatalf("want header %q and three-run counts in:\n%s", header, md)
	}
}

func TestCompareErrors(t *testing.T) {
	good := writeRun(t, "good", localResults)
	missing := writeRun(t, "missing", "")
	malformed := writeRun(t, "malformed", `{"platform": "local", "cases": [{"scenario": "tls"`)
	wrong := writeRun(t, "wrong", `{"platform": "local", "cases": [{"scenario": "tls", "name": "sni", "result": "green"}]}`)
	for _, tc := range []struct {
		name  string
		args  []string
		want  []string // substrings of the error
		usage bool
	}{
		{"missing file", []string{good, missing}, []string{filepath.Join(missing, "results.json"), "no such file"}, false},
		{"malformed file", []string{malformed, good}, []string{filepath.Join(malformed, "results.json"), "unexpected end of JSON input"}, false},
		{"unknown result", []string{good, wrong}, []string{filepath.Join(wrong, "results.json"), `result "green"`}, false},
		{"one run", []string{good}, []string{"at least two run directories, got 1"}, true},
		{"unknown flag", []string{good, good, "--colour"}, []string{"colour"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			err := run(context.Background(), append([]string{"compare"}, tc.args...), &stdout, &bytes.Buffer{})
			if err == nil {
				t.Fatalf("no error; output:\n%s", stdout.String())
			}
			checkRunError(t, err, tc.want, tc.usage)
			if stdout.Len() != 0 {
				t.Errorf("wrote a comparison despite the error:\n%s", stdout.String())
			}
		})
	}
}
