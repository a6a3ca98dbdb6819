package controller

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/gatewayapi"
)

// ingress-nginx annotations the emulator honours.
const (
	annPrefix          = "nginx.ingress.kubernetes.io/"
	annBackendProtocol = annPrefix + "backend-protocol"
	annSSLRedirect     = annPrefix + "ssl-redirect"
	annForceSSL        = annPrefix + "force-ssl-redirect"
	annReadTimeout     = annPrefix + "proxy-read-timeout"
	annSendTimeout     = annPrefix + "proxy-send-timeout"
	annConnectTimeout  = annPrefix + "proxy-connect-timeout"
	annBodySize        = annPrefix + "proxy-body-size"
	annIngressClass    = "kubernetes.io/ingress.class"
)

type ingressConf struct {
	hosts       []*ingressHost // sorted by name; "" (rules without host) first
	defaultCert *CertFiles
}

type ingressHost struct {
	name      string
	cert      *CertFiles // its own TLS, nil: the default certificate
	locations []ingressLocation
}

type ingressLocation struct {
	match    string // "= /x", "/x/", "/"
	from     string // "namespace/name spec.rules[0].http.paths[1]"
	upstream string // "" when the backend is invalid
	grpc     bool
	redirect bool
	read     time.Duration
	send     time.Duration
	connect  time.Duration
	bodySize string // client_max_body_size
	canary   *ingressCanary
	pass     string // what grpc_pass/proxy_pass names: the upstream, or the canary's map variable
}

// bodySizeRe is an nginx size ("1m", "8k", "0" for no limit).
var bodySizeRe = regexp.MustCompile(`^[0-9]+[kKmMgG]?$`)

