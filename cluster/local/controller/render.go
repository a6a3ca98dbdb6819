package controller

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/grpclab/grpclab/gatewayapi"
)

// defaultIdleTimeout is ingress-nginx's proxy-read-timeout default.
const defaultIdleTimeout = 60 * time.Second

type renderer struct {
	in          Input
	model       *gatewayapi.Model
	compiled    map[*gatewayapi.Route][]compiledRule // GRPCRoutes the emulator can serve
	diags       []Diagnostic
	services    map[string]*corev1.Service
	upstreams   map[string][]string // name -> endpoint addresses
	splits      []split
	splitByBody map[string]string
	conds       []headerCond
	condIndex   map[headerCond]int
	canaryMaps  []string // ingress-nginx canaries: one map per location, after the header conditions
	gwAddrs     map[string]*gatewayAddr
	gwAddrOrder []string
	reserved    map[string]string // address -> what else listens there
	// ingressUpstreams are the upstreams an Ingress uses: they take IngressRecycling.
	ingressUpstreams map[string]bool
}

func (r *renderer) diag(kind, ns, name, field, reason, msg string) {
	r.diags = append(r.diags, Diagnostic{Kind: kind, Namespace: ns, Name: name, Field: field, Reason: reason, Message: msg})
}

// Render turns the input into one nginx configuration. It is pure: it reads no files.
// Objects it does not accept become Diagnostics; input no configuration can express is an
// error naming the object and field.
func Render(in Input) (*Config, error) {
	if !filepath.IsAbs(in.StateDir) {
		return nil, fmt.Errorf("render: stateDir %q must be an absolute path", in.StateDir)
	}
	if err := checkAddr(in.AdminListen); err != nil {
		return nil, fmt.Errorf("render: adminListen: %w", err)
	}
	r := &renderer{
		in:          in,
		services:    map[string]*corev1.Service{},
		upstreams:   map[string][]string{},
		splitByBody: map[string]string{},
		condIndex:   map[headerCond]int{},
		gwAddrs:     map[string]*gatewayAddr{},
		reserved:    map[string]string{in.AdminListen: "the admin endpoint"},

		ingressUpstreams: map[string]bool{},
		compiled:         map[*gatewayapi.Route][]compiledRule{},
	}
	for _, a := range []struct{ addr, what string }{{in.IngressHTTPS, "the ingress HTTPS port"}, {in.IngressHTTP, "the ingress HTTP port"}} {
		if a.addr == "" {
			continue
		}
		if err := checkAddr(a.addr); err != nil {
			return nil, fmt.Errorf("render: %s: %w", a.what, err)
		}
		if owner, taken := r.reserved[a.addr]; taken {
			return nil, fmt.Errorf("render: %s address %s is already used by %s", a.what, a.addr, owner)
		}
		r.reserved[a.addr] = a.what
	}
	for i, s := range in.Services {
		if s == nil {
			return nil, fmt.Errorf("render: services[%d]: nil Service", i)
		}
		r.services[objKey(s.Namespace, s.Name)] = s
	}
	if err := checkObjects(in.Objects); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	r.model = gatewayapi.Build(in.Objects)
	r.modelDiagnostics()
	if err := r.collectListeners(); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	r.attachRoutes()
	var gwServers []*gwServer
	var redirects strings.Builder
	for _, addr := range r.gwAddrOrder {
		if text := r.redirectServers(r.gwAddrs[addr]); text != "" {
			redirects.WriteString(text)
			continue
		}
		gwServers = append(gwServers, r.gatewayServers(r.gwAddrs[addr])...)
	}
	ing, err := r.ingressServers()
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	text := r.write(gwServers, redirects.String(), ing)
	return &Config{Text: text, Diagnostics: r.diags, Generation: in.Generation, AdminListen: in.AdminListen}, nil
}

