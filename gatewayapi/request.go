package gatewayapi

import (
	"net/http"
	"regexp"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Request is a gRPC call as a GRPCRoute sees it: the host (:authority without the port), the
// service and method of its path, and its metadata.
type Request struct {
	Host, Service, Method string
	Headers               map[string]string
}

// Matches reports whether the match takes the request, as the spec defines GRPCMethodMatch
// and GRPCHeaderMatch: Exact is equality, RegularExpression must match the whole value (RE2),
// an unset service or method matches any, and header names are case-insensitive. A regular
// expression that does not compile matches nothing (validation rejects it first).
func (m *Match) Matches(r Request) bool {
	if mm := m.Method; mm != nil {
		regex := mm.Type != nil && *mm.Type == gatewayv1.GRPCMethodMatchRegularExpression
		if mm.Service != nil && !valueMatches(regex, *mm.Service, r.Service) ||
			mm.Method != nil && !valueMatches(regex, *mm.Method, r.Method) {
			return false
		}
	}
	headers := make(map[string]string, len(r.Headers))
	for k, v := range r.Headers {
		headers[http.CanonicalHeaderKey(k)] = v
	}
	for _, h := range m.Headers {
		v, ok := headers[http.CanonicalHeaderKey(string(h.Name))]
		regex := h.Type != nil && *h.Type == gatewayv1.GRPCHeaderMatchRegularExpression
		if !ok || !valueMatches(regex, h.Value, v) {
			return false
		}
	}
	return true
}

// valueMatches compares a value with a match's pattern: equality, or a whole RE2 match.
func valueMatches(regex bool, pattern, value string) bool {
	if !regex {
		return pattern == value
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)\z`)
	return err == nil && re.MatchString(value)
}

// Route picks what takes the request on the listener: the first candidate, in GRPCRoute
// precedence order, whose match matches it; nil when no route does (the spec: a 404, which
// gRPC clients see as UNIMPLEMENTED).
func (l *Listener) Route(r Request) *Candidate {
	for _, c := range l.Candidates(r.Host, nil) {
		if c.Match.Matches(r) {
			return &c
		}
	}
	return nil
}