// ingressServers merges the Ingresses of our class per host, oldest Ingress first, as
// ingress-nginx does.
func (r *renderer) ingressServers() (*ingressConf, error) {
	if r.in.IngressHTTPS == "" && r.in.IngressHTTP == "" {
		if len(r.in.Ingresses) > 0 {
			r.diag("Ingress", "", "", "", "NoIngressPorts", "Ingresses given but no ingress listen addresses; none rendered")
		}
		return nil, nil
	}
	var ours []*networkingv1.Ingress
	for i, ing := range r.in.Ingresses {
		if ing == nil {
			return nil, fmt.Errorf("ingresses[%d]: nil Ingress", i)
		}
		class := ing.Annotations[annIngressClass]
		if ing.Spec.IngressClassName != nil {
			class = *ing.Spec.IngressClassName
		}
		if class != r.in.IngressClass {
			r.diag("Ingress", ing.Namespace, ing.Name, "spec.ingressClassName", "IgnoredClass",
				fmt.Sprintf("class %q is not %q; ignored", class, r.in.IngressClass))
			continue
		}
		ours = append(ours, ing)
	}
	sort.SliceStable(ours, func(i, j int) bool {
		a, b := ours[i], ours[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return objKey(a.Namespace, a.Name) < objKey(b.Namespace, b.Name)
	})

	conf := &ingressConf{}
	hosts := map[string]*ingressHost{}
	host := func(name string) *ingressHost {
		h, ok := hosts[name]
		if !ok {
			h = &ingressHost{name: name}
			hosts[name] = h
		}
		return h
	}
	host("") // the default server always exists: unknown hosts get 404
	var tlsSecrets []string
	taken := map[string]map[string]string{} // host -> location match -> from
	var canaries []*networkingv1.Ingress
	for _, ing := range ours {
		if isCanary(ing) {
			canaries = append(canaries, ing)
			continue
		}
		diag := func(field, reason, format string, args ...any) {
			r.diag("Ingress", ing.Namespace, ing.Name, field, reason, fmt.Sprintf(format, args...))
		}
		base := r.ingressLocationBase(ing, diag)
		for ti, t := range ing.Spec.TLS {
			field := fmt.Sprintf("spec.tls[%d].secretName", ti)
			if t.SecretName == "" {
				diag(field, "InvalidCertificateRef", "empty secretName")
				continue
			}
			cf, ok := r.in.Certs[objKey(ing.Namespace, t.SecretName)]
			if !ok {
				diag(field, "InvalidCertificateRef", "Secret %s/%s not found in Certs; its hosts get the default certificate", ing.Namespace, t.SecretName)
				continue
			}
			tlsSecrets = append(tlsSecrets, objKey(ing.Namespace, t.SecretName))
			for hi, hn := range t.Hosts {
				if !gatewayapi.ValidHostname(strings.ToLower(hn)) {
					diag(fmt.Sprintf("spec.tls[%d].hosts[%d]", ti, hi), "UnsupportedValue", "invalid host %q", hn)
					continue
				}
				h := host(strings.ToLower(hn))
				if h.cert == nil {
					c := cf
					h.cert = &c
				}
			}
		}
		add := func(hostName, field, match string, be *networkingv1.IngressBackend) {
			loc := base
			loc.match = match
			loc.from = fmt.Sprintf("%s %s", objKey(ing.Namespace, ing.Name), field)
			if taken[hostName] == nil {
				taken[hostName] = map[string]string{}
			}
			if prev, dup := taken[hostName][match]; dup {
				diag(field, "PathConflict", "host %q location %q is already served by %s (older Ingress wins)", hostName, match, prev)
				return
			}
			taken[hostName][match] = loc.from
			loc.upstream = r.ingressBackend(ing, field+".backend", be, diag)
			h := host(hostName)
			h.locations = append(h.locations, loc)
		}
		for ri, rule := range ing.Spec.Rules {
			// A wildcard host covers exactly one label (Ingress spec); writeIngress renders it
			// as a regex server name, since nginx's "*.suffix" would cover several.
			hostName := strings.ToLower(rule.Host)
			if hostName != "" && !gatewayapi.ValidHostname(hostName) {
				diag(fmt.Sprintf("spec.rules[%d].host", ri), "UnsupportedValue", "invalid host %q; rule not rendered", rule.Host)
				continue
			}
			host(hostName)
			eachLocation(rule, ri, diag, func(field, match string, be networkingv1.IngressBackend) {
				add(hostName, field, match, &be)
			})
		}
		if ing.Spec.DefaultBackend != nil {
			// The Ingress's default backend serves what its hosts' paths do not.
			targets := []string{}
			for _, rule := range ing.Spec.Rules {
				targets = append(targets, strings.ToLower(rule.Host))
			}
			if len(ing.Spec.Rules) == 0 {
				targets = append(targets, "")
			}
			seen := map[string]bool{}
			for _, hn := range targets {
				if seen[hn] || (hn != "" && !gatewayapi.ValidHostname(hn)) {
					continue // once each; an invalid host is reported with its rule
				}
				seen[hn] = true
				add(hn, "spec.defaultBackend", "/", ing.Spec.DefaultBackend)
			}
		}
	}
	r.mergeCanaries(canaries, hosts)
	for _, h := range hosts {
		for i := range h.locations {
			l := &h.locations[i]
			l.pass = l.upstream
			if l.canary != nil && l.upstream != "" {
				l.pass = r.canaryTarget(l)
			}
		}
	}
	sort.Strings(tlsSecrets)
	defName := r.in.IngressDefaultCert
	if defName == "" && len(tlsSecrets) > 0 {
		defName = tlsSecrets[0]
	}
	if defName != "" {
		cf, ok := r.in.Certs[defName]
		if !ok {
			return nil, fmt.Errorf("ingressDefaultCert %q is not in Certs", defName)
		}
		conf.defaultCert = &cf
	}
	for _, h := range hosts {
		conf.hosts = append(conf.hosts, h)
	}
	sort.Slice(conf.hosts, func(i, j int) bool { return conf.hosts[i].name < conf.hosts[j].name })
	return conf, nil
}

// ingressLocationBase reads the annotations every location of one Ingress shares.
func (r *renderer) ingressLocationBase(ing *networkingv1.Ingress, diag func(field, reason, format string, args ...any)) ingressLocation {
	loc := ingressLocation{read: r.idle(), send: r.idle(), connect: 5 * time.Second}
	ann := ing.Annotations
	known := map[string]bool{annBackendProtocol: true, annSSLRedirect: true, annForceSSL: true,
		annReadTimeout: true, annSendTimeout: true, annConnectTimeout: true, annBodySize: true}
	if unknown := otherAnnotations(ann, known); len(unknown) > 0 {
		diag("metadata.annotations", "UnsupportedValue", "not emulated, ignored: %s", strings.Join(unknown, ", "))
	}
	switch p := strings.ToUpper(ann[annBackendProtocol]); p {
	case "GRPC":
		loc.grpc = true
	case "", "HTTP":
		diag("metadata.annotations", "UnsupportedValue",
			"no %s: \"GRPC\": proxied as HTTP/1.1 like ingress-nginx, which gRPC backends reject; the emulator only proxies gRPC faithfully", annBackendProtocol)
	default:
		diag("metadata.annotations", "UnsupportedValue", "%s %q is not supported by the emulator (GRPC only); proxied as HTTP/1.1", annBackendProtocol, p)
	}
	hasTLS := len(ing.Spec.TLS) > 0
	redirect := hasTLS
	if v, ok := ann[annSSLRedirect]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			diag("metadata.annotations", "UnsupportedValue", "%s %q is not a boolean", annSSLRedirect, v)
		} else {
			redirect = b && hasTLS
		}
	}
	if v, ok := ann[annForceSSL]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			diag("metadata.annotations", "UnsupportedValue", "%s %q is not a boolean", annForceSSL, v)
		} else if b {
			redirect = true
		}
	}
	loc.redirect = redirect
	loc.bodySize = "1m" // ingress-nginx's default: client streams past 1 MiB get 413
	if v, ok := ann[annBodySize]; ok {
		if bodySizeRe.MatchString(v) {
			loc.bodySize = v
		} else {
			diag("metadata.annotations", "UnsupportedValue", "%s %q is not an nginx size; 1m kept", annBodySize, v)
		}
	}
	for _, t := range []struct {
		key string
		dst *time.Duration
	}{{annReadTimeout, &loc.read}, {annSendTimeout, &loc.send}, {annConnectTimeout, &loc.connect}} {
		v, ok := ann[t.key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			diag("metadata.annotations", "UnsupportedValue", "%s %q is not a positive number of seconds; default kept", t.key, v)
			continue
		}
		*t.dst = time.Duration(n) * time.Second
	}
	return loc
}

