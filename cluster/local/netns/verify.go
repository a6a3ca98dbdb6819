package netns

import (
	"context"
	"fmt"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/netpol"
)

// Result is one policy set checked on the data plane against the model.
type Result struct {
	Expected   *netpol.Table
	Observed   *netpol.Table
	Mismatches []netpol.Mismatch
	Probes     []ProbeResult
	// ProbeErr is set when some probe gave no clean verdict; its cells stay Unknown and so
	// also appear in Mismatches.
	ProbeErr error
	Took     time.Duration // probing only
}

// OK reports whether every probe matched the model.
func (r *Result) OK() bool { return len(r.Mismatches) == 0 && r.ProbeErr == nil }

// String prints both tables side by side, then the mismatches.
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d cells probed in %s\n", len(r.Expected.Sources)*len(r.Expected.Targets), r.Took.Round(time.Millisecond))
	if err := netpol.Print(&b, r.Expected, r.Observed, netpol.Unicode); err != nil {
		fmt.Fprintf(&b, "(table: %v)\n", err)
	}
	for _, m := range r.Mismatches {
		fmt.Fprintf(&b, "mismatch: %s\n", m)
	}
	if r.ProbeErr != nil {
		fmt.Fprintf(&b, "probe problems: %v\n", r.ProbeErr)
	}
	return b.String()
}

// Verify applies policies, probes every pair and compares with the reach model. The error
// is for failures to run at all (invalid policies, nft refusing the ruleset); a data plane
// that disagrees with the model is reported in the Result.
func (p *Plane) Verify(ctx context.Context, policies []*networkingv1.NetworkPolicy, timeout time.Duration) (*Result, error) {
	model, err := netpol.NewModel(policies, p.workloads)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := p.Apply(ctx, policies); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	start := time.Now()
	observed, probes, probeErr := p.Probe(ctx, timeout)
	r := &Result{Expected: model.Table(), Observed: observed, Probes: probes, ProbeErr: probeErr, Took: time.Since(start)}
	r.Mismatches = netpol.Mismatches(r.Expected, r.Observed)
	return r, nil
}
