package local

import (
	"context"

	"github.com/grpclab/grpclab/cluster/local/proc"
)

// stateEnv marks every process the platform starts with its state directory, so `down`
// finds a process even when `up` died between starting it and recording its pid.
const stateEnv = "GRPCLAB_LOCAL_STATE"

// stopStrays stops the live processes marked with dir that the state does not know.
func stopStrays(ctx context.Context, dir string, known map[int]bool) error {
	for _, p := range proc.Scan(proc.HasEnv(stateEnv, dir)) {
		if known[p.PID] || len(p.Argv) == 0 {
			continue
		}
		if err := stop(ctx, p.PID, p.Argv[0]); err != nil {
			return err
		}
	}
	return nil
}