// locationMatches maps an Ingress path to nginx locations. Prefix matching is per path
// element, so "/foo" covers "/foo" and "/foo/…" but not "/foobar".
func locationMatches(p networkingv1.HTTPIngressPath) ([]string, string) {
	path := p.Path
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Sprintf("path %q must start with '/'", p.Path)
	}
	if strings.ContainsAny(path, " {};\"'\\$") {
		return nil, fmt.Sprintf("path %q has characters the emulator cannot put in a location", p.Path)
	}
	pt := networkingv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		pt = *p.PathType
	}
	switch pt {
	case networkingv1.PathTypeExact:
		return []string{"= " + path}, ""
	case networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific:
		trimmed := strings.TrimRight(path, "/")
		if trimmed == "" {
			return []string{"/"}, ""
		}
		return []string{"= " + trimmed, trimmed + "/"}, ""
	default:
		return nil, fmt.Sprintf("pathType %q is not supported", pt)
	}
}

// ingressBackend resolves a Service backend by port number or name; "" when invalid.
func (r *renderer) ingressBackend(ing *networkingv1.Ingress, field string, be *networkingv1.IngressBackend, diag func(field, reason, format string, args ...any)) string {
	if be.Service == nil {
		diag(field, "UnsupportedValue", "only Service backends are supported; answers 503")
		return ""
	}
	port := be.Service.Port.Number
	svc, ok := r.services[objKey(ing.Namespace, be.Service.Name)]
	if !ok {
		diag(field+".service", "BackendNotFound", "Service %s/%s not found; answers 503", ing.Namespace, be.Service.Name)
		return ""
	}
	if be.Service.Port.Name != "" {
		n, ok := servicePortByName(svc, be.Service.Port.Name)
		if !ok {
			diag(field+".service.port.name", "BackendNotFound", "Service %s/%s has no port named %q; answers 503", ing.Namespace, be.Service.Name, be.Service.Port.Name)
			return ""
		}
		port = n
	} else if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == port }) {
		diag(field+".service", "BackendNotFound", "Service %s/%s has no port %d; answers 503", ing.Namespace, be.Service.Name, port)
		return ""
	}
	up, msg := r.upstream(ing.Namespace, be.Service.Name, port)
	if up == "" {
		diag(field+".service", "BackendNotFound", "%s; answers 503", msg)
	}
	r.ingressUpstreams[up] = true
	return up
}

