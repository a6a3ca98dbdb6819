package migrate

import (
	"fmt"
	"hash/fnv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/grpclab/grpclab/manifests"
)

// Limits of the Gateway API schemas the output must stay within.
const (
	maxListeners     = 64
	maxRules         = 16  // per route
	maxRuleMatches   = 64  // per rule
	maxRouteMatches  = 127 // per route: "must be less than 128"
	maxLabel         = 63
	maxObjectName    = 253
	redirectStatus   = 301 // Core; ingress-nginx's 308 is the extended HTTPRoute308RedirectStatusCode
	httpsPort        = 443
	httpPort         = 80
	redirectSuffix   = "-redirect"
	noHostNameSuffix = "any-host"
)

// certificate is the Secret serving a TLS host, from the first Ingress that names the host.
type certificate struct {
	namespace, secret string
	from              manifests.Object
}

// builder makes the objects; names and listeners are shared by every Ingress.
type builder struct {
	c         *converter
	opts      Options
	listeners []gatewayv1.Listener
	byKey     map[string]gatewayv1.SectionName // protocol/hostname → listener name
	names     map[string]bool                  // kind/namespace/name, and "listener/"+name
	certs     map[string]certificate           // TLS host → Secret
	grpc      []manifests.Object
	http      []manifests.Object
	grants    []manifests.Object
	granted   map[string]bool
	// foreign is the first Ingress whose routes live outside the Gateway's namespace.
	foreign *manifests.Object
}

func (c *converter) build(mains []*mainIngress, opts Options) ([]manifests.Object, error) {
	b := &builder{
		c: c, opts: opts,
		byKey: map[string]gatewayv1.SectionName{}, names: map[string]bool{},
		certs: map[string]certificate{}, granted: map[string]bool{},
	}
	for _, m := range mains {
		for _, t := range m.tls {
			prev, ok := b.certs[t.host]
			switch {
			case !ok:
				b.certs[t.host] = certificate{namespace: m.ing.Namespace, secret: t.secret, from: m.obj}
			case prev.namespace != m.ing.Namespace || prev.secret != t.secret:
				c.warn(m.obj, t.field, "host %q already has the certificate Secret %s/%s from %s: this one is not used",
					t.host, prev.namespace, prev.secret, describe(prev.from.Object))
			}
		}
	}
	for _, m := range mains {
		for _, t := range m.tls {
			b.listener(gatewayv1.HTTPSProtocolType, t.host)
		}
		b.routes(m)
	}
	if len(b.listeners) > maxListeners {
		return nil, fmt.Errorf("%s: the Ingresses need %d listeners, more than the %d a Gateway holds: convert them in groups with --gateway",
			firstSource(mains[0].obj.Source), len(b.listeners), maxListeners)
	}
	if b.foreign != nil {
		all := gatewayv1.NamespacesFromAll
		for i := range b.listeners {
			b.listeners[i].AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &all}}
		}
		c.warn(*b.foreign, "metadata.namespace", "the routes are not all in the Gateway's namespace %q, so its listeners admit routes from All namespaces; prefer from: Selector with a label on the namespaces that may attach",
			opts.GatewayNamespace)
	}
	var sources []string
	for _, m := range mains {
		sources = append(sources, m.obj.Source)
	}
	gw := &gatewayv1.Gateway{
		TypeMeta:   metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "Gateway"},
		ObjectMeta: metav1.ObjectMeta{Name: opts.GatewayName, Namespace: opts.GatewayNamespace},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: gatewayv1.ObjectName(opts.GatewayClass),
			Listeners:        b.listeners,
		},
	}
	out := []manifests.Object{{Source: strings.Join(sources, ", "), Object: gw}}
	out = append(out, b.grpc...)
	out = append(out, b.http...)
	return append(out, b.grants...), nil
}

