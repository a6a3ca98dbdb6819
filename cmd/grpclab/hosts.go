package main

import (
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/manifests"
)

// entryHosts are the hosts the default manifests serve, for the lines up and status print:
// read from the YAML, never retyped here.
type entryHosts struct {
	// gateway are the GRPCRoutes' hostnames, ingress the Ingress rules' hosts, in file order.
	gateway, ingress []string
	// login is the first host whose GRPCRoute names the Login method in a match.
	login string
}

func defaultHosts() (entryHosts, error) {
	objs, err := manifests.Load(manifests.DefaultVariants())
	if err != nil {
		return entryHosts{}, err
	}
	var h entryHosts
	for _, r := range manifests.Of[*gatewayv1.GRPCRoute](objs) {
		for _, host := range r.Spec.Hostnames {
			if !slices.Contains(h.gateway, string(host)) {
				h.gateway = append(h.gateway, string(host))
			}
		}
		if h.login == "" && len(r.Spec.Hostnames) > 0 && routesMethod(r, loginMethod) {
			h.login = string(r.Spec.Hostnames[0])
		}
	}
	for _, ing := range manifests.Of[*networkingv1.Ingress](objs) {
		for _, rule := range ing.Spec.Rules {
			if rule.Host != "" && !slices.Contains(h.ingress, rule.Host) {
				h.ingress = append(h.ingress, rule.Host)
			}
		}
	}
	if h.login == "" {
		return h, fmt.Errorf("the default manifests route no host to %s", loginMethod)
	}
	return h, nil
}

// loginMethod is the call up's try: line makes.
const loginMethod = "com.example.User/Login"

// routesMethod says whether a rule of r matches the method (service/method) by name.
func routesMethod(r *gatewayv1.GRPCRoute, fullMethod string) bool {
	service, method, _ := strings.Cut(fullMethod, "/")
	for _, rule := range r.Spec.Rules {
		for _, m := range rule.Matches {
			if m.Method != nil && m.Method.Method != nil && *m.Method.Method == method &&
				(m.Method.Service == nil || *m.Method.Service == service) {
				return true
			}
		}
	}
	return false
}
