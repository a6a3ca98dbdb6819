package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// CNIConfig renders the ptp pod network's CNI configuration for a node's podCIDR: a veth per
// pod, host-local addresses from the CIDR, masquerade only for traffic leaving the CIDR (so
// pod-to-pod traffic keeps its source address, which NetworkPolicy matches on), and portmap
// for hostPorts.
func CNIConfig(podCIDR string) ([]byte, error) {
	if podCIDR == "" {
		return nil, fmt.Errorf("cni config: empty podCIDR")
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "grpclab-ptp",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": true,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": []any{[]any{map[string]any{"subnet": podCIDR}}},
					"routes": []any{map[string]any{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]any{"portMappings": true}},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// writeCNIConfig writes the pod network's configuration into every node once the node has
// its podCIDR (kube-controller-manager allocates it from the cluster's pod subnet).
func (p *Platform) writeCNIConfig(ctx context.Context, path string) error {
	nodeList, err := p.provider.kind.ListInternalNodes(p.name)
	if err != nil {
		return fmt.Errorf("list nodes of kind cluster %s: %w", p.name, err)
	}
	for _, n := range nodeList {
		name := n.String()
		var cidr string
		err := wait.PollUntilContextTimeout(ctx, time.Second, p.timeout, true, func(ctx context.Context) (bool, error) {
			node, err := p.fwd.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			cidr = node.Spec.PodCIDR
			return cidr != "", nil
		})
		if err != nil {
			return fmt.Errorf("node %s: no podCIDR allocated: %w", name, err)
		}
		conf, err := CNIConfig(cidr)
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		dir := path[:strings.LastIndex(path, "/")]
		cmd := n.CommandContext(ctx, "sh", "-c", fmt.Sprintf("mkdir -p %s && cat >%s.tmp && mv %s.tmp %s", dir, path, path, path))
		cmd.SetStdin(strings.NewReader(string(conf)))
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("write %s on node %s: %w", path, name, err)
		}
	}
	return nil
}