// routes makes one Ingress's GRPCRoutes and redirect HTTPRoutes.
func (b *builder) routes(m *mainIngress) {
	c := b.c
	for _, hp := range m.hosts {
		if len(hp.paths) == 0 {
			c.warn(m.obj, hp.field, "no path of host %q converts: no GRPCRoute", hp.host)
			continue
		}
		base := m.ing.Name
		if len(m.hosts) > 1 {
			base += "-" + hostLabel(hp.host)
		}
		certHost, tls := b.tlsFor(hp.host)
		var section gatewayv1.SectionName
		if tls {
			section = b.listener(gatewayv1.HTTPSProtocolType, certHost)
		} else {
			section = b.listener(gatewayv1.HTTPProtocolType, hp.host)
		}
		for i, rules := range chunk(grpcRules(hp.paths)) {
			name := base
			if i > 0 {
				name = fmt.Sprintf("%s-%d", base, i+1)
			}
			r := &gatewayv1.GRPCRoute{
				TypeMeta:   metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "GRPCRoute"},
				ObjectMeta: metav1.ObjectMeta{Name: b.name("GRPCRoute", m.ing.Namespace, name), Namespace: m.ing.Namespace},
				Spec: gatewayv1.GRPCRouteSpec{
					CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{b.parent(m.ing.Namespace, section)}},
					Hostnames:       hostnames(hp.host),
					Rules:           rules,
				},
			}
			b.grpc = append(b.grpc, manifests.Object{Source: m.obj.Source, Object: r})
		}
		b.attached(m)
		redirect := tls && m.sslRedirect || m.forceSSLRedirect
		switch {
		case tls && !redirect && m.sslRedirectSet:
			c.warn(m.obj, annotationPrefix+"ssl-redirect", "false: ingress-nginx also serves host %q over plain HTTP on port 80; the GRPCRoute attaches to the HTTPS listener only", hp.host)
		case !tls && redirect:
			c.warn(m.obj, annotationPrefix+"force-ssl-redirect",
				"host %q has no TLS, so no HTTPS listener: the redirect HTTPRoute and the GRPCRoute share the port-%d listener, where Gateway API accepts only one of an HTTPRoute and a GRPCRoute with the same hostname; give the host a spec.tls entry or drop the annotation",
				hp.host, httpPort)
		}
		if !redirect || b.names["redirect/"+hp.host] {
			continue
		}
		b.names["redirect/"+hp.host] = true
		b.http = append(b.http, manifests.Object{Source: m.obj.Source, Object: b.redirectRoute(m, base, hp.host)})
	}
}

// redirectRoute sends every plain-HTTP request for host to HTTPS. 301, not ingress-nginx's
// 308: 301 is Core in HTTPRoute, 308 the extended HTTPRoute308RedirectStatusCode, and gRPC
// clients follow neither.
func (b *builder) redirectRoute(m *mainIngress, base, host string) *gatewayv1.HTTPRoute {
	section := b.listener(gatewayv1.HTTPProtocolType, host)
	scheme, status := "https", redirectStatus
	return &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{Name: b.name("HTTPRoute", m.ing.Namespace, base+redirectSuffix), Namespace: m.ing.Namespace},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{b.parent(m.ing.Namespace, section)}},
			Hostnames:       hostnames(host),
			Rules: []gatewayv1.HTTPRouteRule{{
				Filters: []gatewayv1.HTTPRouteFilter{{
					Type:            gatewayv1.HTTPRouteFilterRequestRedirect,
					RequestRedirect: &gatewayv1.HTTPRequestRedirectFilter{Scheme: &scheme, StatusCode: &status},
				}},
			}},
		},
	}
}

// attached notes a route namespace, for allowedRoutes.
func (b *builder) attached(m *mainIngress) {
	if b.foreign == nil && m.ing.Namespace != b.opts.GatewayNamespace {
		b.foreign = &m.obj
	}
}

func hostnames(host string) []gatewayv1.Hostname {
	if host == "" {
		return nil
	}
	return []gatewayv1.Hostname{gatewayv1.Hostname(host)}
}

func (b *builder) parent(routeNS string, section gatewayv1.SectionName) gatewayv1.ParentReference {
	ref := gatewayv1.ParentReference{Name: gatewayv1.ObjectName(b.opts.GatewayName), SectionName: &section}
	if routeNS != b.opts.GatewayNamespace {
		ns := gatewayv1.Namespace(b.opts.GatewayNamespace)
		ref.Namespace = &ns
	}
	return ref
}

// tlsFor finds the TLS host serving host: itself, else a wildcard one label up.
func (b *builder) tlsFor(host string) (string, bool) {
	if host == "" {
		return "", false
	}
	if _, ok := b.certs[host]; ok {
		return host, true
	}
	if _, parent, ok := strings.Cut(host, "."); ok && !strings.HasPrefix(host, "*.") {
		if _, ok := b.certs["*."+parent]; ok {
			return "*." + parent, true
		}
	}
	return "", false
}

