package addon

// Every pinned version the kind platform installs, in one place. Bump here and the install
// plans, the kind configs (goldens) and Versions() follow.
const (
	// CalicoVersion is the Calico release whose tigera-operator manifests are applied.
	CalicoVersion = "v3.31.0"
	// GatewayAPIVersion matches the sigs.k8s.io/gateway-api module in go.mod, whose
	// config/crd/standard holds the same CRDs as the release's standard-install.yaml.
	GatewayAPIVersion = "v1.6.3"
	// EnvoyGatewayVersion is the Envoy Gateway release (install.yaml of its GitHub release).
	EnvoyGatewayVersion = "v1.9.1"
	// NGINXGatewayFabricVersion is the NGINX Gateway Fabric release (deploy/ at its tag).
	NGINXGatewayFabricVersion = "v2.4.0"
	// IngressNGINXVersion is the last ingress-nginx release: the project is retired upstream.
	IngressNGINXVersion = "v1.15.1"

	// PodSubnet is Calico's default pool, given to kind so kubeadm and Calico agree.
	PodSubnet = "192.168.0.0/16"

	// GatewayNodePort is the fixed NodePort of a Gateway's data-plane Service for the
	// manifests' listener; kind maps it to the host.
	GatewayNodePort int32 = 30051
)
