package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
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

// TestParseArgs runs the cases of testdata/args.txt: a name, runc's arguments and the
// file parseArgs must find in them.
func TestParseArgs(t *testing.T) {
	names := map[string]bool{}
	for _, c := range readCases(t, "args.txt", 3) {
		name, args := c.fields[0], c.fields[1]
		want, err := parseWant(c.fields[2])
		if err != nil {
			t.Fatalf("%s: case %q: %v", c.where, name, err)
		}
		if names[name] {
			t.Fatalf("%s: case %q: name used twice", c.where, name)
		}
		names[name] = true
		t.Run(name, func(t *testing.T) {
			got, ok := parseArgs(strings.Fields(args))
			if ok != (want != target{}) || got != want {
				t.Errorf("%s: parseArgs(%q) = %+v, %v; want %+v", c.where, args, got, ok, want)
			}
		})
	}
}

// parseWant reads the last column of args.txt: "-" for no file (the zero target), or the
// subcommand, the file and "config" or "process".
func parseWant(s string) (target, error) {
	if s == "-" {
		return target{}, nil
	}
	f := strings.Fields(s)
	if len(f) != 3 || (f[2] != "config" && f[2] != "process") {
		return target{}, fmt.Errorf(`want "-" or "SUBCOMMAND FILE config|process", got %q`, s)
	}
	return target{command: f[0], file: f[1], inConfig: f[2] == "config"}, nil
}

// testCase is one line of a testdata table.
type testCase struct {
	where  string // file:line, for messages
	fields []string
}

// readCases reads testdata/name: one case a line, columns separated by "|" and trimmed;
// blank lines and lines starting with "#" are skipped. A line with another number of
// columns, or a file without cases, fails the test.
func readCases(t *testing.T, name string, columns int) []testCase {
	t.Helper()
	path := filepath.Join("testdata", name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []testCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, n)
		fields := strings.Split(line, "|")
		if len(fields) != columns {
			t.Fatalf("%s: %d columns, want %d: %q", where, len(fields), columns, line)
		}
		for j := range fields {
			fields[j] = strings.TrimSpace(fields[j])
		}
		cases = append(cases, testCase{where: where, fields: fields})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	return cases
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

	// The cases are testdata/execs.txt: the wrapper's arguments and the file it edits.
	edits := map[string][2]string{ // the last column: what config.json and the process file hold afterwards
		"config":  {edited, process},
		"process": {config, processEdited},
		"-":       {config, process},
	}
	for _, c := range readCases(t, "execs.txt", 2) {
		want, ok := edits[c.fields[1]]
		if !ok {
			t.Fatalf("%s: case %q: edits %q, want config, process or -", c.where, c.fields[0], c.fields[1])
		}
		cmdline, wantConfig, wantProcess := c.fields[0], want[0], want[1]
		t.Run(cmdline, func(t *testing.T) {
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
			args := strings.Fields(strings.NewReplacer("BUNDLE", bundle, "PROCESS", processFile).Replace(cmdline))
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
			for file, want := range map[string]string{filepath.Join(bundle, "config.json"): wantConfig, processFile: wantProcess} {
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
