// Command runtime-wrapper is an OCI runtime that dockerd runs in place of runc on the grpclab CI
// host only (see docs/ci-host.md). That host's capability bounding set lacks CAP_SYS_RESOURCE, so
// runc cannot grant it and every `docker run --privileged` (each kind node) fails with "unable to
// apply caps: operation not permitted". The wrapper removes CAP_SYS_RESOURCE from the capability
// sets runc is asked to apply, then execs the real runc with the same arguments. Nothing else
// changes: every other subcommand, flag and field reaches runc as it was.
//
// The real runc is $GRPCLAB_REAL_RUNC, else the first runc on PATH that is not this program.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// missingCap is the capability the host cannot grant.
const missingCap = "CAP_SYS_RESOURCE"

// capSets are the sets of an OCI process's "capabilities" object.
var capSets = []string{"bounding", "effective", "inheritable", "permitted", "ambient"}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "runtime-wrapper: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	runc, err := realRunc()
	if err != nil {
		return err
	}
	if t, ok := parseArgs(args); ok {
		if err := dropCap(t); err != nil {
			return fmt.Errorf("%s: %w", t.command, err)
		}
	}
	argv := append([]string{runc}, args...)
	if err := syscall.Exec(runc, argv, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", runc, err)
	}
	return nil
}

// target is the JSON file a runc invocation reads its capabilities from.
type target struct {
	command string
	file    string
	// inConfig: the file is a bundle's config.json (capabilities under "process");
	// otherwise it is an exec --process file (a bare OCI process).
	inConfig bool
}

// runc's flags that take a value, without dashes (runc 1.1; urfave/cli accepts -name and
// --name, the value after "=" or as the next argument). Flags not listed are taken as booleans.
// The lists only keep a flag's value from being read as a flag.
var (
	globalValueFlags = set("log", "log-format", "root", "criu", "rootless")
	createValueFlags = set("bundle", "b", "console-socket", "pid-file", "preserve-fds")
	execValueFlags   = set("console-socket", "cwd", "env", "e", "user", "u", "additional-gids", "g",
		"process", "p", "pid-file", "process-label", "apparmor", "cap", "c", "preserve-fds", "cgroup")
)

// parseArgs finds the file to edit: the bundle's config.json for create and run (the bundle
// defaults to the current directory), the --process file for exec. ok is false when runc
// reads no capabilities from a file (every other subcommand, and exec without --process,
// which takes the container's already edited set).
func parseArgs(args []string) (t target, ok bool) {
	i := 0
	for i < len(args) {
		name, _, hasValue, isFlag := splitFlag(args[i])
		if !isFlag {
			break
		}
		i++
		if name == "" { // "--": the subcommand follows.
			break
		}
		if !hasValue && globalValueFlags[name] {
			i++
		}
	}
	if i >= len(args) {
		return target{}, false
	}
	command, rest := args[i], args[i+1:]
	switch command {
	case "create", "run":
		bundle, found := flagValue(rest, createValueFlags, "bundle", "b")
		if !found || bundle == "" {
			bundle = "."
		}
		return target{command: command, file: filepath.Join(bundle, "config.json"), inConfig: true}, true
	case "exec":
		process, found := flagValue(rest, execValueFlags, "process", "p")
		if !found || process == "" {
			return target{}, false
		}
		return target{command: command, file: process}, true
	}
	return target{}, false
}

// splitFlag splits -name, --name, -name=value and --name=value. "--" is a flag with an empty
// name; "-" and anything not starting with a dash are not flags.
func splitFlag(arg string) (name, value string, hasValue, isFlag bool) {
	if arg == "--" {
		return "", "", false, true
	}
	if len(arg) < 2 || arg[0] != '-' {
		return "", "", false, false
	}
	name = strings.TrimPrefix(arg[1:], "-")
	name, value, hasValue = strings.Cut(name, "=")
	return name, value, hasValue, true
}

