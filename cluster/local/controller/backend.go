package controller

import (
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/grpclab/grpclab/gatewayapi"
)

// Markers a routing map yields instead of an upstream; a location turns them into gRPC errors.
const (
	markUnimplemented = "@unimplemented"
	markUnavailable   = "@unavailable"
)

// upstreamName names the upstream of one Service port. Namespaces and Service names are DNS
// labels without dots, so the dotted form cannot collide, and grpc_pass accepts it as a host.
func upstreamName(namespace, service string, port int32) string {
	return fmt.Sprintf("%s.%s.%d.svc", service, namespace, port)
}

// upstream registers the upstream of a Service port the model resolved, from its ready
// endpoints. It returns the upstream name, or "" and why there is none.
func (r *renderer) upstream(namespace, name string, port int32) (upstream, msg string) {
	addrs := r.in.Endpoints[EndpointKey(namespace, name, port)]
	if len(addrs) == 0 {
		return "", fmt.Sprintf("Service %s/%s port %d has no ready endpoints", namespace, name, port)
	}
	for _, a := range addrs {
		if err := checkAddr(a); err != nil {
			return "", fmt.Sprintf("Service %s/%s port %d: endpoint %v", namespace, name, port, err)
		}
	}
	up := upstreamName(namespace, name, port)
	r.upstreams[up] = addrs
	return up, ""
}

// servicePortByName maps a named Service port to its number.
func servicePortByName(svc *corev1.Service, name string) (int32, bool) {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p.Port, true
		}
	}
	return 0, false
}

// weighted is one share of a rule's traffic.
type weighted struct {
	target string // upstream name or markUnavailable
	weight int64
}

// target turns a rule's weighted backends into what its map entry yields: an upstream, a
// split_clients variable, or markUnavailable when nothing valid carries weight.
func (r *renderer) target(shares []weighted) string {
	merged := map[string]int64{}
	var order []string
	var total int64
	for _, s := range shares {
		if s.weight <= 0 {
			continue // weight 0 is never chosen
		}
		if _, ok := merged[s.target]; !ok {
			order = append(order, s.target)
		}
		merged[s.target] += s.weight
		total += s.weight
	}
	switch len(order) {
	case 0:
		return markUnavailable
	case 1:
		return order[0]
	}
	// Deterministic output: biggest share first, then name.
	sort.SliceStable(order, func(i, j int) bool {
		if merged[order[i]] != merged[order[j]] {
			return merged[order[i]] > merged[order[j]]
		}
		return order[i] < order[j]
	})
	var b strings.Builder
	for i, t := range order {
		if i == len(order)-1 {
			// "*" takes the rest, so rounding never leaves requests without a backend.
			fmt.Fprintf(&b, "        * %s;\n", quote(t))
			break
		}
		pct := math.Round(float64(merged[t])*10000/float64(total)) / 100
		if pct <= 0 {
			continue // below split_clients' 0.01% resolution
		}
		fmt.Fprintf(&b, "        %.2f%% %s;\n", pct, quote(t))
	}
	body := b.String()
	if v, ok := r.splitByBody[body]; ok {
		return v
	}
	v := fmt.Sprintf("$grpclab_split_%d", len(r.splits))
	r.splits = append(r.splits, split{variable: v, body: body})
	r.splitByBody[body] = v
	return v
}

type split struct {
	variable, body string
}

// checkAddr accepts "host:port" with a numeric port and a host that is safe unquoted in a
// listen or server directive.
func checkAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("address %q: %w", a, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("address %q: bad port", a)
	}
	if net.ParseIP(host) == nil && !gatewayapi.ValidHostname(host) {
		return fmt.Errorf("address %q: bad host", a)
	}
	return nil
}