func (r *renderer) writeIngress(b *strings.Builder, ing *ingressConf) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	httpsPort := ""
	if _, port, err := net.SplitHostPort(r.in.IngressHTTPS); err == nil && port != "443" {
		httpsPort = ":" + port
	}
	for _, h := range ing.hosts {
		name := h.name
		serverName := name
		def := ""
		if name == "" {
			def = " default_server"
			serverName = `""`
		}
		if strings.HasPrefix(name, "*.") {
			serverName = quote(`~^[^.]+` + regexp.QuoteMeta(name[1:]) + `$`)
		}
		label := name
		if label == "" {
			label = "(default server: unknown hosts get 404)"
		}
		if r.in.IngressHTTPS != "" {
			cert := h.cert
			if cert == nil {
				cert = ing.defaultCert
			}
			p("\n    # Ingress HTTPS %s\n    server {\n", label)
			p("        listen %s ssl http2%s;\n        server_name %s;\n", r.in.IngressHTTPS, def, serverName)
			if cert == nil {
				p("        ssl_reject_handshake on;\n")
			} else {
				p("        ssl_certificate %s;\n        ssl_certificate_key %s;\n", quote(cert.CertFile), quote(cert.KeyFile))
				p("        ssl_protocols TLSv1.2 TLSv1.3;\n")
			}
			p("%s", r.in.IngressRecycling.orDefaults().clientDirectives("        "))
			r.writeIngressLocations(b, h, false, httpsPort)
			p("    }\n")
		}
		if r.in.IngressHTTP != "" {
			p("\n    # Ingress HTTP %s\n    server {\n", label)
			p("        listen %s%s;\n        server_name %s;\n", r.in.IngressHTTP, def, serverName)
			p("%s", r.in.IngressRecycling.orDefaults().clientDirectives("        "))
			r.writeIngressLocations(b, h, true, httpsPort)
			p("    }\n")
		}
	}
}

func (r *renderer) writeIngressLocations(b *strings.Builder, h *ingressHost, plain bool, httpsPort string) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	hasRoot := false
	for _, l := range h.locations {
		if l.match == "/" {
			hasRoot = true
		}
		p("        location %s { # %s\n", l.match, l.from)
		switch {
		case plain && l.redirect:
			p("            return 308 https://$host%s$request_uri;\n", httpsPort)
		case l.upstream == "":
			p("            return 503;\n")
		case l.grpc:
			p("            client_max_body_size %s;\n", l.bodySize)
			p("            grpc_set_header Host $host;\n")
			p("            grpc_read_timeout %s;\n            grpc_send_timeout %s;\n            grpc_connect_timeout %s;\n",
				seconds(l.read), seconds(l.send), seconds(l.connect))
			p("            client_body_timeout %s;\n", seconds(l.send))
			p("            grpc_pass grpc://%s;\n", l.pass)
		default:
			p("            client_max_body_size %s;\n", l.bodySize)
			p("            proxy_http_version 1.1;\n            proxy_set_header Host $host;\n")
			p("            proxy_read_timeout %s;\n            proxy_send_timeout %s;\n            proxy_connect_timeout %s;\n",
				seconds(l.read), seconds(l.send), seconds(l.connect))
			p("            proxy_pass http://%s;\n", l.pass)
		}
		p("        }\n")
	}
	if !hasRoot {
		// ingress-nginx's default backend: 404, which grpc-go reads as Unimplemented.
		p("        location / {\n            return 404;\n        }\n")
	}
}

// otherAnnotations lists, sorted, the ingress-nginx annotations in ann that known lacks.
func otherAnnotations(ann map[string]string, known map[string]bool) []string {
	var out []string
	for k := range ann {
		if strings.HasPrefix(k, annPrefix) && !known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// eachLocation calls fn for every nginx location the paths of rule ri map to; a path that
// maps to none gets a diagnostic.
func eachLocation(rule networkingv1.IngressRule, ri int, diag func(field, reason, format string, args ...any), fn func(field, match string, be networkingv1.IngressBackend)) {
	if rule.HTTP == nil {
		return
	}
	for pi, path := range rule.HTTP.Paths {
		field := fmt.Sprintf("spec.rules[%d].http.paths[%d]", ri, pi)
		matches, err := locationMatches(path)
		if err != "" {
			diag(field, "UnsupportedValue", "%s", err)
			continue
		}
		for _, m := range matches {
			fn(field, m, path.Backend)
		}
	}
}
