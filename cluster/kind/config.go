// Package kind is the real-cluster platform: a kind cluster provisioned through the
// sigs.k8s.io/kind library (never its CLI), Calico, one traffic controller, the service
// image loaded into the nodes, and the manifests server-side applied.
package kind

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindversion "sigs.k8s.io/kind/pkg/cmd/kind/version"
	"sigs.k8s.io/yaml"

	"github.com/grpclab/grpclab/cluster/kind/addon"
)

const (
	// DefaultNodeImage is the image kind v0.33.0 ships as its default
	// (pkg/apis/config/defaults/image.go); a test pins it to that constant.
	DefaultNodeImage = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
	// IngressNGINXNodeImage is a Kubernetes 1.35 node image (kind v0.32.0's default), the
	// newest minor ingress-nginx v1.15.1 supports.
	IngressNGINXNodeImage = "kindest/node:v1.35.1@sha256:05d7bcdefbda08b4e038f644c4df690cdac3fba8b06f8289f30e10026720a1ab"

	// Host ports on 127.0.0.1 the entry points are published on. The ingress uses
	// unprivileged ports so a workshop laptop's own 80/443 stay free.
	GatewayHostPort     int32 = 50051
	IngressHostPort     int32 = 8443
	IngressHTTPHostPort int32 = 8080
)

// NodeImage is the node image a controller runs on.
func NodeImage(controller string) string {
	if controller == addon.IngressNGINX.Name {
		return IngressNGINXNodeImage
	}
	return DefaultNodeImage
}

// KubernetesVersion is the tag of a node image ("v1.37.0").
func KubernetesVersion(image string) string {
	image, _, _ = strings.Cut(image, "@")
	_, tag, _ := strings.Cut(image, ":")
	return tag
}

// Config is the kind cluster a controller gets: one node, kind's CNI disabled so Calico
// owns pod networking on Calico's pool, and the node ports the entry points need mapped
// to 127.0.0.1 on the host.
//
// Gateway controllers: the addon makes the Gateway's data-plane Service a NodePort fixed
// at addon.GatewayNodePort, which the node's mapping publishes as 127.0.0.1:50051.
// ingress-nginx: its kind manifest binds hostPorts 80/443 on the node labelled
// ingress-ready=true; those map to 127.0.0.1:8080 and :8443.
func Config(name, controller string) (*v1alpha4.Cluster, error) {
	c, err := addon.Controller(controller)
	if err != nil {
		return nil, fmt.Errorf("kind config: %w", err)
	}
	node := v1alpha4.Node{
		Role:  v1alpha4.ControlPlaneRole,
		Image: NodeImage(controller),
	}
	if c.GatewayClass != "" {
		node.ExtraPortMappings = append(node.ExtraPortMappings, mapping(addon.GatewayNodePort, GatewayHostPort))
	}
	if c.IngressClass != "" {
		node.Labels = map[string]string{"ingress-ready": "true"}
		node.ExtraPortMappings = append(node.ExtraPortMappings,
			mapping(443, IngressHostPort),
			mapping(80, IngressHTTPHostPort))
	}
	cfg := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     name,
		Nodes:    []v1alpha4.Node{node},
		Networking: v1alpha4.Networking{
			DisableDefaultCNI: true,
			PodSubnet:         addon.PodSubnet,
		},
	}
	return cfg, nil
}

func mapping(node, host int32) v1alpha4.PortMapping {
	return v1alpha4.PortMapping{
		ContainerPort: node,
		HostPort:      host,
		ListenAddress: "127.0.0.1",
		Protocol:      v1alpha4.PortMappingProtocolTCP,
	}
}

// RenderConfig writes a kind config as the YAML `kind create cluster --config` reads.
func RenderConfig(c *v1alpha4.Cluster) ([]byte, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("render kind config %s: %w", c.Name, err)
	}
	return b, nil
}

// Versions lists every pin the kind platform runs with a controller.
func Versions(controller string) map[string]string {
	image := NodeImage(controller)
	v := map[string]string{
		"kind":            kindversion.Version(),
		"kind node image": image,
		"kubernetes":      KubernetesVersion(image),
		"calico":          addon.CalicoVersion,
		"gateway-api":     addon.GatewayAPIVersion,
	}
	if c, err := addon.Controller(controller); err == nil {
		v["controller"] = c.Name
		v[c.Name] = c.Version
	}
	return v
}
