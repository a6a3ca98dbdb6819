package main

import (
	"context"
	"fmt"
	"io"

	"github.com/grpclab/grpclab/cluster"
)

// showStatus shows what runs and where the entry points are.
func showStatus(ctx context.Context, st stateFlags, p cluster.Platform, stdout io.Writer) error {
	ep, err := cluster.ReadEnv(st.dir)
	if err != nil {
		if r, ok := p.(cluster.Runner); ok {
			if running, rerr := r.Running(ctx); rerr == nil && running {
				return fmt.Errorf("processes of a %s platform run without an env file (an interrupted up?): run `grpclab down`", p.Name())
			}
		}
		fmt.Fprintln(stdout, "grpclab is down")
		return nil
	}
	fmt.Fprintf(stdout, "platform %s\n", ep.Platform)
	protos, err := writeProtos(st.dir)
	if err != nil {
		return err
	}
	if err := printEndpoints(stdout, ep, st.envPath(), protos); err != nil {
		return err
	}
	pr, ok := p.(cluster.PodReporter)
	if !ok {
		return nil
	}
	pods, err := pr.PodStates(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%-12s %-20s %-8s %-22s %s\n", "NAMESPACE", "POD", "PID", "ADDRESS", "STATE")
	for _, p := range pods {
		state := "running"
		if !p.Running {
			state = "exited (see " + p.Log + ")"
		}
		fmt.Fprintf(stdout, "%-12s %-20s %-8d %-22s %s\n", p.Namespace, p.Name, p.PID, p.Address, state)
	}
	return nil
}
