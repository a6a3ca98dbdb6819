package netpol

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
)

// Lab returns the isolation suite's workloads. Addresses are chosen so the article's policy
// is exercised on every edge: its ipBlock (172.17.0.0/16 except 172.17.1.0/24) and its
// egress range (10.0.0.0/24, TCP 5978).
//
//	default/db-0          172.17.0.10  role=db        the article's protected pod, redis 6379
//	default/frontend-0    172.17.0.20  role=frontend  admitted by podSelector
//	default/foo-0         172.17.0.30  app=foo        a routed backend (gateway-only policy)
//	default/excepted-0    172.17.1.10                 inside the except range
//	other/ipblock-0       172.17.2.10                 admitted by the ipBlock alone
//	other/outside-0       192.168.50.10               matched by nothing
//	myproject/mp-0        192.168.50.20               admitted by namespaceSelector project=myproject
//	grpclab-edge/edge-0   192.168.50.30  app=gateway  the gateway's namespace
//	ext-5978   10.0.0.10:5978   external, inside the egress rule
//	ext-5979   10.0.0.11:5979   external, right range, wrong port
//	ext-other  10.0.1.10:5978   external, right port, outside the range
func Lab() []Workload {
	grpc := []Port{{Name: "grpc", Port: 50051, Protocol: corev1.ProtocolTCP}}
	pod := func(name, ns, ip string, lbl map[string]string, ports []Port) Workload {
		nsl := map[string]string{}
		if ns == "myproject" {
			nsl["project"] = "myproject"
		}
		return Workload{Name: name, Namespace: ns, Labels: lbl, NamespaceLabels: nsl, IP: netip.MustParseAddr(ip), Ports: ports}
	}
	ext := func(name, ip string, port int32) Workload {
		return Workload{Name: name, External: true, IP: netip.MustParseAddr(ip), Ports: []Port{{Port: port, Protocol: corev1.ProtocolTCP}}}
	}
	return []Workload{
		pod("db-0", "default", "172.17.0.10", map[string]string{"role": "db"}, []Port{{Name: "redis", Port: 6379, Protocol: corev1.ProtocolTCP}}),
		pod("frontend-0", "default", "172.17.0.20", map[string]string{"role": "frontend"}, grpc),
		pod("foo-0", "default", "172.17.0.30", map[string]string{"app": "foo"}, grpc),
		pod("excepted-0", "default", "172.17.1.10", map[string]string{"role": "client"}, grpc),
		pod("ipblock-0", "other", "172.17.2.10", map[string]string{"role": "client"}, grpc),
		pod("outside-0", "other", "192.168.50.10", map[string]string{"role": "client"}, grpc),
		pod("mp-0", "myproject", "192.168.50.20", map[string]string{"role": "client"}, grpc),
		pod("edge-0", "grpclab-edge", "192.168.50.30", map[string]string{"app": "gateway"}, grpc),
		ext("ext-5978", "10.0.0.10", 5978),
		ext("ext-5979", "10.0.0.11", 5979),
		ext("ext-other", "10.0.1.10", 5978),
	}
}
