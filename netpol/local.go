package netpol

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/grpclab/grpclab/manifests"
)

// localAddresses places one pod of each Deployment the local data plane (cluster/local/netns)
// runs. The addresses are the expectation side: each exercises one edge of the article's
// policy, whose ipBlock is 172.17.0.0/16 except 172.17.1.0/24. Labels, namespaces and ports
// come from the manifests, never from here.
var localAddresses = map[string]string{
	"default/db":                 "172.17.0.10",   // the article's protected pod
	"default/frontend":           "172.17.0.20",   // admitted by podSelector role=frontend
	"default/foo":                "172.17.0.30",   // a routed backend (gateway-only policy)
	"default/greeter":            "172.17.0.40",   // admitted by the ipBlock alone
	"default/client":             "172.17.1.10",   // inside the except range
	"other/other-client":         "172.17.2.10",   // another namespace, admitted by the ipBlock alone
	"default/bar-stable":         "192.168.50.10", // matched by no peer
	"myproject/myproject-client": "192.168.50.20", // admitted by namespaceSelector project=myproject
}

// syntheticWorkloads are not Deployments of the manifests: the gateway's data plane (the
// namespace the gateway-only policy admits) and hosts outside the cluster that the article's
// egress rule names (10.0.0.0/24 TCP 5978, against the wrong port and the wrong range).
var syntheticWorkloads = []string{"edge-0", "ext-5978", "ext-5979", "ext-other"}

// LocalWorkloads builds the local data plane's workloads from the manifests' Deployments
// (pod labels, container ports) and Namespaces (labels), one pod each at localAddresses,
// plus the synthetic workloads of Lab. The isolation suite and `grpclab demo` share it.
func LocalWorkloads(objs []manifests.Object) ([]Workload, error) {
	nsLabels := map[string]map[string]string{}
	for _, ns := range manifests.Of[*corev1.Namespace](objs) {
		nsLabels[ns.Name] = ns.Labels
	}
	var out []Workload
	for _, d := range manifests.Of[*appsv1.Deployment](objs) {
		addr, ok := localAddresses[d.Namespace+"/"+d.Name]
		if !ok {
			continue
		}
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			return nil, fmt.Errorf("address of %s/%s: %w", d.Namespace, d.Name, err)
		}
		w := Workload{Name: d.Name + "-0", Namespace: d.Namespace, Labels: d.Spec.Template.Labels, NamespaceLabels: nsLabels[d.Namespace], IP: ip}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, p := range c.Ports {
				w.Ports = append(w.Ports, Port{Name: p.Name, Port: p.ContainerPort, Protocol: p.Protocol})
			}
		}
		out = append(out, w)
	}
	if len(out) != len(localAddresses) {
		var found []string
		for _, w := range out {
			found = append(found, w.Namespace+"/"+strings.TrimSuffix(w.Name, "-0"))
		}
		return nil, fmt.Errorf("the manifests have %v of the local data plane's %d Deployments", found, len(localAddresses))
	}
	for _, w := range Lab() {
		if slices.Contains(syntheticWorkloads, w.Name) {
			out = append(out, w)
		}
	}
	return out, nil
}
