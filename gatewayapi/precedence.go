package gatewayapi

import (
	"sort"
)

// ListenerFor picks the listener a host pattern reaches among listeners sharing a port: the
// most specific listener hostname covering it, as the spec requires. Nil when none covers it.
func ListenerFor(listeners []*Listener, host string) *Listener {
	var best *Listener
	for _, l := range listeners {
		if !Covers(l.Hostname, host) {
			continue
		}
		if best == nil || MoreSpecific(l.Hostname, best.Hostname) {
			best = l
		}
	}
	return best
}

// Candidate is one GRPCRoute match that may take requests for a host on a listener.
type Candidate struct {
	Route *Route
	// Hostname is the route's hostname on the listener that covers the host, the most
	// specific one.
	Hostname string
	Rule     *Rule
	Match    *Match
}

// Candidates lists, in GRPCRoute precedence order, every match of the GRPCRoutes attached to
// l whose hostnames cover host; the first that matches a request takes it. Routes for which
// skip says true are left out.
func (l *Listener) Candidates(host string, skip func(*Route) bool) []Candidate {
	var out []Candidate
	for _, a := range l.Routes {
		if a.Route.GRPC == nil || (skip != nil && skip(a.Route)) {
			continue
		}
		matched, found := AnyHost, false
		for _, h := range a.Hostnames {
			if Covers(h, host) && (!found || MoreSpecific(h, matched)) {
				matched, found = h, true
			}
		}
		if !found {
			continue
		}
		for ri := range a.Route.Rules {
			rule := &a.Route.Rules[ri]
			for mi := range rule.Matches {
				out = append(out, Candidate{Route: a.Route, Hostname: matched, Rule: rule, Match: &rule.Matches[mi]})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return precedes(out[i], out[j]) })
	return out
}

// precedes is the GRPCRoute precedence order: characters of the matching non-wildcard
// hostname, of the matching hostname, of the service, of the method, the number of header
// matches, then the oldest route, then namespace/name, then rule and match order.
func precedes(a, b Candidate) bool {
	ah, aa := specificity(a.Hostname)
	bh, ba := specificity(b.Hostname)
	as, am := a.Match.methodLengths()
	bs, bm := b.Match.methodLengths()
	for _, c := range [][2]int{{ah, bh}, {aa, ba}, {as, bs}, {am, bm}, {len(a.Match.Headers), len(b.Match.Headers)}} {
		if c[0] != c[1] {
			return c[0] > c[1]
		}
	}
	if !a.Route.Created.Equal(&b.Route.Created) {
		return a.Route.Created.Before(&b.Route.Created)
	}
	if ak, bk := key(a.Route.Namespace, a.Route.Name), key(b.Route.Namespace, b.Route.Name); ak != bk {
		return ak < bk
	}
	if a.Rule.Index != b.Rule.Index {
		return a.Rule.Index < b.Rule.Index
	}
	return a.Match.Index < b.Match.Index
}

// methodLengths are the characters of the match's service and method, as written.
func (m *Match) methodLengths() (service, method int) {
	if m.Method == nil {
		return 0, 0
	}
	if m.Method.Service != nil {
		service = len(*m.Method.Service)
	}
	if m.Method.Method != nil {
		method = len(*m.Method.Method)
	}
	return service, method
}
