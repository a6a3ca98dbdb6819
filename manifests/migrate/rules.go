package migrate

import (
	"fmt"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// grpcRules turns one host's paths into GRPCRoute rules. Paths with the same backends (and
// the same canary header) share a rule, since a rule's matches are alternatives; the
// catch-all "/" keeps a rule of its own, as matches added to it would narrow it. A canary's
// header rule comes before the default rule of its path. Precedence between the rules is
// Gateway API's (service and method before headers), not their order.
func grpcRules(paths []*grpcPath) []gatewayv1.GRPCRouteRule {
	var rules []gatewayv1.GRPCRouteRule
	open := map[string]int{} // key → the last rule with it
	add := func(method *gatewayv1.GRPCMethodMatch, header, value string, refs []gatewayv1.GRPCBackendRef) {
		if method == nil && header == "" {
			rules = append(rules, gatewayv1.GRPCRouteRule{BackendRefs: refs})
			return
		}
		match := gatewayv1.GRPCRouteMatch{Method: method.DeepCopy()}
		if header != "" {
			exact := gatewayv1.GRPCHeaderMatchExact
			match.Headers = []gatewayv1.GRPCHeaderMatch{{Type: &exact, Name: gatewayv1.GRPCHeaderName(header), Value: value}}
		}
		key := header + "=" + value + " → " + backendsKey(refs)
		if i, ok := open[key]; ok && len(rules[i].Matches) < maxRuleMatches {
			rules[i].Matches = append(rules[i].Matches, match)
			return
		}
		open[key] = len(rules)
		rules = append(rules, gatewayv1.GRPCRouteRule{Matches: []gatewayv1.GRPCRouteMatch{match}, BackendRefs: refs})
	}
	for _, p := range paths {
		main := []gatewayv1.GRPCBackendRef{backendRef(p.backend, nil)}
		def := main
		if cp := p.canary; cp != nil {
			canary := []gatewayv1.GRPCBackendRef{backendRef(cp.backend, nil)}
			if cp.cfg.header != "" {
				add(p.match, cp.cfg.header, cp.cfg.value, canary)
				if cp.cfg.never {
					add(p.match, cp.cfg.header, "never", main)
				}
			}
			if cp.cfg.weighted {
				mainWeight, canaryWeight := cp.cfg.total-cp.cfg.weight, cp.cfg.weight
				def = []gatewayv1.GRPCBackendRef{backendRef(p.backend, &mainWeight), backendRef(cp.backend, &canaryWeight)}
			}
		}
		add(p.match, "", "", def)
	}
	return rules
}

func backendRef(b backend, weight *int32) gatewayv1.GRPCBackendRef {
	port := gatewayv1.PortNumber(b.port)
	return gatewayv1.GRPCBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(b.name), Port: &port},
		Weight:                 weight,
	}}
}

func backendsKey(refs []gatewayv1.GRPCBackendRef) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		w := "-"
		if r.Weight != nil {
			w = fmt.Sprint(*r.Weight)
		}
		s[i] = fmt.Sprintf("%s:%d:%s", r.Name, *r.Port, w)
	}
	return strings.Join(s, ",")
}

// chunk splits rules into routes within the GRPCRoute limits: 16 rules and fewer than 128
// matches each. Routes for one hostname merge in Gateway API, so splitting keeps the routing.
func chunk(rules []gatewayv1.GRPCRouteRule) [][]gatewayv1.GRPCRouteRule {
	var out [][]gatewayv1.GRPCRouteRule
	var cur []gatewayv1.GRPCRouteRule
	matches := 0
	for _, r := range rules {
		if len(cur) == maxRules || len(cur) > 0 && matches+len(r.Matches) > maxRouteMatches {
			out, cur, matches = append(out, cur), nil, 0
		}
		cur = append(cur, r)
		matches += len(r.Matches)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
