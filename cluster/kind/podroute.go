package kind

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// routeProto marks the host routes the platform adds (ip route ... proto 213), so that it
// removes only its own, and recognises a stale one of its own on the next run.
const routeProto = "213"

// DirectPath says how the "direct to a pod" path reaches a pod from this machine.
type DirectPath string

const (
	// DirectRouted: the host routes each node's podCIDR via the node's address on kind's
	// Docker network, so a client dials the pod's own IP, as a pod in the cluster would
	// (minus the overlay): no hop of the platform's own in between.
	DirectRouted DirectPath = "routed to the pod IPs"
	// DirectPortForward: through client-go port-forwards (the API server and the kubelet's
	// streaming tunnel), itself a hop; used where the host cannot route to the pods.
	DirectPortForward DirectPath = "port-forward"
)

// podRoute is one host route to a node's pods.
type podRoute struct{ cidr, via string }

// routePods adds a host route to every node's podCIDR, when this machine can: Linux, root,
// the ip command, a podCIDR the host does not already route elsewhere. Otherwise it says why
// and the direct path stays on port-forwards.
func (p *Platform) routePods(ctx context.Context) (DirectPath, string) {
	if os.Geteuid() != 0 {
		return DirectPortForward, "adding a host route needs root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return DirectPortForward, "no ip command (iproute2)"
	}
	nodeList, err := p.provider.kind.ListInternalNodes(p.name)
	if err != nil {
		return DirectPortForward, err.Error()
	}
	var routes []podRoute
	for _, n := range nodeList {
		node, err := p.fwd.cs.CoreV1().Nodes().Get(ctx, n.String(), metav1.GetOptions{})
		if err != nil {
			return DirectPortForward, err.Error()
		}
		ip4, _, err := n.IP()
		if err != nil || ip4 == "" || node.Spec.PodCIDR == "" {
			return DirectPortForward, fmt.Sprintf("node %s: no IPv4 address or podCIDR", n.String())
		}
		if other := conflictingRoute(ctx, node.Spec.PodCIDR); other != "" {
			return DirectPortForward, fmt.Sprintf("this host already routes %s (%s)", node.Spec.PodCIDR, other)
		}
		routes = append(routes, podRoute{cidr: node.Spec.PodCIDR, via: ip4})
	}
	for _, r := range routes {
		if out, err := exec.CommandContext(ctx, "ip", "-4", "route", "replace", r.cidr, "via", r.via, "proto", routeProto).CombinedOutput(); err != nil {
			p.unroutePods(ctx)
			return DirectPortForward, fmt.Sprintf("ip route replace %s via %s: %v: %s", r.cidr, r.via, err, strings.TrimSpace(string(out)))
		}
	}
	return DirectRouted, ""
}

// conflictingRoute returns a host route, other than the default route and the platform's
// own, that covers cidr's first address or lies inside cidr: routing cidr to the node would
// take those addresses away from it.
func conflictingRoute(ctx context.Context, cidr string) string {
	ip, _, err := net.ParseCIDR(cidr)
	if err != nil {
		return "unparsable " + cidr
	}
	var lines []string
	for _, args := range [][]string{{"match", ip.String()}, {"root", cidr}} {
		out, err := ipRouteShow(ctx, args...)
		if err != nil {
			return "ip route show: " + err.Error()
		}
		lines = append(lines, strings.Split(strings.TrimSpace(out), "\n")...)
	}
	for _, l := range lines {
		if l == "" || strings.HasPrefix(l, "default ") || strings.Contains(l, " proto "+routeProto) {
			continue
		}
		return l
	}
	return ""
}

// ipRouteShow runs `ip -4 route show ARGS`; a variable so tests can give it a routing table.
var ipRouteShow = func(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", append([]string{"-4", "route", "show"}, args...)...).Output()
	return string(out), err
}

// unroutePods removes every host route the platform added.
func (p *Platform) unroutePods(ctx context.Context) {
	if os.Geteuid() != 0 {
		return
	}
	_ = exec.CommandContext(ctx, "ip", "-4", "route", "flush", "proto", routeProto).Run()
}
