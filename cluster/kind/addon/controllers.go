package addon

// EnvoyGateway serves the Gateway through per-Gateway Envoy Deployments in
// envoy-gateway-system. Its GatewayClass points at an EnvoyProxy that makes the Envoy
// Service a NodePort with the fixed port kind maps to the host.
var EnvoyGateway = Addon{
	Name:         "envoy-gateway",
	Version:      EnvoyGatewayVersion,
	GatewayClass: "envoy-gateway",
	Steps: []Step{
		{Action: ApplyURL, Source: "https://github.com/envoyproxy/gateway/releases/download/" + EnvoyGatewayVersion + "/install.yaml", SkipGatewayAPICRDs: true},
		wait(Wait{Resource: deployments, Namespace: "envoy-gateway-system", Name: "envoy-gateway", Condition: "Available"}),
		applyEmbedded("envoy-gateway-class.yaml"),
		wait(Wait{Resource: gatewayClass, Name: "envoy-gateway", Condition: "Accepted"}),
	},
}

// NGINXGatewayFabric runs its control plane in nginx-gateway and provisions one NGINX
// Deployment and Service per Gateway; the NginxProxy it reads makes that Service a NodePort
// with the fixed port kind maps to the host.
var NGINXGatewayFabric = Addon{
	Name:         "nginx-gateway-fabric",
	Version:      NGINXGatewayFabricVersion,
	GatewayClass: "nginx",
	Steps: []Step{
		apply("https://raw.githubusercontent.com/nginx/nginx-gateway-fabric/" + NGINXGatewayFabricVersion + "/deploy/crds.yaml"),
		{Action: ApplyURL, Source: "https://raw.githubusercontent.com/nginx/nginx-gateway-fabric/" + NGINXGatewayFabricVersion + "/deploy/default/deploy.yaml", SkipGatewayAPICRDs: true},
		applyEmbedded("nginx-gateway-proxy.yaml"),
		wait(Wait{Resource: deployments, Namespace: "nginx-gateway", Name: "nginx-gateway", Condition: "Available"}),
		wait(Wait{Resource: gatewayClass, Name: "nginx", Condition: "Accepted"}),
	},
}

// IngressNGINX is retired upstream; v1.15.1 is its last release and supports Kubernetes up
// to 1.35, so the kind config pins a 1.35 node image when it is selected. Its kind
// manifest runs the controller with hostPorts 80 and 443 (on any linux node: the manifest
// dropped its ingress-ready=true nodeSelector in v1.13.0), which kind maps to the host.
//
// No wait on the admission Jobs: since v1.13.0 the manifest sets ttlSecondsAfterFinished: 0
// on both, so a finished Job is deleted at once and a wait for Complete would find none. The
// controller pod mounts the Secret the create Job writes, so Available implies that Job ran;
// upstream's own kind instructions wait on the controller alone.
var IngressNGINX = Addon{
	Name:         "ingress-nginx",
	Version:      IngressNGINXVersion,
	IngressClass: "nginx",
	IngressPorts: IngressPorts{HTTPS: 443, HTTP: 80},
	Steps: []Step{
		apply("https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-" + IngressNGINXVersion + "/deploy/static/provider/kind/deploy.yaml"),
		wait(Wait{Resource: deployments, Namespace: "ingress-nginx", Name: "ingress-nginx-controller", Condition: "Available"}),
	},
}
