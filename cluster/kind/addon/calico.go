package addon

import "k8s.io/apimachinery/pkg/runtime/schema"

var tigeraStatus = schema.GroupVersionResource{Group: "operator.tigera.io", Version: "v1", Resource: "tigerastatuses"}

const calicoManifests = "https://raw.githubusercontent.com/projectcalico/calico/" + CalicoVersion + "/manifests/"

// Calico installs the CNI through the tigera-operator. The operator's CRDs are a separate
// manifest since Calico v3.30; they are too large for client-side apply's annotation,
// which server-side apply does not write.
var Calico = Addon{
	Name:    "calico",
	Version: CalicoVersion,
	Steps: []Step{
		apply(calicoManifests + "operator-crds.yaml"),
		apply(calicoManifests + "tigera-operator.yaml"),
		wait(Wait{Resource: deployments, Namespace: "tigera-operator", Name: "tigera-operator", Condition: "Available"}),
		applyEmbedded("calico-installation.yaml"),
		wait(Wait{Resource: tigeraStatus, Name: "calico", Condition: "Available"}),
		wait(Wait{Resource: nodes, Condition: "Ready"}),
	},
}

// GatewayAPI installs the standard-channel Gateway API CRDs at the version go.mod pins, from
// the copy package manifests embeds (the module's config/crd/standard, the same YAML as the
// release's standard-install.yaml), so no cluster fetches them.
var GatewayAPI = Addon{
	Name:    "gateway-api",
	Version: GatewayAPIVersion,
	Steps: []Step{
		{Action: ApplyGatewayAPICRDs, Source: "manifests/crds"},
		wait(Wait{Resource: crds, Name: "gateways.gateway.networking.k8s.io", Condition: "Established"}),
		wait(Wait{Resource: crds, Name: "grpcroutes.gateway.networking.k8s.io", Condition: "Established"}),
	},
}
