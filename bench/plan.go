package bench

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/gatewayapi"
	"github.com/grpclab/grpclab/manifests"
)

// backend is one Service behind an entry point.
type backend struct {
	namespace, service string
	port               int32
	// host and entry are how the entry point reaches it.
	host  string
	entry string
}

// planned is one method and the ways to its backends.
type planned struct {
	method Method
	via    []backend
}

// plan derives, from the manifests, where each method goes: through the Gateway host that
// routes it most specifically (a rule naming the method outranks a match-all rule; then the
// first host in file order), to that rule's backend; and through the Ingress host whose path
// takes it. Calls carry no canary header, so header rules never take them.
func plan(objs []manifests.Object) ([]planned, error) {
	model := manifests.Model(objs)
	var out []planned
	for _, m := range []Method{SayHello, Login, SayHelloStream} {
		p := planned{method: m}
		gw, err := gatewayBackend(model, m)
		if err != nil {
			return nil, err
		}
		p.via = append(p.via, gw)
		ing, err := ingressBackend(objs, m)
		if err != nil {
			return nil, err
		}
		p.via = append(p.via, ing)
		out = append(out, p)
	}
	return out, nil
}

// gatewayBackend finds the Gateway host and backend that take the method.
func gatewayBackend(model *gatewayapi.Model, m Method) (backend, error) {
	var best backend
	bestScore := 0
	for _, l := range model.Listeners {
		if !l.Accepted() {
			continue
		}
		for _, a := range l.Routes {
			for _, host := range a.Hostnames {
				if host == gatewayapi.AnyHost || strings.HasPrefix(host, "*") {
					continue
				}
				c := l.Route(gatewayapi.Request{Host: host, Service: m.Service, Method: m.Name})
				if c == nil {
					continue
				}
				score := 1
				if c.Match.Method != nil {
					score = 2
				}
				for _, b := range c.Rule.Backends {
					if b.Resolved && b.Weight > 0 && score > bestScore {
						best, bestScore = backend{namespace: b.Namespace, service: b.Name, port: b.Port, host: host, entry: Gateway}, score
					}
				}
			}
		}
	}
	if bestScore == 0 {
		return backend{}, fmt.Errorf("bench plan: no Gateway host of the manifests routes %s", m.FullMethod())
	}
	return best, nil
}

// ingressBackend finds the first Ingress rule whose path takes the method.
func ingressBackend(objs []manifests.Object, m Method) (backend, error) {
	services := manifests.Of[*corev1.Service](objs)
	for _, ing := range manifests.Of[*networkingv1.Ingress](objs) {
		for _, rule := range ing.Spec.Rules {
			if rule.Host == "" || rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if p.Backend.Service == nil || !pathTakes(p, m.FullMethod()) {
					continue
				}
				port, err := servicePort(services, ing.Namespace, p.Backend.Service)
				if err != nil {
					return backend{}, fmt.Errorf("bench plan: Ingress %s/%s: %w", ing.Namespace, ing.Name, err)
				}
				return backend{namespace: ing.Namespace, service: p.Backend.Service.Name, port: port, host: rule.Host, entry: Ingress}, nil
			}
		}
	}
	return backend{}, fmt.Errorf("bench plan: no Ingress of the manifests routes %s", m.FullMethod())
}

// pathTakes applies an Ingress path to a request path: Exact is equality, Prefix matches
// whole path elements (Kubernetes' definition), ImplementationSpecific is read as Prefix.
func pathTakes(p networkingv1.HTTPIngressPath, path string) bool {
	if p.PathType != nil && *p.PathType == networkingv1.PathTypeExact {
		return p.Path == path
	}
	prefix := strings.TrimSuffix(p.Path, "/")
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

// servicePort resolves an Ingress backend's port, by number or by name, to the Service port.
func servicePort(services []*corev1.Service, namespace string, b *networkingv1.IngressServiceBackend) (int32, error) {
	for _, s := range services {
		if s.Namespace != namespace || s.Name != b.Name {
			continue
		}
		for _, sp := range s.Spec.Ports {
			if b.Port.Number != 0 && sp.Port == b.Port.Number || b.Port.Name != "" && sp.Name == b.Port.Name {
				return sp.Port, nil
			}
		}
		return 0, fmt.Errorf("backend service %s: no port %v", b.Name, b.Port)
	}
	return 0, fmt.Errorf("backend service %s: no such Service in %s", b.Name, namespace)
}
