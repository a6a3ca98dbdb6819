package controller

import (
	"cmp"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// The ingress-nginx canary annotations the emulator honours. A canary Ingress carries no
// locations of its own: each of its paths joins the main Ingress's location with the same host
// and path, and decides per request between the two backends, as ingress-nginx's balancer does:
// the header first (canary-by-header, with canary-by-header-value or else "always"/"never"),
// then the weight (canary-weight out of canary-weight-total, default 100).
const (
	annCanary            = annPrefix + "canary"
	annCanaryHeader      = annPrefix + "canary-by-header"
	annCanaryHeaderValue = annPrefix + "canary-by-header-value"
	annCanaryWeight      = annPrefix + "canary-weight"
	annCanaryWeightTotal = annPrefix + "canary-weight-total"
)

// canaryAnnotations are the keys a canary Ingress may carry; ingress-nginx applies the main
// Ingress's settings to the canary, so every other key on a canary is ignored.
var canaryAnnotations = map[string]bool{annCanary: true, annCanaryHeader: true, annCanaryHeaderValue: true,
	annCanaryWeight: true, annCanaryWeightTotal: true, annBackendProtocol: true}

// ingressCanary is a canary Ingress's share of one location.
type ingressCanary struct {
	from          string // "namespace/name spec.rules[0].http.paths[0]"
	upstream      string // "" when its backend is invalid: the canary then takes no traffic
	header, value string // value "" with a header: ingress-nginx's "always" and "never"
	weight, total int64
}

// headerToken is what ingress-nginx accepts as a canary-by-header name.
var headerToken = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$")

func isCanary(ing *networkingv1.Ingress) bool {
	b, _ := strconv.ParseBool(ing.Annotations[annCanary])
	return b
}

// readCanary reads a canary Ingress's annotations; nil when nothing routes to the canary.
func readCanary(ing *networkingv1.Ingress, diag func(field, reason, format string, args ...any)) *ingressCanary {
	ann := ing.Annotations
	c := &ingressCanary{total: 100}
	if ignored := otherAnnotations(ann, canaryAnnotations); len(ignored) > 0 {
		diag("metadata.annotations", "UnsupportedValue", "ignored on a canary, which takes the main Ingress's settings: %s", strings.Join(ignored, ", "))
	}
	if h, ok := ann[annCanaryHeader]; ok {
		if headerToken.MatchString(h) {
			c.header, c.value = strings.ToLower(h), ann[annCanaryHeaderValue]
		} else {
			diag("metadata.annotations", "UnsupportedValue", "%s %q is not a header name; no header rule", annCanaryHeader, h)
		}
	} else if _, ok := ann[annCanaryHeaderValue]; ok {
		diag("metadata.annotations", "UnsupportedValue", "%s is ignored without %s", annCanaryHeaderValue, annCanaryHeader)
	}
	weighted := false
	if v, ok := ann[annCanaryWeight]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			diag("metadata.annotations", "UnsupportedValue", "%s %q is not a non-negative integer; no weight", annCanaryWeight, v)
		} else {
			c.weight, weighted = n, true
		}
	}
	if v, ok := ann[annCanaryWeightTotal]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n <= 0 {
			diag("metadata.annotations", "UnsupportedValue", "%s %q is not a positive integer; the total is 100", annCanaryWeightTotal, v)
		} else {
			c.total = n
		}
	}
	c.weight = min(c.weight, c.total)
	if c.header == "" && !weighted {
		diag("metadata.annotations", "UnsupportedValue", "a canary with neither %s nor %s takes no traffic", annCanaryHeader, annCanaryWeight)
		return nil
	}
	return c
}

// mergeCanaries attaches every canary Ingress's paths to the main locations they repeat.
func (r *renderer) mergeCanaries(canaries []*networkingv1.Ingress, hosts map[string]*ingressHost) {
	for _, ing := range canaries {
		diag := func(field, reason, format string, args ...any) {
			r.diag("Ingress", ing.Namespace, ing.Name, field, reason, fmt.Sprintf(format, args...))
		}
		cfg := readCanary(ing, diag)
		if cfg == nil {
			continue
		}
		for ri, rule := range ing.Spec.Rules {
			eachLocation(rule, ri, diag, func(field, m string, be networkingv1.IngressBackend) {
				loc := findLocation(hosts[strings.ToLower(rule.Host)], m)
				switch {
				case loc == nil:
					diag(field, "NoMainIngress", "no main Ingress serves host %q location %q; the canary is ignored, as in ingress-nginx", rule.Host, m)
				case loc.canary != nil:
					diag(field, "PathConflict", "host %q location %q already has the canary %s (one canary per path)", rule.Host, m, loc.canary.from)
				default:
					c := *cfg
					c.from = fmt.Sprintf("%s %s", objKey(ing.Namespace, ing.Name), field)
					c.upstream = r.ingressBackend(ing, field+".backend", &be, diag)
					loc.canary = &c
				}
			})
		}
	}
}

func findLocation(h *ingressHost, match string) *ingressLocation {
	if h == nil {
		return nil
	}
	for i := range h.locations {
		if h.locations[i].match == match {
			return &h.locations[i]
		}
	}
	return nil
}

// canaryTarget is what a location with a canary passes to: a map variable that applies the
// header rule, falling back to the weighted split (or the main upstream alone).
func (r *renderer) canaryTarget(l *ingressLocation) string {
	c := l.canary
	canary := c.upstream
	if canary == "" {
		canary = l.upstream // an invalid canary backend takes no traffic
	}
	byWeight := r.target([]weighted{{l.upstream, c.total - c.weight}, {canary, c.weight}})
	if byWeight == markUnavailable {
		byWeight = l.upstream
	}
	if c.header == "" {
		return byWeight
	}
	variable := "http_" + strings.ReplaceAll(c.header, "-", "_")
	cond := func(v string) int {
		return r.headerCond(headerCond{variable: variable, regex: "^" + regexp.QuoteMeta(v) + `\z`})
	}
	v := fmt.Sprintf("$grpclab_canary_%d", len(r.canaryMaps))
	var b strings.Builder
	fmt.Fprintf(&b, "    map \"$grpclab_h%d", cond(cmp.Or(c.value, "always")))
	if c.value == "" {
		fmt.Fprintf(&b, "$grpclab_h%d\" %s {\n        default %s;\n        \"10\" %s;\n        \"01\" %s;\n    }\n",
			cond("never"), v, quote(byWeight), quote(canary), quote(l.upstream))
	} else {
		fmt.Fprintf(&b, "\" %s {\n        default %s;\n        \"1\" %s;\n    }\n", v, quote(byWeight), quote(canary))
	}
	r.canaryMaps = append(r.canaryMaps, fmt.Sprintf("    # canary %s on %s\n%s", c.from, l.from, b.String()))
	return v
}
