package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The test binary runs as the wrapper when this is set, so that TestExecsRealRunc can watch
// syscall.Exec hand over to a fake runc.
const asWrapperEnv = "GRPCLAB_RUNTIME_WRAPPER_TEST_AS_WRAPPER"

func TestMain(m *testing.M) {
	if os.Getenv(asWrapperEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		args string
		want target // zero: runc reads no capabilities from a file
	}{
		{"create --bundle", "create --bundle /b/c1 c1", target{"create", "/b/c1/config.json", true}},
		{"create --bundle=", "create --bundle=/b/c1 c1", target{"create", "/b/c1/config.json", true}},
		{"create -b", "create -b /b/c1 c1", target{"create", "/b/c1/config.json", true}},
		{"create -b=", "create -b=/b/c1 c1", target{"create", "/b/c1/config.json", true}},
		{"create single-dash long", "create -bundle /b/c1 c1", target{"create", "/b/c1/config.json", true}},
		{"create relative bundle", "create --bundle b/c1 c1", target{"create", "b/c1/config.json", true}},
		{"create no bundle is cwd", "create --pid-file /p c1", target{"create", "config.json", true}},
		{"create empty bundle is cwd", "create --bundle= c1", target{"create", "config.json", true}},
		{"create bundle after id", "create --pid-file /p c1 --bundle /b/c1", target{"create", "/b/c1/config.json", true}},
		{"create value flag not mistaken", "create --console-socket -b c1", target{"create", "config.json", true}},
		{"create as containerd calls it",
			"--root /var/run/docker/runtime-grpclab-runc/moby --log /run/c1/log.json --log-format json --systemd-cgroup " +
				"create --bundle /run/c1 --pid-file /run/c1/init.pid --console-socket /tmp/pty.sock c1",
			target{"create", "/run/c1/config.json", true}},
		{"global flags with =", "--root=/r --log=/l --debug create --bundle /b c1", target{"create", "/b/config.json", true}},
		{"global value named like a subcommand", "--log create state c1", target{}},
		{"-- before subcommand", "--debug -- create -b /b c1", target{"create", "/b/config.json", true}},
		{"run -b", "--root /r run -d -b /b c1", target{"run", "/b/config.json", true}},
		{"run no bundle", "run --detach c1", target{"run", "config.json", true}},
		{"exec --process", "--root /r --log /l exec --process /tmp/p.json --detach --pid-file /p c1", target{"exec", "/tmp/p.json", false}},
		{"exec --process=", "exec --process=/tmp/p.json c1", target{"exec", "/tmp/p.json", false}},
		{"exec -p", "exec -p /tmp/p.json c1", target{"exec", "/tmp/p.json", false}},
		{"exec -p=", "exec -p=/tmp/p.json c1", target{"exec", "/tmp/p.json", false}},
		{"exec value flag not mistaken", "exec --cwd -p c1 sh", target{}},
		{"exec without --process", "exec --tty --cwd / c1 sh", target{}},
		{"exec -p after --", "exec c1 -- sh -p /x", target{}},
		{"state", "--root /r state c1", target{}},
		{"start", "start c1", target{}},
		{"kill", "kill --all c1 KILL", target{}},
		{"delete", "--root /r delete --force c1", target{}},
		{"features", "features", target{}},
		{"ps", "ps --format json c1", target{}},
		{"update", "update --resources /tmp/r.json c1", target{}},
		{"--version", "--version", target{}},
		{"-v", "-v", target{}},
		{"--help", "--help", target{}},
		{"only global flags", "--root /r --debug", target{}},
		{"no arguments", "", target{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseArgs(strings.Fields(tt.args))
			if ok != (tt.want != target{}) || got != tt.want {
				t.Errorf("parseArgs(%q) = %+v, %v; want %+v", tt.args, got, ok, tt.want)
			}
		})
	}
}

// allCaps stands for docker's --privileged list, CAP_SYS_RESOURCE among the others.
const allCaps = `["CAP_CHOWN","CAP_SYS_ADMIN","CAP_SYS_RESOURCE","CAP_NET_ADMIN"]`
const capsWithout = `["CAP_CHOWN","CAP_SYS_ADMIN","CAP_NET_ADMIN"]`

