package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/local"
)

func status(_ context.Context, args []string, stdout, stderr io.Writer) error {
	st, err := parseStateFlags("status", args, stderr)
	if err != nil {
		return err
	}
	ep, err := cluster.ReadEnv(st.dir)
	if err != nil {
		running, rerr := local.Running(st.localDir())
		if rerr == nil && running {
			return fmt.Errorf("processes of a local platform run without an env file (an interrupted up?): run `grpclab down`")
		}
		fmt.Fprintln(stdout, "grpclab is down")
		return nil
	}
	fmt.Fprintf(stdout, "platform %s\n", ep.Platform)
	protos, err := writeProtos(st.dir)
	if err != nil {
		return err
	}
	if err := printEndpoints(stdout, ep, filepath.Join(st.dir, cluster.EnvFile), protos); err != nil {
		return err
	}
	if ep.Platform != "local" {
		return nil
	}
	pods, err := local.Status(st.localDir())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%-12s %-20s %-8s %-22s %s\n", "NAMESPACE", "POD", "PID", "ADDRESS", "STATE")
	for _, p := range pods {
		state := "running"
		if !p.Alive {
			state = "exited (see " + p.Log + ")"
		}
		fmt.Fprintf(stdout, "%-12s %-20s %-8d %-22s %s\n", p.Namespace, p.Pod, p.PID, p.Addr, state)
	}
	return nil
}
