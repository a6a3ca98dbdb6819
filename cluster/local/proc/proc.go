// Package proc is the local platform's one process supervisor. It starts and reaps the
// processes the platform runs (the grpclab-server replicas, nginx, and the servers and probes
// of the NetworkPolicy data plane), tells a live process from an exited one or from a
// recycled pid by reading /proc, and stops a process in steps: a gentle signal, a grace
// period, then harsher signals up to SIGKILL, failing with an error that names the pid and
// the signal it survived. It knows no platform and no suite.
package proc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Info is what /proc says about one process.
type Info struct {
	PID, PPID int
	// Comm is the kernel's name of the process (at most 15 bytes).
	Comm string
	// State is the stat state: 'R', 'S', …; 'Z' has exited and waits to be reaped.
	State byte
	// Argv is the command line; empty for a zombie.
	Argv []string
}

// Exited reports whether the process has exited (a zombie only waits for its parent).
func (i Info) Exited() bool { return i.State == 'Z' || i.State == 'X' }

// Read returns what /proc says about pid, or an error when there is no such process.
func Read(pid int) (Info, error) {
	if pid <= 0 {
		return Info{}, fmt.Errorf("pid %d: not a process", pid)
	}
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return Info{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	// Format: pid (comm) state ppid …; comm may hold spaces and parentheses.
	s := string(stat)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Info{}, fmt.Errorf("pid %d: unreadable %s/stat", pid, dir)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return Info{}, fmt.Errorf("pid %d: unreadable %s/stat", pid, dir)
	}
	ppid, _ := strconv.Atoi(f[1])
	info := Info{PID: pid, PPID: ppid, Comm: s[open+1 : end], State: f[0][0]}
	if cmdline, err := os.ReadFile(dir + "/cmdline"); err == nil && len(cmdline) > 0 {
		info.Argv = strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
	}
	return info, nil
}

// Match tells whether a process is the one a caller means.
type Match func(Info) bool

// Runs matches a process whose argv[0] is bin, so that a recycled pid is never signalled.
func Runs(bin string) Match {
	return func(i Info) bool { return len(i.Argv) > 0 && i.Argv[0] == bin }
}

// Named matches a process whose kernel name starts with prefix (nginx renames its argv).
func Named(prefix string) Match {
	return func(i Info) bool { return strings.HasPrefix(i.Comm, prefix) }
}

// ChildOf matches the children of ppid.
func ChildOf(ppid int) Match {
	return func(i Info) bool { return i.PPID == ppid }
}

// HasEnv matches a process whose environment holds the entry key=value.
func HasEnv(key, value string) Match {
	entry := []byte(key + "=" + value + "\x00")
	return func(i Info) bool {
		env, err := os.ReadFile("/proc/" + strconv.Itoa(i.PID) + "/environ")
		return err == nil && bytes.Contains(append(env, 0), entry)
	}
}

// Alive reports whether pid is a live process that match accepts (nil accepts any).
func Alive(pid int, match Match) bool {
	i, err := Read(pid)
	return err == nil && !i.Exited() && (match == nil || match(i))
}

// Scan lists the live processes other than this one that match accepts.
func Scan(match Match) []Info {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Info
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if i, err := Read(pid); err == nil && !i.Exited() && match(i) {
			out = append(out, i)
		}
	}
	return out
}
