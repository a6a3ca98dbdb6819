package netns

import (
	"context"
	"fmt"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/netpol"
)

// Verify applies policies, probes every pair and compares with the netpol model. The error
// is for failures to run at all (invalid policies, nft refusing the ruleset); a data plane
// that disagrees with the model is reported in the Result.
func (p *Plane) Verify(ctx context.Context, policies []*networkingv1.NetworkPolicy, timeout time.Duration) (*netpol.Result, error) {
	model, err := netpol.NewModel(policies, p.workloads)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := p.Apply(ctx, policies); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	start := time.Now()
	observed, probes, probeErr := p.Probe(ctx, timeout)
	r := &netpol.Result{Expected: model.Table(), Observed: observed, Probes: probes, ProbeErr: probeErr, Took: time.Since(start)}
	r.Mismatches = netpol.Mismatches(r.Expected, r.Observed)
	return r, nil
}
