package netpol

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Model answers "may this source open a connection to that destination port" for a fixed
// set of policies and workloads.
type Model struct {
	policies  []policy
	workloads []Workload
	byName    map[string]*Workload
}

// Verdict is the answer for one connection. A connection is allowed only when the source's
// egress and the destination's ingress both allow it.
type Verdict struct {
	Egress  bool
	Ingress bool
}

// Allowed reports whether the connection gets through.
func (v Verdict) Allowed() bool { return v.Egress && v.Ingress }

type policy struct {
	id        string // namespace/name, for errors
	namespace string
	selector  labels.Selector
	ingress   bool // policyTypes includes Ingress
	egress    bool // policyTypes includes Egress
	inRules   []rule
	outRules  []rule
}

// rule is one ingress or egress rule; no peers means every peer, no ports means every port.
type rule struct {
	peers []peer
	ports []portMatch
}

type peer struct {
	block *ipBlock
	// ns is nil when the peer has no namespaceSelector: only the policy's namespace.
	ns labels.Selector
	// pods is nil when the peer has no podSelector: every pod of the selected namespaces.
	pods labels.Selector
}

type ipBlock struct {
	cidr   netip.Prefix
	except []netip.Prefix
}

type portMatch struct {
	protocol corev1.Protocol
	any      bool // no port: every port of the protocol
	name     string
	from, to int32
}

// NewModel validates the policies and workloads and returns a model over them.
// A policy without a namespace is taken to be in "default", as kubectl would create it.
func NewModel(policies []*networkingv1.NetworkPolicy, workloads []Workload) (*Model, error) {
	ws := append([]Workload(nil), workloads...)
	byName, err := validateWorkloads(ws)
	if err != nil {
		return nil, err
	}
	m := &Model{workloads: ws, byName: byName}
	for i, np := range policies {
		if np == nil {
			return nil, fmt.Errorf("networkpolicy[%d]: is nil", i)
		}
		p, err := compile(np)
		if err != nil {
			return nil, err
		}
		m.policies = append(m.policies, p)
	}
	return m, nil
}

// Validate reports the first error in a policy, naming the object and field.
func Validate(np *networkingv1.NetworkPolicy) error {
	_, err := compile(np)
	return err
}

func compile(np *networkingv1.NetworkPolicy) (policy, error) {
	ns := np.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	p := policy{id: "networkpolicy " + ns + "/" + np.Name, namespace: ns}
	if np.Name == "" {
		return p, fmt.Errorf("%s: metadata.name: must not be empty", p.id)
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return p, fmt.Errorf("%s: spec.podSelector: %w", p.id, err)
	}
	p.selector = sel

	// policyTypes defaulting, as the API server does: Ingress always, Egress when egress
	// rules are present.
	if len(np.Spec.PolicyTypes) == 0 {
		p.ingress = true
		p.egress = len(np.Spec.Egress) > 0
	}
	for i, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			p.ingress = true
		case networkingv1.PolicyTypeEgress:
			p.egress = true
		default:
			return p, fmt.Errorf("%s: spec.policyTypes[%d]: unknown type %q (want Ingress or Egress)", p.id, i, t)
		}
	}
	for i, r := range np.Spec.Ingress {
		cr, err := compileRule(r.From, r.Ports, fmt.Sprintf("spec.ingress[%d]", i), "from")
		if err != nil {
			return p, fmt.Errorf("%s: %w", p.id, err)
		}
		p.inRules = append(p.inRules, cr)
	}
	for i, r := range np.Spec.Egress {
		cr, err := compileRule(r.To, r.Ports, fmt.Sprintf("spec.egress[%d]", i), "to")
		if err != nil {
			return p, fmt.Errorf("%s: %w", p.id, err)
		}
		p.outRules = append(p.outRules, cr)
	}
	return p, nil
}

func compileRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, field, peerField string) (rule, error) {
	var r rule
	for j, pe := range peers {
		f := fmt.Sprintf("%s.%s[%d]", field, peerField, j)
		cp, err := compilePeer(pe, f)
		if err != nil {
			return r, err
		}
		r.peers = append(r.peers, cp)
	}
	for j, po := range ports {
		f := fmt.Sprintf("%s.ports[%d]", field, j)
		cp, err := compilePort(po, f)
		if err != nil {
			return r, err
		}
		r.ports = append(r.ports, cp)
	}
	return r, nil
}

