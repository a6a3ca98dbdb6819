package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/grpclab/grpclab/cluster"
)

// state is what the platform has started, written to disk before each start so that a
// `grpclab down` in another process, or after a crash half way through `up`, finds everything.
type state struct {
	// Ports are the local addresses nginx listens on, stable for the platform's life.
	Ingress     string            `json:"ingress"`
	IngressHTTP string            `json:"ingressHTTP"`
	Admin       string            `json:"admin"`
	Listeners   map[string]string `json:"listeners"` // "ns/gateway/listener" → address
	Generation  int               `json:"generation"`
	Processes   []process         `json:"processes"`
}

// process is one emulated pod: a grpclab-server process.
type process struct {
	Namespace  string `json:"namespace"`
	Deployment string `json:"deployment"`
	Pod        string `json:"pod"`
	PID        int    `json:"pid"`
	Addr       string `json:"addr,omitempty"` // empty until the server said where it listens
	// Spec identifies the pod template the process was started from; a change restarts it.
	Spec string `json:"spec"`
	Log  string `json:"log"`
	// Binary is what the process runs: a recycled pid runs something else and is left alone.
	Binary string `json:"binary"`
}

const stateFile = "state.json"

func readState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read local platform state: %w", err)
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read local platform state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

// write replaces the state file atomically.
func (s *state) write(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode local platform state: %w", err)
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write local platform state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("write local platform state: %w", err)
	}
	return nil
}

// PodStates lists the pods a platform started from the same state directory, from the state
// on disk.
func (p *Platform) PodStates(context.Context) ([]cluster.PodState, error) {
	st, err := readState(p.dir)
	if err != nil || st == nil {
		return nil, err
	}
	var out []cluster.PodState
	for _, pr := range st.Processes {
		out = append(out, cluster.PodState{Namespace: pr.Namespace, Name: pr.Pod, Address: pr.Addr, Log: pr.Log, PID: pr.PID, Running: alive(pr.PID, pr.Binary)})
	}
	return out, nil
}