// checkObjects refuses nil Gateway API objects, naming the list and index.
func checkObjects(o gatewayapi.Objects) error {
	for i, v := range o.Gateways {
		if v == nil {
			return fmt.Errorf("gateways[%d]: nil Gateway", i)
		}
	}
	for i, v := range o.GRPCRoutes {
		if v == nil {
			return fmt.Errorf("grpcRoutes[%d]: nil GRPCRoute", i)
		}
	}
	for i, v := range o.HTTPRoutes {
		if v == nil {
			return fmt.Errorf("httpRoutes[%d]: nil HTTPRoute", i)
		}
	}
	return nil
}

// quote makes s one nginx token: double-quoted, with '\' and '"' escaped, so regexes reach
// PCRE unchanged.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func seconds(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 1 {
		s = 1
	}
	return fmt.Sprintf("%ds", s)
}

func (r *renderer) idle() time.Duration {
	if r.in.IdleTimeout > 0 {
		return r.in.IdleTimeout
	}
	return defaultIdleTimeout
}

func (r *renderer) write(gw []*gwServer, redirects string, ing *ingressConf) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	state := r.in.StateDir
	p("# Rendered by grpclab cluster/local/controller, generation %d. Do not edit.\n", r.in.Generation)
	p("worker_processes 1;\n")
	p("pid %s;\n", quote(filepath.Join(state, "nginx.pid")))
	p("error_log %s notice;\n", quote(filepath.Join(state, "error.log")))
	p("events {\n    worker_connections 1024;\n}\n")
	p("http {\n")
	p("    log_format grpclab '$remote_addr $server_port \"$host\" \"$request\" $status $request_id upstream=$upstream_addr grpc_status=$sent_http_grpc_status';\n")
	p("    access_log %s grpclab;\n", quote(filepath.Join(state, "access.log")))
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		p("    %s_temp_path %s;\n", t, quote(filepath.Join(state, "tmp", t)))
	}
	p("    server_tokens off;\n")
	// A gRPC stream's body is every message the client sends: the Gateway API sets no limit.
	// Ingress locations set ingress-nginx's own (proxy-body-size, default 1m).
	p("    client_max_body_size 0;\n")
	p("    server_names_hash_bucket_size 128;\n")
	p("    map_hash_bucket_size 128;\n")
	p("    variables_hash_max_size 4096;\n")
	idle := seconds(r.idle())
	p("    grpc_read_timeout %s;\n    grpc_send_timeout %s;\n    client_body_timeout %s;\n", idle, idle, idle)
	p("    proxy_read_timeout %s;\n    proxy_send_timeout %s;\n", idle, idle)
	// Connection recycling, client side: ingress-nginx's defaults unless the input says
	// otherwise. After keepalive_requests requests on one connection nginx sends GOAWAY; HTTP/2
	// (since nginx 1.19.7) takes these, not the retired http2_max_requests. Server blocks repeat
	// their own values, which is what a report reads back (ListenRecycling).
	p("%s", r.in.GatewayRecycling.orDefaults().clientDirectives("    "))

	p("\n    # Upstreams: one per Service port, keepalive so the hop does not redial per call.\n")
	names := make([]string, 0, len(r.upstreams))
	for n := range r.upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p("    upstream %s {\n", n)
		for _, a := range r.upstreams[n] {
			p("        server %s;\n", a)
		}
		rec := r.in.GatewayRecycling
		if r.ingressUpstreams[n] {
			rec = r.in.IngressRecycling
		}
		p("%s    }\n", rec.orDefaults().upstreamDirectives("        "))
	}

	if len(r.splits) > 0 {
		p("\n    # Weighted backendRefs: one split per distinct weight set, keyed per request.\n")
	}
	for _, s := range r.splits {
		p("    split_clients \"$request_id\" %s {\n%s    }\n", s.variable, s.body)
	}

	if len(r.conds) > 0 {
		p("\n    # Header conditions: $http_<name> holds the first value of a repeated header only.\n")
	}
	for i, c := range r.conds {
		p("    map $%s $grpclab_h%d {\n        default 0;\n        %s 1;\n    }\n", c.variable, i, quote("~"+c.regex))
	}

	if len(r.canaryMaps) > 0 {
		p("\n    # Ingress canaries: the header rule first, then the weights (ingress-nginx's order).\n")
	}
	for _, m := range r.canaryMaps {
		p("%s", m)
	}

	for i, s := range gw {
		r.writeGatewayServer(&b, i, s)
	}
	b.WriteString(redirects)
	if ing != nil {
		r.writeIngress(&b, ing)
	}

	p("\n    # Admin endpoint: Start and Reload poll the generation to know the config is live.\n")
	p("    server {\n        listen %s;\n        access_log off;\n", r.in.AdminListen)
	p("        location = /generation {\n            default_type text/plain;\n            return 200 \"%d\\n\";\n        }\n", r.in.Generation)
	p("        location / {\n            return 404;\n        }\n    }\n")
	p("}\n")
	return b.String()
}

