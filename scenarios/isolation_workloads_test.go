package scenarios

import (
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/scenarios/reach"
)

// localWorkloads places the local data plane's workloads (reach.LocalWorkloads: addresses
// chosen for the article's policy) from the default manifests' Deployments and Namespaces.
func localWorkloads() ([]reach.Workload, error) {
	objs, err := manifests.Load(defaultVariants)
	if err != nil {
		return nil, err
	}
	return reach.LocalWorkloads(objs)
}
