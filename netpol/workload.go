// Package netpol is grpclab's model of Kubernetes NetworkPolicy: which workloads the
// policies let talk to which (Model), the truth tables that hold the expected and the
// observed answers (Table, Print), and the isolation workloads as the manifests declare them.
// It knows no suite and no platform: the isolation suite, the demo and the platforms' data
// planes (the local one is cluster/local/netns) all import it.
//
// The model follows the networking.k8s.io/v1 NetworkPolicy spec. One deliberate choice:
// an ipBlock peer matches the peer's IP whether the peer is a pod or not. The spec says
// ipBlock is meant for cluster-external addresses, but Calico (and most CNIs) compare the
// packet's address, so a pod whose IP falls in the block is admitted; the local data plane
// does the same, and the article's policy relies on it.
package netpol

import (
	"fmt"
	"net/netip"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// nameLabel is set by the API server on every namespace, so selectors may rely on it.
const nameLabel = "kubernetes.io/metadata.name"

// Workload is one pod, or one host outside the cluster when External is set.
type Workload struct {
	Name      string
	Namespace string
	Labels    map[string]string
	// NamespaceLabels are the labels of Namespace; kubernetes.io/metadata.name is added when
	// missing, as the API server does.
	NamespaceLabels map[string]string
	IP              netip.Addr
	Ports           []Port
	// External marks a host outside the cluster: no policy selects it and only ipBlock peers
	// match it.
	External bool
}

// Port is a container port (or a listening port of an external host).
type Port struct {
	// Name is the container port name that named ports in policies refer to; optional.
	Name     string
	Port     int32
	Protocol corev1.Protocol // empty means TCP
}

func (p Port) protocol() corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}

// Target is one destination column of a truth table.
type Target struct {
	Workload string
	Port     int32
	Protocol corev1.Protocol
}

func (t Target) String() string {
	s := t.Workload + ":" + strconv.Itoa(int(t.Port))
	if t.Protocol != "" && t.Protocol != corev1.ProtocolTCP {
		s += "/" + string(t.Protocol)
	}
	return s
}

// Targets lists every port of every workload, in workload order.
func Targets(workloads []Workload) []Target {
	var out []Target
	for _, w := range workloads {
		for _, p := range w.Ports {
			out = append(out, Target{Workload: w.Name, Port: p.Port, Protocol: p.protocol()})
		}
	}
	return out
}

// Names lists the workload names in order.
func Names(workloads []Workload) []string {
	out := make([]string, 0, len(workloads))
	for _, w := range workloads {
		out = append(out, w.Name)
	}
	return out
}

func validateWorkloads(workloads []Workload) (map[string]*Workload, error) {
	byName := make(map[string]*Workload, len(workloads))
	ips := make(map[netip.Addr]string, len(workloads))
	for i := range workloads {
		w := &workloads[i]
		where := fmt.Sprintf("workload[%d] %q", i, w.Name)
		if w.Name == "" {
			return nil, fmt.Errorf("%s: name: must not be empty", where)
		}
		if _, dup := byName[w.Name]; dup {
			return nil, fmt.Errorf("%s: name: duplicate", where)
		}
		if !w.External && w.Namespace == "" {
			return nil, fmt.Errorf("%s: namespace: must be set for a pod (or mark it External)", where)
		}
		if !w.IP.IsValid() {
			return nil, fmt.Errorf("%s: ip: not set", where)
		}
		if other, dup := ips[w.IP]; dup {
			return nil, fmt.Errorf("%s: ip: %s already used by %q", where, w.IP, other)
		}
		for j, p := range w.Ports {
			if p.Port < 1 || p.Port > 65535 {
				return nil, fmt.Errorf("%s: ports[%d].port: %d out of range 1-65535", where, j, p.Port)
			}
			if err := validateProtocol(p.Protocol); err != nil {
				return nil, fmt.Errorf("%s: ports[%d].protocol: %w", where, j, err)
			}
			if p.Name != "" {
				if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
					return nil, fmt.Errorf("%s: ports[%d].name: %q: %s", where, j, p.Name, errs[0])
				}
			}
		}
		byName[w.Name] = w
		ips[w.IP] = w.Name
	}
	return byName, nil
}

func validateProtocol(p corev1.Protocol) error {
	switch p {
	case "", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return nil
	}
	return fmt.Errorf("unknown protocol %q (want TCP, UDP or SCTP)", p)
}

// namespaceLabels returns the namespace labels with kubernetes.io/metadata.name filled in.
func (w *Workload) namespaceLabels() map[string]string {
	if w.External {
		return nil
	}
	if _, ok := w.NamespaceLabels[nameLabel]; ok {
		return w.NamespaceLabels
	}
	out := make(map[string]string, len(w.NamespaceLabels)+1)
	for k, v := range w.NamespaceLabels {
		out[k] = v
	}
	out[nameLabel] = w.Namespace
	return out
}