// grpcError writes an if-block that answers a trailers-only gRPC error: HTTP 204 carries no
// body, so nginx sends one HEADERS frame with END_STREAM, and grpc-go trusts grpc-status once
// content-type is application/grpc.
func grpcError(b *strings.Builder, indent, variable, marker string, code int, msg string) {
	fmt.Fprintf(b, "%sif (%s = %s) {\n", indent, variable, quote(marker))
	fmt.Fprintf(b, "%s    add_header content-type application/grpc always;\n", indent)
	fmt.Fprintf(b, "%s    add_header grpc-status %d always;\n", indent, code)
	fmt.Fprintf(b, "%s    add_header grpc-message %s always;\n", indent, quote(msg))
	fmt.Fprintf(b, "%s    return 204;\n%s}\n", indent, indent)
}

func (r *renderer) writeGatewayServer(b *strings.Builder, idx int, s *gwServer) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	ga := s.addr
	variable := fmt.Sprintf("$grpclab_route_%d", idx)
	label := s.name
	if label == gatewayapi.AnyHost {
		label = "(default server)"
	}
	p("\n    # Gateway %s %s", ga.addr, label)
	if s.listener != nil {
		p(", listener %s/%s %s", s.listener.gw.Namespace, s.listener.gw.Name, s.listener.spec.Name)
	}
	p("\n")
	// The routing map: entries in precedence order, since nginx takes the first matching regex.
	source := "$request_uri\\n"
	for _, c := range s.conds {
		source += fmt.Sprintf("$grpclab_h%d", c)
	}
	p("    map \"%s\" %s {\n        default %s;\n", source, variable, quote(markUnimplemented))
	for _, e := range s.entries {
		re := "^" + e.m.pathRe + `\n`
		need := map[int]bool{}
		for _, c := range e.m.headers {
			need[c] = true
		}
		for _, c := range s.conds {
			if need[c] {
				re += "1"
			} else {
				re += "[01]"
			}
		}
		re += `\z`
		p("        %s %s; # %s rule %d match %d\n", quote("~"+re), quote(e.target), e.nsName, e.rule, e.match)
	}
	p("    }\n")

	p("    server {\n")
	opts := ""
	if ga.tls {
		opts += " ssl"
	}
	opts += " http2"
	if s.name == gatewayapi.AnyHost {
		opts += " default_server"
		p("        listen %s%s;\n        server_name \"\";\n", ga.addr, opts)
	} else {
		p("        listen %s%s;\n        server_name %s;\n", ga.addr, opts, s.name)
	}
	p("%s", r.in.GatewayRecycling.orDefaults().clientDirectives("        "))
	if ga.tls {
		if s.listener == nil {
			// No listener certificate covers this SNI: fail the handshake, as a gateway does.
			p("        ssl_reject_handshake on;\n")
		} else {
			for _, c := range s.listener.certs {
				p("        ssl_certificate %s;\n        ssl_certificate_key %s;\n", quote(c.CertFile), quote(c.KeyFile))
			}
			p("        ssl_protocols TLSv1.2 TLSv1.3;\n")
		}
	}
	p("        location / {\n")
	grpcError(b, "            ", variable, markUnimplemented, 12, "no GRPCRoute rule matches this request")
	grpcError(b, "            ", variable, markUnavailable, 14, "no valid backend for the matching GRPCRoute rule")
	p("            grpc_set_header Host $host;\n")
	p("            grpc_pass grpc://%s;\n", variable)
	p("        }\n    }\n")
}
