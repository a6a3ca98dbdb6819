package manifests

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// SetGatewayClass fills gatewayClassName of every Gateway: the manifests carry a placeholder and
// each platform knows its controller's class.
func SetGatewayClass(objs []Object, name string) {
	for _, gw := range Of[*gatewayv1.Gateway](objs) {
		gw.Spec.GatewayClassName = gatewayv1.ObjectName(name)
	}
}

// Of returns the objects of type T, in load order: Of[*gatewayv1.GRPCRoute](objs).
func Of[T client.Object](objs []Object) []T {
	var out []T
	for _, o := range objs {
		if t, ok := o.Object.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// TLSSecret is one TLS Secret the manifests reference and the harness must generate.
type TLSSecret struct {
	Namespace, Name string
	// Hosts the certificate must cover, sorted: Ingress tls hosts; a listener's hostname, else the
	// hostnames of the routes attached to that listener. Wildcards stay wildcards.
	Hosts []string
}

// TLSSecrets lists the Secrets referenced by Gateway listener certificateRefs and Ingress tls
// entries, sorted by namespace and name. References Validate rejects (other kinds, no hosts) are
// left out; Validate reports them.
func TLSSecrets(objs []Object) []TLSSecret {
	hosts := map[[2]string]map[string]bool{}
	add := func(ns, name string, hs ...string) {
		k := [2]string{ns, name}
		if hosts[k] == nil {
			hosts[k] = map[string]bool{}
		}
		for _, h := range hs {
			if h != "" {
				hosts[k][strings.ToLower(h)] = true
			}
		}
	}
	routes := routeHosts(objs)
	nsIdx := &index{namespaces: map[string]*corev1.Namespace{}}
	for _, ns := range Of[*corev1.Namespace](objs) {
		nsIdx.namespaces[ns.Name] = ns
	}
	for _, gw := range Of[*gatewayv1.Gateway](objs) {
		for _, l := range gw.Spec.Listeners {
			if l.TLS == nil {
				continue
			}
			var hs []string
			if l.Hostname != nil {
				hs = []string{string(*l.Hostname)}
			} else {
				for _, r := range routes {
					if r.attachesTo(nsIdx, gw, l) {
						hs = append(hs, r.hostnames...)
					}
				}
			}
			for _, ref := range l.TLS.CertificateRefs {
				if deref(ref.Group, "") != "" || deref(ref.Kind, "Secret") != "Secret" {
					continue
				}
				add(string(deref(ref.Namespace, gatewayv1.Namespace(gw.Namespace))), string(ref.Name), hs...)
			}
		}
	}
	for _, ing := range Of[*networkingv1.Ingress](objs) {
		for _, t := range ing.Spec.TLS {
			if t.SecretName != "" {
				add(ing.Namespace, t.SecretName, t.Hosts...)
			}
		}
	}
	var out []TLSSecret
	for k, set := range hosts {
		if len(set) == 0 {
			continue
		}
		s := TLSSecret{Namespace: k[0], Name: k[1]}
		for h := range set {
			s.Hosts = append(s.Hosts, h)
		}
		slices.Sort(s.Hosts)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b TLSSecret) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// route is what certificate hosts need from an HTTPRoute or GRPCRoute.
type route struct {
	namespace, kind string
	parents         []gatewayv1.ParentReference
	hostnames       []string
}

func routeHosts(objs []Object) []route {
	var out []route
	conv := func(hs []gatewayv1.Hostname) []string {
		s := make([]string, len(hs))
		for i, h := range hs {
			s[i] = string(h)
		}
		return s
	}
	for _, r := range Of[*gatewayv1.GRPCRoute](objs) {
		out = append(out, route{r.Namespace, "GRPCRoute", r.Spec.ParentRefs, conv(r.Spec.Hostnames)})
	}
	for _, r := range Of[*gatewayv1.HTTPRoute](objs) {
		out = append(out, route{r.Namespace, "HTTPRoute", r.Spec.ParentRefs, conv(r.Spec.Hostnames)})
	}
	return out
}

func (r route) attachesTo(idx *index, gw *gatewayv1.Gateway, l gatewayv1.Listener) bool {
	for _, ref := range r.parents {
		if deref(ref.Group, gatewayv1.GroupName) != gatewayv1.GroupName || deref(ref.Kind, "Gateway") != "Gateway" {
			continue
		}
		if string(deref(ref.Namespace, gatewayv1.Namespace(r.namespace))) != gw.Namespace || string(ref.Name) != gw.Name {
			continue
		}
		if ref.SectionName != nil && *ref.SectionName != l.Name {
			continue
		}
		if ref.Port != nil && *ref.Port != l.Port {
			continue
		}
		if idx.listenerAdmits(gw, l, r.namespace, r.kind) {
			return true
		}
	}
	return false
}
