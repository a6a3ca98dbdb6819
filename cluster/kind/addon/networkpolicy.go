package addon

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/grpclab/grpclab/images"
)

var daemonSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}

// kubeRouterVersion is the pin hack/images/kube-router.sh builds.
var kubeRouterVersion = images.Pin("KUBE_ROUTER_VERSION")

// KubeRouter enforces NetworkPolicy on the hermetic cluster, where Calico cannot run: only
// kube-router's firewall, with iptables and ipset (see the comment atop its YAML). Its
// DaemonSet reports no conditions, so the wait names "Ready": every scheduled pod updated and
// available (package kind evaluates it); the pod's readiness probe makes available mean its
// chains are in the node's filter table.
var KubeRouter = Addon{
	Name:    "kube-router",
	Version: kubeRouterVersion,
	Images: []Image{{
		Upstream: "docker.io/cloudnativelabs/kube-router:" + kubeRouterVersion,
		Built:    "grpclab.local/kube-router:" + kubeRouterVersion,
	}},
	Steps: []Step{
		applyEmbedded("kube-router.yaml"),
		wait(Wait{Resource: daemonSets, Namespace: "kube-system", Name: "kube-router", Condition: "Ready"}),
	},
}