// listener returns the name of the listener for protocol and host, adding it the first time.
// HTTPS listeners terminate TLS with the host's certificate.
func (b *builder) listener(proto gatewayv1.ProtocolType, host string) gatewayv1.SectionName {
	key := string(proto) + "/" + host
	if name, ok := b.byKey[key]; ok {
		return name
	}
	base := strings.ToLower(string(proto))
	if host != "" {
		base += "-" + hostLabel(host)
	}
	name := gatewayv1.SectionName(b.unique("listener/", capName(base, maxLabel), maxLabel))
	l := gatewayv1.Listener{Name: name, Port: httpPort, Protocol: proto}
	if host != "" {
		h := gatewayv1.Hostname(host)
		l.Hostname = &h
	}
	if proto == gatewayv1.HTTPSProtocolType {
		cert := b.certs[host]
		mode := gatewayv1.TLSModeTerminate
		group, kind := gatewayv1.Group(""), gatewayv1.Kind("Secret")
		ref := gatewayv1.SecretObjectReference{Group: &group, Kind: &kind, Name: gatewayv1.ObjectName(cert.secret)}
		if cert.namespace != b.opts.GatewayNamespace {
			ns := gatewayv1.Namespace(cert.namespace)
			ref.Namespace = &ns
			b.grant(cert)
		}
		l.Port = httpsPort
		l.TLS = &gatewayv1.ListenerTLSConfig{Mode: &mode, CertificateRefs: []gatewayv1.SecretObjectReference{ref}}
	}
	b.listeners = append(b.listeners, l)
	b.byKey[key] = name
	return name
}

// grant lets the Gateway read a Secret in another namespace.
func (b *builder) grant(cert certificate) {
	key := cert.namespace + "/" + cert.secret
	if b.granted[key] {
		return
	}
	b.granted[key] = true
	secret := gatewayv1.ObjectName(cert.secret)
	g := &gatewayv1beta1.ReferenceGrant{
		TypeMeta: metav1.TypeMeta{APIVersion: gatewayv1beta1.GroupVersion.String(), Kind: "ReferenceGrant"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      b.name("ReferenceGrant", cert.namespace, b.opts.GatewayName+"-"+cert.secret),
			Namespace: cert.namespace,
		},
		Spec: gatewayv1beta1.ReferenceGrantSpec{
			From: []gatewayv1beta1.ReferenceGrantFrom{{
				Group: gatewayv1.GroupName, Kind: "Gateway", Namespace: gatewayv1.Namespace(b.opts.GatewayNamespace),
			}},
			To: []gatewayv1beta1.ReferenceGrantTo{{Group: "", Kind: "Secret", Name: &secret}},
		},
	}
	b.grants = append(b.grants, manifests.Object{Source: cert.from.Source, Object: g})
}

// name makes an object name unique within its kind and namespace.
func (b *builder) name(kind, ns, name string) string {
	return b.unique(kind+"/"+ns+"/", capName(name, maxObjectName), maxObjectName)
}

func (b *builder) unique(scope, name string, max int) string {
	candidate := name
	for i := 2; b.names[scope+candidate]; i++ {
		suffix := fmt.Sprintf("-%d", i)
		candidate = capName(name, max-len(suffix)) + suffix
	}
	b.names[scope+candidate] = true
	return candidate
}

// hostLabel turns a host into a DNS label fragment: "*.dev.example.com" → "wildcard-dev-example-com".
func hostLabel(host string) string {
	if host == "" {
		return noHostNameSuffix
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		host = "wildcard." + rest
	}
	var sb strings.Builder
	for _, r := range strings.ToLower(host) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			sb.WriteRune(r)
		case !strings.HasSuffix(sb.String(), "-"):
			sb.WriteByte('-')
		}
	}
	return strings.Trim(sb.String(), "-")
}

// capName shortens a name past max, keeping it unique with a hash of the whole.
func capName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	suffix := fmt.Sprintf("-%08x", h.Sum32())
	return strings.TrimRight(name[:max-len(suffix)], "-.") + suffix
}
