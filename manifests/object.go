package manifests

import "sigs.k8s.io/controller-runtime/pkg/client"

// Object is one decoded Kubernetes object and where it came from.
type Object struct {
	// Source names the file and the document in it, for error messages:
	// "gateway-api/routes.yaml#2" for the embedded tree, an absolute path for a user's directory.
	Source string
	// Object is typed: *appsv1.Deployment, *corev1.Service, *gatewayv1.GRPCRoute, …
	client.Object
}
