package manifests

import (
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/gatewayapi"
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
// entries, sorted by namespace and name. References Validate rejects (other kinds, no
// ReferenceGrant, no hosts) are left out; Validate reports them.
func TLSSecrets(objs []Object) []TLSSecret {
	return tlsSecrets(objs, Model(objs))
}

func tlsSecrets(objs []Object, model *gatewayapi.Model) []TLSSecret {
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
	for _, l := range model.Listeners {
		if l.Spec.TLS == nil {
			continue
		}
		hs := []string{l.Hostname}
		if l.Hostname == gatewayapi.AnyHost {
			hs = nil
			for _, a := range l.Routes {
				hs = append(hs, a.Route.Hostnames...)
			}
		}
		for _, c := range l.Certificates {
			if c.Resolved {
				add(c.Namespace, c.Name, hs...)
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