func compilePeer(pe networkingv1.NetworkPolicyPeer, field string) (peer, error) {
	var out peer
	if pe.IPBlock != nil {
		if pe.PodSelector != nil || pe.NamespaceSelector != nil {
			return out, fmt.Errorf("%s: ipBlock may not be combined with podSelector or namespaceSelector", field)
		}
		b, err := ParseIPBlock(pe.IPBlock.CIDR, pe.IPBlock.Except)
		if err != nil {
			return out, fmt.Errorf("%s.ipBlock: %w", field, err)
		}
		out.block = &b
		return out, nil
	}
	if pe.PodSelector == nil && pe.NamespaceSelector == nil {
		return out, fmt.Errorf("%s: one of ipBlock, podSelector or namespaceSelector must be set", field)
	}
	if pe.NamespaceSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(pe.NamespaceSelector)
		if err != nil {
			return out, fmt.Errorf("%s.namespaceSelector: %w", field, err)
		}
		out.ns = s
	}
	if pe.PodSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(pe.PodSelector)
		if err != nil {
			return out, fmt.Errorf("%s.podSelector: %w", field, err)
		}
		out.pods = s
	}
	return out, nil
}

// ParseIPBlock parses an ipBlock; every except range must lie inside cidr, as the API server
// requires. Errors name the field.
func ParseIPBlock(cidr string, except []string) (ipBlock, error) {
	var b ipBlock
	c, err := netip.ParsePrefix(cidr)
	if err != nil {
		return b, fmt.Errorf("cidr: invalid CIDR %q", cidr)
	}
	b.cidr = c.Masked()
	for i, e := range except {
		x, err := netip.ParsePrefix(e)
		if err != nil {
			return b, fmt.Errorf("except[%d]: invalid CIDR %q", i, e)
		}
		x = x.Masked()
		if x.Addr().Is4() != b.cidr.Addr().Is4() || x.Bits() < b.cidr.Bits() || !b.cidr.Contains(x.Addr()) {
			return b, fmt.Errorf("except[%d]: %s is not inside cidr %s", i, x, b.cidr)
		}
		b.except = append(b.except, x)
	}
	return b, nil
}

func compilePort(po networkingv1.NetworkPolicyPort, field string) (portMatch, error) {
	var out portMatch
	out.protocol = corev1.ProtocolTCP
	if po.Protocol != nil {
		if err := validateProtocol(*po.Protocol); err != nil {
			return out, fmt.Errorf("%s.protocol: %w", field, err)
		}
		if *po.Protocol != "" {
			out.protocol = *po.Protocol
		}
	}
	if po.Port == nil {
		if po.EndPort != nil {
			return out, fmt.Errorf("%s.endPort: needs port to be set", field)
		}
		out.any = true
		return out, nil
	}
	if po.Port.Type == intstr.String {
		if po.EndPort != nil {
			return out, fmt.Errorf("%s.endPort: may not be used with the named port %q", field, po.Port.StrVal)
		}
		if errs := validation.IsValidPortName(po.Port.StrVal); len(errs) > 0 {
			return out, fmt.Errorf("%s.port: %q: %s", field, po.Port.StrVal, errs[0])
		}
		out.name = po.Port.StrVal
		return out, nil
	}
	if po.Port.IntVal < 1 || po.Port.IntVal > 65535 {
		return out, fmt.Errorf("%s.port: %d out of range 1-65535", field, po.Port.IntVal)
	}
	out.from, out.to = po.Port.IntVal, po.Port.IntVal
	if po.EndPort != nil {
		if *po.EndPort < po.Port.IntVal || *po.EndPort > 65535 {
			return out, fmt.Errorf("%s.endPort: %d must be between port %d and 65535", field, *po.EndPort, po.Port.IntVal)
		}
		out.to = *po.EndPort
	}
	return out, nil
}

// Contains reports whether ip is in the block and in none of its except ranges.
func (b ipBlock) Contains(ip netip.Addr) bool {
	if !b.cidr.Contains(ip) {
		return false
	}
	for _, x := range b.except {
		if x.Contains(ip) {
			return false
		}
	}
	return true
}

