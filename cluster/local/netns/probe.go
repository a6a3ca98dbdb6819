package netns

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/grpclab/grpclab/cluster/local/proc"
	"github.com/grpclab/grpclab/netpol"
)

// Probe connects from every workload to every other workload's ports, all sources in
// parallel (one "ip netns exec <ns> grpclab-server probe" each, which probes its targets in
// parallel), and returns the observed table. A cell is Allow when the TCP connect succeeded,
// Deny when it timed out or was refused. A TCP allow whose gRPC health check did not answer
// SERVING is reported as an error: the server, not the policy, would be at fault.
func (p *Plane) Probe(ctx context.Context, timeout time.Duration) (*netpol.Table, []netpol.Probe, error) {
	targets := netpol.Targets(p.workloads)
	table := netpol.NewTable(netpol.Names(p.workloads), targets)
	byAddr := map[string]netpol.Target{}
	for _, t := range targets {
		byAddr[p.addr(t)] = t
	}
	type answer struct {
		src string
		res []netpol.Probe
		err error
	}
	answers := make([]answer, len(p.workloads))
	var wg sync.WaitGroup
	for i, w := range p.workloads {
		var addrs []string
		for _, t := range targets {
			if t.Workload == w.Name {
				table.Set(w.Name, t, netpol.Self)
				continue
			}
			addrs = append(addrs, p.addr(t))
		}
		wg.Go(func() {
			res, err := p.probeFrom(ctx, p.ns[w.Name], addrs, timeout)
			answers[i] = answer{src: w.Name, res: res, err: err}
		})
	}
	wg.Wait()
	var all []netpol.Probe
	var problems []string
	for _, a := range answers {
		if a.err != nil {
			problems = append(problems, fmt.Sprintf("from %s: %v", a.src, a.err))
			continue
		}
		for _, r := range a.res {
			t, ok := byAddr[r.Target]
			if !ok {
				problems = append(problems, fmt.Sprintf("from %s: unexpected target %q in probe output", a.src, r.Target))
				continue
			}
			r.Source, r.Dest = a.src, t
			all = append(all, r)
			cell, ok := netpol.ObservedCell(r.TCP, r.GRPC)
			if !ok {
				// Leave the cell Unknown so the comparison fails, and say why.
				problems = append(problems, fmt.Sprintf("from %s to %s: tcp %s but grpc %s (%s)", a.src, t, r.TCP, r.GRPC, r.Detail))
				continue
			}
			table.Set(a.src, t, cell)
		}
	}
	if len(problems) > 0 {
		return table, all, fmt.Errorf("probe: %s", strings.Join(problems, "; "))
	}
	return table, all, nil
}

// probeFrom runs the prober inside a namespace against addrs.
func (p *Plane) probeFrom(ctx context.Context, ns string, addrs []string, timeout time.Duration) ([]netpol.Probe, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	args := append([]string{"netns", "exec", ns, p.server, "probe", "--timeout", timeout.String()}, addrs...)
	cmd := proc.CommandContext(ctx, toolGrace, "ip", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s probe in %s: %w: %s", p.server, ns, err, strings.TrimSpace(stderr.String()))
	}
	var res []netpol.Probe
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var r netpol.Probe
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("probe in %s: line %q: %w", ns, sc.Text(), err)
		}
		res = append(res, r)
	}
	if len(res) != len(addrs) {
		return nil, fmt.Errorf("probe in %s: %d results for %d targets", ns, len(res), len(addrs))
	}
	return res, nil
}

// Addr is host:port of a workload's first port, as the other workloads reach it.
func (p *Plane) Addr(workload string) (string, error) {
	for _, w := range p.workloads {
		if w.Name == workload && len(w.Ports) > 0 {
			return p.addr(netpol.Target{Workload: w.Name, Port: w.Ports[0].Port}), nil
		}
	}
	return "", fmt.Errorf("no workload %s with a port", workload)
}

// Call runs `grpclab-server probe --call method` inside workload from's namespace against
// workload to's first port, with md as key, value pairs of metadata.
func (p *Plane) Call(ctx context.Context, from, to, method string, md []string, timeout time.Duration) (netpol.CallResult, error) {
	var r netpol.CallResult
	target, err := p.Addr(to)
	if err != nil {
		return r, err
	}
	args := []string{"probe", "--timeout", timeout.String(), "--call", method}
	for i := 0; i+1 < len(md); i += 2 {
		args = append(args, "-H", md[i]+"="+md[i+1])
	}
	cmd, err := p.Command(ctx, from, p.server, append(args, target)...)
	if err != nil {
		return r, err
	}
	out, err := cmd.Output()
	if err != nil {
		return r, fmt.Errorf("probe from %s: %w", from, err)
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("probe from %s: %q: %w", from, out, err)
	}
	return r, nil
}
