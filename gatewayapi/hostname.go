package gatewayapi

import (
	"regexp"
	"strings"
)

// hostnameRe is a DNS name, optionally with a leading "*." label: what the Gateway API's
// Hostname type admits (lower case), and all that may reach an unquoted nginx server_name.
var hostnameRe = regexp.MustCompile(`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// ValidHostname reports whether h (lower case) is a DNS name or a "*." wildcard of one.
func ValidHostname(h string) bool {
	return len(h) <= 253 && hostnameRe.MatchString(h)
}

// AnyHost stands for "every host": a route without hostnames on a listener without one.
const AnyHost = ""

func isWildcard(h string) bool {
	return strings.HasPrefix(h, "*.")
}

// wildcardMatches reports whether host (exact, or itself a wildcard) lies inside the wildcard
// pattern. Per the Gateway API, "*.example.com" covers one or more labels before
// ".example.com", never "example.com" itself.
func wildcardMatches(pattern, host string) bool {
	suffix := pattern[1:] // ".example.com"
	if isWildcard(host) {
		// *.a.example.com is inside *.example.com; *.example.com is inside itself.
		return host == pattern || strings.HasSuffix(host[1:], suffix)
	}
	return len(host) > len(suffix) && strings.HasSuffix(host, suffix)
}

// Covers reports whether every host that pattern p2 admits is admitted by p1.
func Covers(p1, p2 string) bool {
	switch {
	case p1 == AnyHost:
		return true
	case p2 == AnyHost:
		return false
	case p1 == p2:
		return true
	case isWildcard(p1):
		return wildcardMatches(p1, p2)
	default:
		return false
	}
}

// Intersect returns the hostnames a route serves on a listener: the route's hostnames narrowed
// by the listener's. A nil result means no intersection; [AnyHost] means every host.
func Intersect(listener string, route []string) []string {
	if len(route) == 0 {
		return []string{listener}
	}
	if listener == AnyHost {
		return dedupe(route)
	}
	var out []string
	for _, r := range route {
		switch {
		case Covers(listener, r):
			out = append(out, r)
		case Covers(r, listener):
			out = append(out, listener)
		}
	}
	return dedupe(out)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// specificity returns the Gateway API precedence figures of a pattern: characters in a
// matching non-wildcard hostname, then characters in a matching hostname. AnyHost is last.
func specificity(p string) (exact, all int) {
	switch {
	case p == AnyHost:
		return 0, 0
	case isWildcard(p):
		return 0, len(p)
	default:
		return len(p), len(p)
	}
}

// MoreSpecific reports whether pattern a is strictly more specific than b: an exact host beats
// any wildcard, a longer wildcard beats a shorter one.
func MoreSpecific(a, b string) bool {
	ae, aa := specificity(a)
	be, ba := specificity(b)
	if ae != be {
		return ae > be
	}
	return aa > ba
}
