package manifests

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The ingress-nginx controller's ConfigMap, as its Helm chart names it (--configmap).
const (
	IngressNginxNamespace = "ingress-nginx"
	IngressNginxConfigMap = "ingress-nginx-controller"
)

// IngressNginxRecycling are the connection-recycling keys of the ingress-nginx controller's
// ConfigMap (docs/user-guide/nginx-configuration/configmap.md); zero means the key is absent.
type IngressNginxRecycling struct {
	// KeepAliveRequests (keep-alive-requests) is nginx's keepalive_requests for client
	// connections.
	KeepAliveRequests int
	// KeepAlive (keep-alive, seconds) is keepalive_timeout.
	KeepAlive time.Duration
	// UpstreamKeepaliveConnections, UpstreamKeepaliveRequests, UpstreamKeepaliveTime and
	// UpstreamKeepaliveTimeout (seconds) are the upstream block's keepalive,
	// keepalive_requests, keepalive_time and keepalive_timeout.
	UpstreamKeepaliveConnections int
	UpstreamKeepaliveRequests    int
	UpstreamKeepaliveTime        time.Duration
	UpstreamKeepaliveTimeout     time.Duration
	// Ignored lists the ConfigMap's other keys, which the local emulator does not honour.
	Ignored []string
}

// IsIngressNginxConfigMap reports whether cm is the ingress-nginx controller's ConfigMap.
func IsIngressNginxConfigMap(cm *corev1.ConfigMap) bool {
	return cm.Namespace == IngressNginxNamespace && cm.Name == IngressNginxConfigMap
}

// ParseIngressNginxRecycling reads the recycling keys of the controller's ConfigMap. Values
// are strings, as in every ConfigMap: counts and seconds must be positive integers, and
// upstream-keepalive-time an nginx-style duration ("1h", "90s").
func ParseIngressNginxRecycling(cm *corev1.ConfigMap) (IngressNginxRecycling, field.ErrorList) {
	var out IngressNginxRecycling
	var fes field.ErrorList
	data := field.NewPath("data")
	count := func(key string, dst *int) {
		v := cm.Data[key]
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fes = append(fes, field.Invalid(data.Key(key), v, "must be a positive integer, quoted (ConfigMap values are strings)"))
			return
		}
		*dst = n
	}
	secs := func(key string, dst *time.Duration) {
		var n int
		count(key, &n)
		*dst = time.Duration(n) * time.Second
	}
	for _, k := range slices.Sorted(maps.Keys(cm.Data)) {
		switch k {
		case "keep-alive-requests":
			count(k, &out.KeepAliveRequests)
		case "keep-alive":
			secs(k, &out.KeepAlive)
		case "upstream-keepalive-connections":
			count(k, &out.UpstreamKeepaliveConnections)
		case "upstream-keepalive-requests":
			count(k, &out.UpstreamKeepaliveRequests)
		case "upstream-keepalive-timeout":
			secs(k, &out.UpstreamKeepaliveTimeout)
		case "upstream-keepalive-time":
			d, err := time.ParseDuration(cm.Data[k])
			if err != nil || d < time.Second {
				fes = append(fes, field.Invalid(data.Key(k), cm.Data[k], `must be a duration of at least 1s, such as "1h" or "90s"`))
				continue
			}
			out.UpstreamKeepaliveTime = d
		default:
			out.Ignored = append(out.Ignored, k)
		}
	}
	return out, fes
}

func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	if !IsIngressNginxConfigMap(cm) {
		return nil
	}
	_, fes := ParseIngressNginxRecycling(cm)
	return fes
}

// String lists the keys that are set, for notes and reports.
func (r IngressNginxRecycling) String() string {
	s := ""
	add := func(k string, v any, set bool) {
		if set {
			s += fmt.Sprintf(" %s=%v", k, v)
		}
	}
	add("keep-alive-requests", r.KeepAliveRequests, r.KeepAliveRequests > 0)
	add("keep-alive", r.KeepAlive, r.KeepAlive > 0)
	add("upstream-keepalive-connections", r.UpstreamKeepaliveConnections, r.UpstreamKeepaliveConnections > 0)
	add("upstream-keepalive-requests", r.UpstreamKeepaliveRequests, r.UpstreamKeepaliveRequests > 0)
	add("upstream-keepalive-time", r.UpstreamKeepaliveTime, r.UpstreamKeepaliveTime > 0)
	add("upstream-keepalive-timeout", r.UpstreamKeepaliveTimeout, r.UpstreamKeepaliveTimeout > 0)
	if s == "" {
		return "(no recycling key)"
	}
	return s[1:]
}
