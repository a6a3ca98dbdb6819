package netns

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/grpclab/grpclab/netpol"
)

// Render turns policies into one nftables table for the node namespace, the way Calico's
// Felix programs a node: a forward chain that accepts established and related packets
// (so replies pass), then sends each packet leaving a selected pod to that pod's egress
// chain ("from-<pod>", Felix's cali-fw-*) and each packet entering a selected pod to its
// ingress chain ("to-<pod>", cali-tw-*). A pod chain holds one rule per peer × port of every
// policy selecting the pod and ends in drop (default deny). Egress allow rules "return" so the
// destination's ingress chain still runs: a connection needs both sides. Pods no policy
// selects get no jump and stay open. Pod and namespace selectors are resolved to the pod IPs
// they match at render time, as Felix resolves them into IP sets.
//
// ifaces maps a workload name to its interface in the node namespace. Policies are assumed
// valid (netpol.Validate); this renderer resolves selectors independently of the netpol model
// so the data-plane test checks one against the other.
func Render(table string, workloads []netpol.Workload, ifaces map[string]string, policies []*networkingv1.NetworkPolicy) (string, error) {
	for _, w := range workloads {
		if !w.IP.Is4() {
			return "", fmt.Errorf("render: workload %q: ip %s: the local data plane is IPv4 only", w.Name, w.IP)
		}
		if _, ok := ifaces[w.Name]; !ok {
			return "", fmt.Errorf("render: workload %q: no interface", w.Name)
		}
	}
	var ingress, egress = map[string][]string{}, map[string][]string{}
	for _, np := range policies {
		if err := netpol.Validate(np); err != nil {
			return "", fmt.Errorf("render: %w", err)
		}
		if err := renderPolicy(np, workloads, ingress, egress); err != nil {
			return "", fmt.Errorf("render: %w", err)
		}
	}

	var b strings.Builder
	// Declaring then deleting the table makes "nft -f" replace it in one transaction.
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\ntable inet %s {\n", table, table, table)
	b.WriteString("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n")
	b.WriteString("\t\tct state established,related accept\n\t\tct state invalid drop\n")
	for _, w := range workloads {
		if _, ok := egress[w.Name]; ok {
			fmt.Fprintf(&b, "\t\tiifname %q jump from-%s\n", ifaces[w.Name], w.Name)
		}
	}
	for _, w := range workloads {
		if _, ok := ingress[w.Name]; ok {
			fmt.Fprintf(&b, "\t\toifname %q jump to-%s\n", ifaces[w.Name], w.Name)
		}
	}
	b.WriteString("\t}\n")
	for _, w := range workloads {
		if rules, ok := egress[w.Name]; ok {
			writeChain(&b, "from-"+w.Name, rules)
		}
		if rules, ok := ingress[w.Name]; ok {
			writeChain(&b, "to-"+w.Name, rules)
		}
	}
	b.WriteString("}\n")
	return b.String(), nil
}

func writeChain(b *strings.Builder, name string, rules []string) {
	fmt.Fprintf(b, "\tchain %s {\n", name)
	for _, r := range rules {
		fmt.Fprintf(b, "\t\t%s\n", r)
	}
	b.WriteString("\t\tdrop\n\t}\n")
}

// renderPolicy appends the policy's allow rules to the chains of the pods it selects. A
// selected pod gets a chain entry even with no rules, which is what default deny means.
func renderPolicy(np *networkingv1.NetworkPolicy, workloads []netpol.Workload, ingress, egress map[string][]string) error {
	ns := np.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return fmt.Errorf("networkpolicy %s/%s: spec.podSelector: %w", ns, np.Name, err)
	}
	hasIngress, hasEgress := len(np.Spec.PolicyTypes) == 0, len(np.Spec.PolicyTypes) == 0 && len(np.Spec.Egress) > 0
	for _, t := range np.Spec.PolicyTypes {
		hasIngress = hasIngress || t == networkingv1.PolicyTypeIngress
		hasEgress = hasEgress || t == networkingv1.PolicyTypeEgress
	}
	var ins, outs []allowRule
	for _, r := range np.Spec.Ingress {
		ins = append(ins, allowRule{r.From, r.Ports})
	}
	for _, r := range np.Spec.Egress {
		outs = append(outs, allowRule{r.To, r.Ports})
	}
	comment := fmt.Sprintf("comment %q", ns+"/"+np.Name)
	// appendRules adds each rule's lines: every peer match crossed with every port match.
	appendRules := func(lines []string, rules []allowRule, dir string, dsts []netpol.Workload, pinAddr bool, verdict string) ([]string, error) {
		for _, r := range rules {
			peers, err := peerMatches(r.peers, ns, workloads, dir)
			if err != nil {
				return nil, err
			}
			for _, peer := range peers {
				for _, port := range portMatches(r.ports, dsts, pinAddr) {
					lines = append(lines, join(peer, port, verdict, comment))
				}
			}
		}
		return lines, nil
	}
	for i := range workloads {
		pod := &workloads[i]
		if pod.External || pod.Namespace != ns || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		if hasIngress {
			rules, err := appendRules(ingress[pod.Name], ins, "saddr", []netpol.Workload{*pod}, false, "accept")
			if err != nil {
				return err
			}
			ingress[pod.Name] = rules // the key alone isolates the pod
		}
		if hasEgress {
			rules, err := appendRules(egress[pod.Name], outs, "daddr", workloads, true, "return")
			if err != nil {
				return err
			}
			egress[pod.Name] = rules
		}
	}
	return nil
}