func TestDropCap(t *testing.T) {
	// Fields the wrapper does not know must survive, large integers exactly.
	const rest = `"ociVersion":"1.0.2","linux":{"resources":{"memory":{"limit":9223372036854775807}},"x-unknown":[1,2.5,null]},"annotations":{"a":"b"}`
	tests := []struct {
		name     string
		inConfig bool
		in       string
		want     string // "" : the file is left as it was, byte for byte
	}{
		{
			name:     "config, every set",
			inConfig: true,
			in: `{` + rest + `,"process":{"args":["/sbin/init"],"rlimits":[{"type":"RLIMIT_NOFILE","hard":1048576,"soft":1048576}],"capabilities":{` +
				`"bounding":` + allCaps + `,"effective":` + allCaps + `,"inheritable":` + allCaps + `,"permitted":` + allCaps + `,"ambient":` + allCaps + `}}}`,
			want: `{` + rest + `,"process":{"args":["/sbin/init"],"rlimits":[{"type":"RLIMIT_NOFILE","hard":1048576,"soft":1048576}],"capabilities":{` +
				`"bounding":` + capsWithout + `,"effective":` + capsWithout + `,"inheritable":` + capsWithout + `,"permitted":` + capsWithout + `,"ambient":` + capsWithout + `}}}`,
		},
		{
			name:     "config, some sets, unknown key in capabilities",
			inConfig: true,
			in:       `{` + rest + `,"process":{"capabilities":{"bounding":` + allCaps + `,"effective":["CAP_CHOWN"],"x-future":{"k":1}}}}`,
			want:     `{` + rest + `,"process":{"capabilities":{"bounding":` + capsWithout + `,"effective":["CAP_CHOWN"],"x-future":{"k":1}}}}`,
		},
		{
			name:     "config, only CAP_SYS_RESOURCE",
			inConfig: true,
			in:       `{"process":{"capabilities":{"bounding":["CAP_SYS_RESOURCE"],"ambient":null}}}`,
			want:     `{"process":{"capabilities":{"bounding":[],"ambient":null}}}`,
		},
		{name: "config, no CAP_SYS_RESOURCE", inConfig: true, in: `{` + rest + `,"process":{"capabilities":{"bounding":` + capsWithout + `}}}`},
		{name: "config, no capabilities", inConfig: true, in: `{` + rest + `,"process":{"args":["sh"]}}`},
		{name: "config, null capabilities", inConfig: true, in: `{"process":{"capabilities":null}}`},
		{name: "config, no process", inConfig: true, in: `{` + rest + `}`},
		{
			name: "exec process file",
			in:   `{"args":["sh"],"env":["A=1"],"user":{"uid":0,"gid":0},"capabilities":{"bounding":` + allCaps + `,"permitted":` + allCaps + `}}`,
			want: `{"args":["sh"],"env":["A=1"],"user":{"uid":0,"gid":0},"capabilities":{"bounding":` + capsWithout + `,"permitted":` + capsWithout + `}}`,
		},
		{name: "exec process file, no capabilities", in: `{"args":["sh"],"cwd":"/"}`},
		{
			name: "capabilities under process in an exec file are not the process's",
			in:   `{"args":["sh"],"process":{"capabilities":{"bounding":` + allCaps + `}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(path, []byte(tt.in), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := dropCap(target{command: "test", file: path, inConfig: tt.inConfig}); err != nil {
				t.Fatalf("dropCap: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if string(got) != tt.in {
					t.Errorf("file changed:\n got %s\nwant %s", got, tt.in)
				}
				return
			}
			if !sameJSON(t, got, []byte(tt.want)) {
				t.Errorf("edited:\n got %s\nwant %s", got, tt.want)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want 0640", info.Mode().Perm())
			}
			if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".config.json.*")); len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

func TestDropCapErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"process":{"capabilities":{"bounding":"CAP_SYS_RESOURCE"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, file, wantErr string }{
		{"missing file", filepath.Join(dir, "absent", "config.json"), "no such file"},
		{"a set that is not a list", bad, "edit " + bad + ": process: capabilities: bounding:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := dropCap(target{command: "create", file: tt.file, inConfig: true})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("dropCap error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// sameJSON compares documents by value, numbers by their text.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	decode := func(data []byte) any {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("decode %s: %v", data, err)
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}

func TestRealRunc(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	selfDir, realDir := t.TempDir(), t.TempDir()
	// The wrapper installed as "runc" first on PATH must not find itself.
	if err := os.Symlink(self, filepath.Join(selfDir, "runc")); err != nil {
		t.Fatal(err)
	}
	fake := writeFakeRunc(t, realDir)

	t.Setenv("GRPCLAB_REAL_RUNC", "")
	t.Setenv("PATH", strings.Join([]string{"", "relative", selfDir, t.TempDir(), realDir}, string(os.PathListSeparator)))
	if got, err := realRunc(); err != nil || got != fake {
		t.Errorf("realRunc from PATH = %q, %v; want %q", got, err, fake)
	}

	t.Setenv("PATH", selfDir)
	if _, err := realRunc(); err == nil || !strings.Contains(err.Error(), "GRPCLAB_REAL_RUNC") {
		t.Errorf("realRunc with only itself on PATH: error %v, want one naming GRPCLAB_REAL_RUNC", err)
	}

	t.Setenv("GRPCLAB_REAL_RUNC", "/opt/runc")
	if got, err := realRunc(); err != nil || got != "/opt/runc" {
		t.Errorf("realRunc with GRPCLAB_REAL_RUNC = %q, %v; want /opt/runc", got, err)
	}
}

// TestExecsRealRunc runs the wrapper for real: runc must receive exactly the wrapper's
// arguments, and only create, run and exec --process may change a file.
func TestExecsRealRunc(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	fake := writeFakeRunc(t, t.TempDir())
	const config = `{"ociVersion":"1.0.2","process":{"capabilities":{"bounding":` + allCaps + `}}}`
	const edited = `{"ociVersion":"1.0.2","process":{"capabilities":{"bounding":` + capsWithout + `}}}`
	const process = `{"args":["sh"],"capabilities":{"effective":` + allCaps + `}}`
	const processEdited = `{"args":["sh"],"capabilities":{"effective":` + capsWithout + `}}`

	tests := []struct {
		args        string // BUNDLE and PROCESS stand for the files' paths
		wantConfig  string
		wantProcess string
	}{
		{"--root /r --log /l --log-format json create --bundle BUNDLE --pid-file /p c1", edited, process},
		{"run -d -b BUNDLE c1", edited, process},
		{"--root /r exec --process PROCESS --detach c1", config, processEdited},
		{"--root /r start c1", config, process},
		{"--root /r state c1", config, process},
		{"--root /r kill c1 9", config, process},
		{"--root /r delete --force c1", config, process},
		{"--root /r exec -t c1 sh", config, process},
		{"features", config, process},
		{"--version", config, process},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			dir := t.TempDir()
			bundle, processFile := filepath.Join(dir, "bundle"), filepath.Join(dir, "process.json")
			if err := os.Mkdir(bundle, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(processFile, []byte(process), 0o600); err != nil {
				t.Fatal(err)
			}
			args := strings.Fields(strings.NewReplacer("BUNDLE", bundle, "PROCESS", processFile).Replace(tt.args))
			out := filepath.Join(dir, "argv")
			cmd := exec.Command(self, args...)
			cmd.Env = append(os.Environ(), asWrapperEnv+"=1", "GRPCLAB_REAL_RUNC="+fake, "FAKE_RUNC_OUT="+out)
			if output, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("wrapper %v: %v\n%s", args, err, output)
			}
			argv, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("fake runc did not run: %v", err)
			}
			if got := strings.Split(strings.TrimSuffix(string(argv), "\n"), "\n"); !reflect.DeepEqual(got, args) {
				t.Errorf("runc got %q, want %q", got, args)
			}
			for file, want := range map[string]string{filepath.Join(bundle, "config.json"): tt.wantConfig, processFile: tt.wantProcess} {
				got, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if !sameJSON(t, got, []byte(want)) {
					t.Errorf("%s:\n got %s\nwant %s", filepath.Base(file), got, want)
				}
			}
		})
	}

	t.Run("error", func(t *testing.T) {
		cmd := exec.Command(self, "create", "--bundle", filepath.Join(t.TempDir(), "absent"), "c1")
		cmd.Env = append(os.Environ(), asWrapperEnv+"=1", "GRPCLAB_REAL_RUNC="+fake)
		output, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 || !strings.HasPrefix(string(output), "runtime-wrapper: create: ") {
			t.Errorf("wrapper on a missing bundle: exit %d, output %q; want exit 1 and runtime-wrapper: create: …", code, output)
		}
	})
}

// writeFakeRunc writes a runc that records its arguments, one a line, in $FAKE_RUNC_OUT.
func writeFakeRunc(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "runc")
	script := "#!/bin/sh\n[ -z \"$FAKE_RUNC_OUT\" ] || printf '%s\\n' \"$@\" >\"$FAKE_RUNC_OUT\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
