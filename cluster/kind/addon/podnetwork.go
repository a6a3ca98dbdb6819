package addon

import "github.com/grpclab/grpclab/images"

// WriteCNIConfig writes the pod network's CNI configuration into every node, for the node's
// own podCIDR (package kind renders it).
const WriteCNIConfig Action = "write-cni-config"

// PodNetwork is the hermetic cluster's pod network: what kind's default CNI (kindnet) does on
// one node, without its image. Each pod gets a point-to-point veth and an address from the
// node's podCIDR (the CNI plugins ptp, host-local and portmap, built into the node image);
// the node routes between pods. It enforces nothing: KubeNetworkPolicies does.
var PodNetwork = Addon{
	Name:    "ptp-network",
	Version: images.Pin("CNI_PLUGINS_VERSION"),
	Steps: []Step{
		{Action: WriteCNIConfig, Source: "/etc/cni/net.d/10-grpclab-ptp.conflist"},
		wait(Wait{Resource: nodes, Condition: "Ready"}),
	},
}
