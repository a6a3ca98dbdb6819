package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/kind"
	"github.com/grpclab/grpclab/cluster/local"
	"github.com/grpclab/grpclab/cluster/platforms"
)

func down(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	st, err := parseStateFlags("down", args, stderr)
	if err != nil {
		return err
	}
	// The env file says which platform is up; without one, only local state can be left over
	// (a crash before the env file was written), and local.Down finds it.
	ep, err := cluster.ReadEnv(st.dir)
	if err == nil && ep.Platform == platforms.Kind {
		// Tearing down needs only the cluster's name, not the images it ran.
		var opts []kind.Option
		if name := os.Getenv("GRPCLAB_KIND_CLUSTER"); name != "" {
			opts = append(opts, kind.WithClusterName(name))
		}
		p, err := kind.New(opts...)
		if err != nil {
			return err
		}
		if err := timedStep(stdout, "kind platform down", func() error { return p.Down(ctx) }); err != nil {
			return err
		}
	} else if err := timedStep(stdout, "local platform down", func() error { return local.Down(ctx, st.localDir()) }); err != nil {
		return err
	}
	if err := removeState(st.dir); err != nil {
		return fmt.Errorf("remove state: %w", err)
	}
	// Remove the state directory when nothing else is in it.
	_ = os.Remove(st.dir)
	return nil
}
