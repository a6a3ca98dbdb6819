package scenarios

import (
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/netpol"
)

// localWorkloads are the isolation workloads of the default manifests (netpol.Workloads:
// each Deployment's address is its grpclab.local/isolation-address annotation).
func localWorkloads() ([]netpol.Workload, error) {
	objs, err := manifests.Load(defaultVariants)
	if err != nil {
		return nil, err
	}
	return netpol.Workloads(objs)
}