// selects reports whether the policy applies to w.
func (p *policy) selects(w *Workload) bool {
	return !w.External && w.Namespace == p.namespace && p.selector.Matches(labels.Set(w.Labels))
}

// matches reports whether the peer admits the other end of the connection.
func (pe *peer) matches(policyNS string, other *Workload) bool {
	if pe.block != nil {
		return pe.block.Contains(other.IP)
	}
	if other.External {
		return false
	}
	if pe.ns == nil {
		if other.Namespace != policyNS {
			return false
		}
	} else if !pe.ns.Matches(labels.Set(other.namespaceLabels())) {
		return false
	}
	return pe.pods == nil || pe.pods.Matches(labels.Set(other.Labels))
}

// matches reports whether the port entry admits port/protocol on dst. A named port is looked
// up among dst's container ports; external hosts have none.
func (pm *portMatch) matches(dst *Workload, port int32, protocol corev1.Protocol) bool {
	if pm.protocol != protocol {
		return false
	}
	switch {
	case pm.any:
		return true
	case pm.name != "":
		if dst.External {
			return false
		}
		for _, p := range dst.Ports {
			if p.Name == pm.name && p.Port == port && p.protocol() == protocol {
				return true
			}
		}
		return false
	default:
		return pm.from <= port && port <= pm.to
	}
}

func (r *rule) matches(policyNS string, other, dst *Workload, port int32, protocol corev1.Protocol) bool {
	peerOK := len(r.peers) == 0
	for i := range r.peers {
		if r.peers[i].matches(policyNS, other) {
			peerOK = true
			break
		}
	}
	if !peerOK {
		return false
	}
	if len(r.ports) == 0 {
		return true
	}
	for i := range r.ports {
		if r.ports[i].matches(dst, port, protocol) {
			return true
		}
	}
	return false
}

// Verdict evaluates one connection from the workload src to port/protocol on dst.
func (m *Model) Verdict(src, dst string, port int32, protocol corev1.Protocol) (Verdict, error) {
	s, ok := m.byName[src]
	if !ok {
		return Verdict{}, fmt.Errorf("verdict: unknown source workload %q", src)
	}
	d, ok := m.byName[dst]
	if !ok {
		return Verdict{}, fmt.Errorf("verdict: unknown destination workload %q", dst)
	}
	if protocol == "" {
		protocol = corev1.ProtocolTCP
	}
	return Verdict{
		Egress:  m.direction(s, d, d, port, protocol, false),
		Ingress: m.direction(d, s, d, port, protocol, true),
	}, nil
}

// direction checks one side: subject is the pod the policies must select (the source for
// egress, the destination for ingress), other the far end, dst the owner of the port (for
// named ports). Unselected pods are not isolated; selected pods accept only what some
// selecting policy's rule allows (policies are ORed).
func (m *Model) direction(subject, other, dst *Workload, port int32, protocol corev1.Protocol, ingress bool) bool {
	isolated := false
	for i := range m.policies {
		p := &m.policies[i]
		if !p.selects(subject) {
			continue
		}
		rules := p.outRules
		if ingress {
			if !p.ingress {
				continue
			}
			rules = p.inRules
		} else if !p.egress {
			continue
		}
		isolated = true
		for j := range rules {
			if rules[j].matches(p.namespace, other, dst, port, protocol) {
				return true
			}
		}
	}
	return !isolated
}

// Table computes the expected truth table: every workload as a source, every workload port
// as a target. A workload's connection to itself is left out (marked Self): it never leaves
// the pod, so no policy applies.
func (m *Model) Table() *Table {
	t := NewTable(Names(m.workloads), Targets(m.workloads))
	for _, src := range t.Sources {
		for _, dst := range t.Targets {
			if src == dst.Workload {
				t.Set(src, dst, Self)
				continue
			}
			v, err := m.Verdict(src, dst.Workload, dst.Port, dst.Protocol)
			if err != nil {
				continue // cannot happen: both names come from the model
			}
			if v.Allowed() {
				t.Set(src, dst, Allow)
			} else {
				t.Set(src, dst, Deny)
			}
		}
	}
	return t
}