// allowRule is an ingress or egress rule alike: the peers it admits and the ports it opens.
type allowRule struct {
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// peerMatches returns one nft match expression per peer; "" matches every address. A
// selector peer that matches no pod yields no expression: it admits nobody.
func peerMatches(peers []networkingv1.NetworkPolicyPeer, policyNS string, workloads []netpol.Workload, dir string) ([]string, error) {
	if len(peers) == 0 {
		return []string{""}, nil
	}
	var out []string
	for _, pe := range peers {
		if pe.IPBlock != nil {
			cidr, err := netip.ParsePrefix(pe.IPBlock.CIDR)
			if err != nil {
				return nil, fmt.Errorf("ipBlock cidr %q: %w", pe.IPBlock.CIDR, err)
			}
			if !cidr.Addr().Is4() {
				continue // IPv6 blocks cannot match this IPv4 data plane
			}
			m := fmt.Sprintf("ip %s %s", dir, cidr.Masked())
			if len(pe.IPBlock.Except) > 0 {
				m += fmt.Sprintf(" ip %s != { %s }", dir, strings.Join(pe.IPBlock.Except, ", "))
			}
			out = append(out, m)
			continue
		}
		var nsSel, podSel labels.Selector
		var err error
		if pe.NamespaceSelector != nil {
			if nsSel, err = metav1.LabelSelectorAsSelector(pe.NamespaceSelector); err != nil {
				return nil, fmt.Errorf("namespaceSelector: %w", err)
			}
		}
		if pe.PodSelector != nil {
			if podSel, err = metav1.LabelSelectorAsSelector(pe.PodSelector); err != nil {
				return nil, fmt.Errorf("podSelector: %w", err)
			}
		}
		var ips []string
		for _, w := range workloads {
			if w.External {
				continue
			}
			if nsSel == nil && w.Namespace != policyNS {
				continue
			}
			if nsSel != nil && !nsSel.Matches(labels.Set(nsLabels(w))) {
				continue
			}
			if podSel != nil && !podSel.Matches(labels.Set(w.Labels)) {
				continue
			}
			ips = append(ips, w.IP.String())
		}
		if len(ips) > 0 {
			sort.Strings(ips)
			out = append(out, fmt.Sprintf("ip %s { %s }", dir, strings.Join(ips, ", ")))
		}
	}
	return out, nil
}

func nsLabels(w netpol.Workload) map[string]string {
	out := map[string]string{"kubernetes.io/metadata.name": w.Namespace}
	for k, v := range w.NamespaceLabels {
		out[k] = v
	}
	return out
}

// portMatches returns one nft match expression per port entry; "" matches everything. A
// named port is resolved on the destination pods: for ingress the selected pod, for egress
// every pod carrying that port name (external hosts have no named ports), pinning the
// destination address too since the number may differ between pods.
func portMatches(ports []networkingv1.NetworkPolicyPort, dsts []netpol.Workload, pinAddr bool) []string {
	if len(ports) == 0 {
		return []string{""}
	}
	var out []string
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil && *p.Protocol != "" {
			proto = *p.Protocol
		}
		l4 := "meta l4proto " + strings.ToLower(string(proto))
		switch {
		case p.Port == nil:
			out = append(out, l4)
		case p.Port.Type == intstr.String:
			for _, d := range dsts {
				if d.External {
					continue
				}
				for _, cp := range d.Ports {
					cproto := cp.Protocol
					if cproto == "" {
						cproto = corev1.ProtocolTCP
					}
					if cp.Name != p.Port.StrVal || cproto != proto {
						continue
					}
					m := fmt.Sprintf("%s th dport %d", l4, cp.Port)
					if pinAddr {
						m = fmt.Sprintf("ip daddr %s %s", d.IP, m)
					}
					out = append(out, m)
				}
			}
		case p.EndPort != nil:
			out = append(out, fmt.Sprintf("%s th dport %d-%d", l4, p.Port.IntVal, *p.EndPort))
		default:
			out = append(out, fmt.Sprintf("%s th dport %d", l4, p.Port.IntVal))
		}
	}
	return out
}
