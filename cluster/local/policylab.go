package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/local/netns"
	"github.com/grpclab/grpclab/netpol"
)

// The local platform enforces NetworkPolicy only in data planes of its own (cluster/local/netns),
// not between its loopback processes.
var _ cluster.PolicyLab = (*Platform)(nil)

// PolicyLabAvailable says why network namespaces and nftables cannot run here, or nil.
func (p *Platform) PolicyLabAvailable() error { return netns.Available() }

// StartPolicyLab starts a data plane that runs this platform's server binary in every
// workload. Down closes whatever data plane is still open.
func (p *Platform) StartPolicyLab(ctx context.Context, workloads []netpol.Workload) (cluster.PolicyPlane, error) {
	plane, err := netns.Start(ctx, netns.Config{Server: p.serverBin, Workloads: workloads})
	if err != nil {
		return nil, fmt.Errorf("start the NetworkPolicy data plane: %w", err)
	}
	p.mu.Lock()
	p.planes = append(p.planes, plane)
	p.mu.Unlock()
	return plane, nil
}

// closePlanes closes the data planes StartPolicyLab made; closing one twice is harmless.
func (p *Platform) closePlanes() error {
	var errs []error
	for _, plane := range p.planes {
		if err := plane.Close(); err != nil {
			errs = append(errs, fmt.Errorf("data plane %s: %w", plane.Prefix(), err))
		}
	}
	p.planes = nil
	return errors.Join(errs...)
}