// flagValue returns the value of the first of names in a subcommand's args. Flags may follow
// positional arguments (urfave/cli moves them forward); "--" ends the flags.
func flagValue(args []string, valueFlags map[string]bool, names ...string) (string, bool) {
	for i := 0; i < len(args); i++ {
		name, value, hasValue, isFlag := splitFlag(args[i])
		if !isFlag {
			continue
		}
		if name == "" {
			break
		}
		wanted := false
		for _, n := range names {
			wanted = wanted || name == n
		}
		switch {
		case wanted && hasValue:
			return value, true
		case wanted && i+1 < len(args):
			return args[i+1], true
		case wanted:
			return "", false
		case !hasValue && valueFlags[name]:
			i++
		}
	}
	return "", false
}

// dropCap removes missingCap from the target file, in place. The file is left untouched when
// it holds no such capability.
func dropCap(t target) error {
	data, err := os.ReadFile(t.file)
	if err != nil {
		return err
	}
	var edited []byte
	var changed bool
	if t.inConfig {
		edited, changed, err = editObject(data, "process", func(process []byte) ([]byte, bool, error) {
			return editObject(process, "capabilities", removeCap)
		})
	} else {
		edited, changed, err = editObject(data, "capabilities", removeCap)
	}
	if err != nil {
		return fmt.Errorf("edit %s: %w", t.file, err)
	}
	if !changed {
		return nil
	}
	if err := writeFileAtomic(t.file, edited); err != nil {
		return fmt.Errorf("write %s: %w", t.file, err)
	}
	return nil
}

// editObject applies edit to the value of key in the JSON object data. Other keys keep their
// values byte for byte (json.RawMessage: no float64 round trip of large numbers). An absent
// or null key is no change.
func editObject(data []byte, key string, edit func([]byte) ([]byte, bool, error)) ([]byte, bool, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, false, err
	}
	value, ok := obj[key]
	if !ok || string(value) == "null" {
		return data, false, nil
	}
	edited, changed, err := edit(value)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", key, err)
	}
	if !changed {
		return data, false, nil
	}
	obj[key] = edited
	out, err := json.Marshal(obj)
	return out, err == nil, err
}

// removeCap removes missingCap from each set of an OCI "capabilities" object.
func removeCap(data []byte) ([]byte, bool, error) {
	var caps map[string]json.RawMessage
	if err := json.Unmarshal(data, &caps); err != nil {
		return nil, false, err
	}
	changed := false
	for _, name := range capSets {
		raw, ok := caps[name]
		if !ok {
			continue
		}
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, false, fmt.Errorf("%s: %w", name, err)
		}
		kept := make([]string, 0, len(list))
		for _, c := range list {
			if c != missingCap {
				kept = append(kept, c)
			}
		}
		if len(kept) == len(list) {
			continue
		}
		edited, err := json.Marshal(kept)
		if err != nil {
			return nil, false, err
		}
		caps[name] = edited
		changed = true
	}
	if !changed {
		return data, false, nil
	}
	out, err := json.Marshal(caps)
	return out, err == nil, err
}

// writeFileAtomic replaces path with data through a temporary file in the same directory, so
// runc never reads a half-written file; the mode and owner stay the original's.
func writeFileAtomic(path string, data []byte) (err error) {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(info.Mode().Perm()); err != nil {
		return err
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// realRunc finds the runc to exec: $GRPCLAB_REAL_RUNC, else the first runc on PATH that is not
// this program (the wrapper may be installed as "runc" ahead of the real one).
func realRunc() (string, error) {
	if p := os.Getenv("GRPCLAB_REAL_RUNC"); p != "" {
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find runc: %w", err)
	}
	selfInfo, err := os.Stat(self)
	if err != nil {
		return "", fmt.Errorf("find runc: %w", err)
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if !filepath.IsAbs(dir) { // "" and relative entries mean the working directory: never.
			continue
		}
		candidate := filepath.Join(dir, "runc")
		info, err := os.Stat(candidate)
		if err != nil || info.IsDir() || info.Mode()&0o111 == 0 || os.SameFile(info, selfInfo) {
			continue
		}
		return candidate, nil
	}
	return "", errors.New("find runc: no runc on PATH other than this wrapper; set GRPCLAB_REAL_RUNC")
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
