package scenarios

import (
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/netpol"
)

// localWorkloads places the local data plane's workloads (netpol.LocalWorkloads: addresses
// chosen for the article's policy) from the default manifests' Deployments and Namespaces.
func localWorkloads() ([]netpol.Workload, error) {
	objs, err := manifests.Load(defaultVariants)
	if err != nil {
		return nil, err
	}
	return netpol.LocalWorkloads(objs)
}
