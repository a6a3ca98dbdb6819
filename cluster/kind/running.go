package kind

import (
	"context"
	"fmt"
	"slices"

	"github.com/grpclab/grpclab/cluster"
)

var _ cluster.Runner = (*Platform)(nil)

// Running reports whether the platform's kind cluster exists, whoever created it: kind keeps
// no state of its own outside Docker, so the cluster's name is all it takes.
func (p *Platform) Running(ctx context.Context) (bool, error) {
	if err := CheckDocker(ctx); err != nil {
		return false, err
	}
	names, err := p.provider.kind.List()
	if err != nil {
		return false, fmt.Errorf("list kind clusters: %w", err)
	}
	return slices.Contains(names, p.name), nil
}
