package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/grpclab/grpclab/cluster"
)

// takeDown stops and removes everything up made.
func takeDown(ctx context.Context, st stateFlags, p cluster.Platform, stdout io.Writer) error {
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
