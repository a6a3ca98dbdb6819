package local

import (
	"bytes"
	"context"
	"os"
	"strconv"
)

// stateEnv marks every process the platform starts with its state directory, so `down`
// finds a process even when `up` died between starting it and recording its pid.
const stateEnv = "GRPCLAB_LOCAL_STATE"

// strays lists the pids of live processes marked with dir that the state does not know.
func strays(dir string, known map[int]bool) []int {
	marker := []byte(stateEnv + "=" + dir + "\x00")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || known[pid] {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(append(env, 0), marker) {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// stopStrays stops the marked processes the state does not know.
func stopStrays(ctx context.Context, dir string, known map[int]bool) error {
	for _, pid := range strays(dir, known) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			continue
		}
		argv0, _, _ := bytes.Cut(b, []byte{0})
		if err := stop(ctx, pid, string(argv0)); err != nil {
			return err
		}
	}
	return nil
}
