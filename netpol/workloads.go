package netpol

import (
	"fmt"
	"net/netip"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/services"
)

// AddressAnnotation on a Deployment of the manifests makes it an isolation workload: the local
// data plane runs its first pod at this IPv4 address. The manifests choose each address for
// the edge of the article's policy it exercises; a cluster ignores the annotation.
const AddressAnnotation = "grpclab.local/isolation-address"

// Workloads returns the isolation workloads as the manifests declare them, the one place they
// are defined: one pod ("<deployment>-0") of every Deployment carrying AddressAnnotation, with
// its pod labels, container ports and its Namespace's labels, at that address; then the
// Outside workloads, which no manifest can declare. Errors name the file, the object and the
// field.
func Workloads(objs []manifests.Object) ([]Workload, error) {
	pods, err := annotated(objs)
	if err != nil {
		return nil, err
	}
	return append(pods, Outside()...), nil
}

// annotated returns the workload of every Deployment that carries AddressAnnotation.
func annotated(objs []manifests.Object) ([]Workload, error) {
	nsLabels := map[string]map[string]string{}
	for _, ns := range manifests.Of[*corev1.Namespace](objs) {
		nsLabels[ns.Name] = ns.Labels
	}
	var out []Workload
	byAddr := map[netip.Addr]string{}
	for _, o := range objs {
		d, ok := o.Object.(*appsv1.Deployment)
		if !ok {
			continue
		}
		v, ok := d.Annotations[AddressAnnotation]
		if !ok {
			continue
		}
		id := fmt.Sprintf("%s: Deployment %s/%s: metadata.annotations[%s]", o.Source, d.Namespace, d.Name, AddressAnnotation)
		ip, err := netip.ParseAddr(v)
		if err != nil || !ip.Is4() {
			return nil, fmt.Errorf("%s: %q is not an IPv4 address", id, v)
		}
		if other, dup := byAddr[ip]; dup {
			return nil, fmt.Errorf("%s: %s is already the address of %s", id, ip, other)
		}
		for _, w := range Outside() {
			if w.IP == ip {
				return nil, fmt.Errorf("%s: %s is the address of the outside workload %s", id, ip, w.Name)
			}
		}
		byAddr[ip] = "Deployment " + d.Namespace + "/" + d.Name
		w := Workload{Name: d.Name + "-0", Namespace: d.Namespace, Labels: d.Spec.Template.Labels, NamespaceLabels: nsLabels[d.Namespace], IP: ip}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, p := range c.Ports {
				w.Ports = append(w.Ports, Port{Name: p.Name, Port: p.ContainerPort, Protocol: p.Protocol})
			}
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("isolation workloads: no Deployment of the manifests carries the annotation %s", AddressAnnotation)
	}
	return out, nil
}

// Namespaces lists, in order, the namespaces of the isolation workloads the manifests declare:
// where a cluster runs their pods. The Outside workloads' namespace is not among them.
func Namespaces(objs []manifests.Object) ([]string, error) {
	ws, err := annotated(objs)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, w := range ws {
		if !slices.Contains(out, w.Namespace) {
			out = append(out, w.Namespace)
		}
	}
	return out, nil
}

// Outside returns the isolation workloads that are no Deployment of the manifests: the
// gateway's data plane (the namespace grpclab-edge, which the gateway-only policy admits) and
// three hosts outside the cluster against the article's egress rule (10.0.0.0/24 TCP 5978):
// inside it, the right range on the wrong port, and the right port outside the range.
func Outside() []Workload {
	tcp := func(name string, port int32) []Port {
		return []Port{{Name: name, Port: port, Protocol: corev1.ProtocolTCP}}
	}
	ext := func(name, ip string, port int32) Workload {
		return Workload{Name: name, External: true, IP: netip.MustParseAddr(ip), Ports: tcp("", port)}
	}
	return []Workload{
		{Name: "edge-0", Namespace: "grpclab-edge", Labels: map[string]string{"app": "gateway"}, IP: netip.MustParseAddr("192.168.50.30"), Ports: tcp("grpc", services.DefaultPort)},
		ext("ext-5978", "10.0.0.10", 5978),
		ext("ext-5979", "10.0.0.11", 5979),
		ext("ext-other", "10.0.1.10", 5978),
	}
}
