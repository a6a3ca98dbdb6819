// Package kind is the real-cluster platform: a kind cluster provisioned through the
// sigs.k8s.io/kind library (never its CLI), Calico, one traffic controller, the service
// image loaded into the nodes, and the manifests server-side applied.
package kind

import (
	"fmt"
	"os"
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
	// IngressNGINXNodeImage is the Kubernetes 1.35 node image kind v0.33.0's release notes
	// list as built for that release (1.35 is the newest minor ingress-nginx v1.15.1
	// supports). kind supports a node image only with the release that built it.
	IngressNGINXNodeImage = "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0"

	// Host ports on 127.0.0.1 the entry points are published on. The ingress uses
	// unprivileged ports so a workshop laptop's own 80/443 stay free.
	GatewayHostPort     int32 = 50051
	IngressHostPort     int32 = 8443
	IngressHTTPHostPort int32 = 8080
)

// NodeImage is the node image a controller runs on with the image source.
func NodeImage(controller string, src ImageSource) string {
	if src == Built {
		return BuiltNodeImage
	}
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

// ConfigOptions are what the kind config depends on besides the controller.
type ConfigOptions struct {
	// Images is where the node image comes from.
	Images ImageSource
	// CgroupV1 is set when the host is not on the unified cgroup v2 hierarchy: kubelet
	// 1.35+ refuses cgroup v1 unless its configuration says failCgroupV1: false.
	CgroupV1 bool
}

// kubeletCgroupV1Patch lets kubelet start on a cgroup v1 host (KubeletConfiguration
// failCgroupV1, default true since Kubernetes 1.35).
const kubeletCgroupV1Patch = `kind: KubeletConfiguration
apiVersion: kubelet.config.k8s.io/v1beta1
failCgroupV1: false
`

// HostCgroupV1 reports whether this host runs cgroup v1 (or hybrid): no cgroup.controllers
// file at the root of /sys/fs/cgroup.
func HostCgroupV1() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err != nil
}

// Config is the kind cluster a controller gets: one node, kind's CNI disabled so the
// platform's own pod network owns it (Calico, or on the hermetic cluster a ptp network with
// kube-network-policies), on Calico's pool, and the node ports the entry points need mapped
// to 127.0.0.1 on the host.
//
// Gateway controllers: the addon makes the Gateway's data-plane Service a NodePort fixed
// at addon.GatewayNodePort, which the node's mapping publishes as 127.0.0.1:50051.
// Ingress controllers listen on the addon's IngressPorts (ingress-nginx: hostPorts 443/80;
// Traefik: NodePorts), mapped to 127.0.0.1:8443 and :8080. The node keeps the
// ingress-ready=true label of kind's ingress guide, which ingress-nginx's kind manifest no
// longer selects on (since v1.13.0).
func Config(name, controller string, o ConfigOptions) (*v1alpha4.Cluster, error) {
	c, err := addon.Controller(controller)
	if err != nil {
		return nil, fmt.Errorf("kind config: %w", err)
	}
	node := v1alpha4.Node{
		Role:  v1alpha4.ControlPlaneRole,
		Image: NodeImage(controller, o.Images),
	}
	if c.GatewayClass != "" {
		node.ExtraPortMappings = append(node.ExtraPortMappings, mapping(addon.GatewayNodePort, GatewayHostPort))
	}
	if c.IngressClass != "" {
		node.Labels = map[string]string{"ingress-ready": "true"}
		node.ExtraPortMappings = append(node.ExtraPortMappings,
			mapping(c.IngressPorts.HTTPS, IngressHostPort),
			mapping(c.IngressPorts.HTTP, IngressHTTPHostPort))
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
	if o.CgroupV1 {
		cfg.KubeadmConfigPatches = []string{kubeletCgroupV1Patch}
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
func Versions(controller string, src ImageSource) map[string]string {
	image := NodeImage(controller, src)
	v := map[string]string{
		"kind":            kindversion.Version(),
		"kind node image": image,
		"kubernetes":      KubernetesVersion(image),
		"gateway-api":     addon.GatewayAPIVersion,
		"images":          string(src),
	}
	enforcer := Enforcer(src)
	v["networkpolicy enforcer"] = enforcer.Name + " " + enforcer.Version
	if c, err := addon.Controller(controller); err == nil {
		v["controller"] = c.Name
		v[c.Name] = c.Version
	}
	return v
}
