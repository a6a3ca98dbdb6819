package addon

import "github.com/grpclab/grpclab/images"

// traefikVersion is the Traefik release; images/pins.env pins it because the hermetic image
// set builds the same release (hack/images/traefik.sh).
var traefikVersion = images.Pin("TRAEFIK_VERSION")

// Traefik is one controller for both APIs: the Gateway (GatewayClass traefik, listener port
// 50051 on an entry point of that port) and Ingresses written for ingress-nginx, served by its
// kubernetesIngressNGINX provider under IngressClass nginx. Its Service is a NodePort with
// GatewayNodePort for the Gateway and IngressPorts for the Ingress entry points, which the
// kind config maps to the host.
var Traefik = Addon{
	Name:         "traefik",
	Version:      traefikVersion,
	GatewayClass: "traefik",
	IngressClass: "nginx",
	IngressPorts: IngressPorts{HTTPS: 30443, HTTP: 30080},
	Images: []Image{{
		Upstream: "docker.io/library/traefik:" + traefikVersion,
		Built:    "grpclab.local/traefik:" + traefikVersion,
	}},
	Steps: []Step{
		applyEmbedded("traefik.yaml"),
		wait(Wait{Resource: deployments, Namespace: "traefik", Name: "traefik", Condition: "Available"}),
		wait(Wait{Resource: gatewayClass, Name: "traefik", Condition: "Accepted"}),
	},
	// As Traefik's own conformance reports name it (integration/gateway_api_conformance_test.go
	// in the module). traefik.yaml publishes the pod's IP as the Gateways' status address.
	Conformance: &Conformance{
		Organization: "traefik",
		Project:      "traefik",
		URL:          "https://traefik.io/",
		Contact:      []string{"@traefik/maintainers"},
		PodAddress:   true,
	},
	// traefik.yaml serves the API (api.insecure) on the traefik entry point (container port traefik).
	EntryPoints: &EntryPointAPI{
		Namespace: "traefik", Selector: "app.kubernetes.io/name=traefik", Port: "traefik",
		Gateway: "gateway", Ingress: "websecure", IngressHTTP: "web",
		Knob: "--entryPoints.%s.transport.keepAliveMaxRequests and .keepAliveMaxTime (Traefik's defaults: 0, no limit), or a client retry policy",
	},
}
