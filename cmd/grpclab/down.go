package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/platforms"
)

func down(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	st, p, err := saved("down", args, stderr)
	if err != nil {
		return err
	}
	if err := timedStep(stdout, p.Name()+" platform down", func() error { return p.Down(ctx) }); err != nil {
		return err
	}
	if err := removeState(st.dir); err != nil {
		return fmt.Errorf("remove state: %w", err)
	}
	// Remove the state directory when nothing else is in it.
	_ = os.Remove(st.dir)
	return nil
}

// saved parses a command's state flags and builds, to inspect or take down, the platform an
// earlier up saved in that state. The env file says which platform that is; without one only
// local state can be left over (a crash before the env file was written, or nothing at all).
func saved(command string, args []string, stderr io.Writer) (stateFlags, cluster.Platform, error) {
	st, err := parseStateFlags(command, args, stderr)
	if err != nil {
		return st, nil, err
	}
	name := platforms.Local
	if ep, err := cluster.ReadEnv(st.dir); err == nil && ep.Platform != "" {
		name = ep.Platform
	}
	p, err := platforms.Open(name, platforms.Options{StateDir: st.localDir()})
	if err != nil {
		return st, nil, fmt.Errorf("%s: %w", st.envPath(), err)
	}
	return st, p, nil
}
