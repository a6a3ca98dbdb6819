package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

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
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tPOD\tPID\tADDRESS\tSTATE")
	for _, p := range pods {
		state := "running"
		if !p.Running {
			state = "exited (see " + p.Log + ")"
		}
		pid := "-" // a pod of a cluster is no process of this machine
		if p.PID != 0 {
			pid = strconv.Itoa(p.PID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Namespace, p.Name, pid, p.Address, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return nil
}
