package migrate

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/manifests"
)

const ann = annotationPrefix

// myproject is a gRPC Service outside default, for the rows about namespaces.
const myproject = `
---
apiVersion: v1
kind: Service
metadata: {name: grpc-svc, namespace: myproject}
spec:
  selector: {app: grpc}
  ports: [{name: grpc, port: 50051, targetPort: 50051}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grpc, namespace: myproject}
spec:
  selector: {matchLabels: {app: grpc}}
  template:
    metadata: {labels: {app: grpc}}
    spec:
      containers: [{name: server, image: grpclab/grpclab-server:dev}]
`

// ingress is the YAML of one Ingress document, so that a row states only what it varies.
// Every document starts with "---", which decoding skips when it is the first.
type ingress struct {
	name, namespace string
	annotations     []string // lines below metadata.annotations, "key: value"
	tls             []string // spec.tls entries, flow style
	rules           []string // spec.rules entries, from rule
}

func (i ingress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %s\n", i.name)
	if i.namespace != "" {
		fmt.Fprintf(&b, "  namespace: %s\n", i.namespace)
	}
	if len(i.annotations) > 0 {
		b.WriteString("  annotations:\n")
		for _, a := range i.annotations {
			fmt.Fprintf(&b, "    %s\n", a)
		}
	}
	b.WriteString("spec:\n")
	if len(i.tls) > 0 {
		fmt.Fprintf(&b, "  tls: [%s]\n", strings.Join(i.tls, ", "))
	}
	b.WriteString("  rules:\n")
	for _, r := range i.rules {
		b.WriteString(r)
	}
	return b.String()
}

// grpcAnnotations are the annotations of a gRPC Ingress: backend-protocol GRPC, then extra.
func grpcAnnotations(extra ...string) []string {
	return append([]string{ann + "backend-protocol: GRPC"}, extra...)
}

// rule is one spec.rules entry: its host (none when empty) and its paths, from path.
func rule(host string, paths ...string) string {
	var b strings.Builder
	if host != "" {
		fmt.Fprintf(&b, "    - host: %s\n      http:\n", host)
	} else {
		b.WriteString("    - http:\n")
	}
	b.WriteString("        paths:\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "          - %s\n", p)
	}
	return b.String()
}

// path is one HTTPIngressPath in flow style (no path field when p is empty); port is a
// number (int) or a port name (string).
func path(p, pathType, service string, port any) string {
	ref := fmt.Sprintf("{number: %v}", port)
	if name, ok := port.(string); ok {
		ref = "{name: " + name + "}"
	}
	field := ""
	if p != "" {
		field = "path: " + p + ", "
	}
	return fmt.Sprintf("{%spathType: %s, backend: {service: {name: %s, port: %s}}}", field, pathType, service, ref)
}

// ingressA is the gRPC Ingress a for a.example.com with these paths; the canary rows' main
// Ingress and most rows' only one.
func ingressA(paths ...string) ingress {
	return ingress{name: "a", annotations: grpcAnnotations(), rules: []string{rule("a.example.com", paths...)}}
}

var (
	// fooRoot sends every call to foo-svc.
	fooRoot = path("/", "Prefix", "foo-svc", 50051)
	// plainIngress routes every call on a.example.com to foo-svc.
	plainIngress = ingressA(fooRoot).String()
	// mainForCanary routes every call on a.example.com to bar-svc, the canary's main.
	mainForCanary = ingressA(path("/", "Prefix", "bar-svc", 50051)).String()
)

// canaryFor is a canary Ingress for a.example.com / to bar-svc-canary with extra annotations.
func canaryFor(annotations ...string) string {
	return ingress{
		name:        "a-canary",
		annotations: append([]string{ann + `canary: "true"`}, annotations...),
		rules:       []string{rule("a.example.com", path("/", "Prefix", "bar-svc-canary", 50051))},
	}.String()
}

// tlsIngress is plainIngress with TLS for its host and extra annotations.
func tlsIngress(annotations ...string) string {
	i := ingressA(fooRoot)
	i.annotations = grpcAnnotations(annotations...)
	i.tls = []string{"{secretName: a-cert, hosts: [a.example.com]}"}
	return i.String()
}

// Lines of the summary every row shares.
const (
	gatewayLine   = "gateway.networking.k8s.io/v1 Gateway default/migrated-gateway (test.yaml#1) class=grpclab"
	httpListenerA = "  listener http-a-example-com HTTP:80 host=a.example.com"
	httpsListener = `  listener https-a-example-com HTTPS:443 host=a.example.com tls=Terminate cert=""/Secret:a-cert`
	routeA        = "gateway.networking.k8s.io/v1 GRPCRoute default/a (test.yaml#1) hosts=[a.example.com] parents=[migrated-gateway#http-a-example-com]"
	routeAHTTPS   = "gateway.networking.k8s.io/v1 GRPCRoute default/a (test.yaml#1) hosts=[a.example.com] parents=[migrated-gateway#https-a-example-com]"
	redirectA     = "gateway.networking.k8s.io/v1 HTTPRoute default/a-redirect (test.yaml#1) hosts=[a.example.com] parents=[migrated-gateway#http-a-example-com]"
	redirectRule  = "  rule redirect scheme=https status=301 hostname=nil path=<nil> port=nil"
)

func TestConvert(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		opts     Options
		want     []string
		warnings []warning
	}{
		{
			name: "backend-protocol GRPC: a GRPCRoute to the same Service and port, over an HTTP listener",
			yaml: strings.Replace(plainIngress, "    nginx.ingress.kubernetes.io/backend-protocol: GRPC\n",
				"    nginx.ingress.kubernetes.io/backend-protocol: grpc\n    kubernetes.io/ingress.class: nginx\n    example.com/other: kept\nspec:\n  ingressClassName: nginx\n", 1),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → foo-svc:50051"},
		},
		{
			name: "backend-protocol GRPCS: the same route, and a warning about the BackendTLSPolicy",
			yaml: strings.Replace(plainIngress, "backend-protocol: GRPC", "backend-protocol: GRPCS", 1),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → foo-svc:50051"},
			warnings: []warning{
				{"test.yaml#1", "Ingress default/a", ann + "backend-protocol", "BackendTLSPolicy with the backend's CA and hostname targets Service foo-svc; none is generated"},
			},
		},
		{
			name: "TLS secrets: an HTTPS listener per TLS host with its Secret; a wildcard host covers a rule host",
			yaml: ingress{
				name:        "a",
				annotations: grpcAnnotations(ann + `ssl-redirect: "false"`),
				tls:         []string{"{secretName: a-cert, hosts: [a.example.com]}", `{secretName: wildcard-cert, hosts: ["*.b.example.com"]}`},
				rules:       []string{rule("a.example.com", fooRoot), rule("x.b.example.com", path("/", "Prefix", "bar-svc", 50051))},
			}.String(),
			want: []string{
				gatewayLine,
				httpsListener,
				`  listener https-wildcard-b-example-com HTTPS:443 host=*.b.example.com tls=Terminate cert=""/Secret:wildcard-cert`,
				"gateway.networking.k8s.io/v1 GRPCRoute default/a-a-example-com (test.yaml#1) hosts=[a.example.com] parents=[migrated-gateway#https-a-example-com]",
				"  rule [*] → foo-svc:50051",
				"gateway.networking.k8s.io/v1 GRPCRoute default/a-x-b-example-com (test.yaml#1) hosts=[x.b.example.com] parents=[migrated-gateway#https-wildcard-b-example-com]",
				"  rule [*] → bar-svc:50051",
			},
			warnings: []warning{
				{"test.yaml#1", "Ingress default/a", ann + "ssl-redirect", `host "a.example.com" over plain HTTP`},
				{"test.yaml#1", "Ingress default/a", ann + "ssl-redirect", `host "x.b.example.com" over plain HTTP`},
			},
		},
		{
			name: "a Secret outside the Gateway's namespace: a ReferenceGrant beside it; routes from another namespace: allowedRoutes All",
			yaml: ingress{
				name: "m", namespace: "myproject", annotations: grpcAnnotations(),
				tls:   []string{"{secretName: my-cert, hosts: [m.example.com]}"},
				rules: []string{rule("m.example.com", path("/", "Prefix", "grpc-svc", "grpc"))},
			}.String() + myproject,
			opts: Options{GatewayNamespace: "default"},
			want: []string{
				gatewayLine,
				`  listener https-m-example-com HTTPS:443 host=m.example.com tls=Terminate cert=""/Secret:myproject/my-cert allowedRoutes=All`,
				"  listener http-m-example-com HTTP:80 host=m.example.com allowedRoutes=All",
				"gateway.networking.k8s.io/v1 GRPCRoute myproject/m (test.yaml#1) hosts=[m.example.com] parents=[default/migrated-gateway#https-m-example-com]",
				"  rule [*] → grpc-svc:50051",
				"gateway.networking.k8s.io/v1 HTTPRoute myproject/m-redirect (test.yaml#1) hosts=[m.example.com] parents=[default/migrated-gateway#http-m-example-com]",
				redirectRule,
				`gateway.networking.k8s.io/v1beta1 ReferenceGrant myproject/migrated-gateway-my-cert (test.yaml#1) from=[gateway.networking.k8s.io/Gateway in default] to=[""/Secret my-cert]`,
			},
			warnings: []warning{
				{"test.yaml#1", "Ingress myproject/m", "metadata.namespace", "from: Selector"},
			},
		},
		{
			name: "the Gateway goes to the first Ingress's namespace by default; names and class from the options",
			yaml: ingress{
				name: "m", namespace: "myproject", annotations: grpcAnnotations(),
				tls:   []string{"{secretName: my-cert, hosts: [m.example.com]}"},
				rules: []string{rule("m.example.com", path("/", "Prefix", "grpc-svc", 50051))},
			}.String() + myproject,
			opts: Options{GatewayName: "edge", GatewayClass: "envoy"},
			want: []string{
				"gateway.networking.k8s.io/v1 Gateway myproject/edge (test.yaml#1) class=envoy",
				`  listener https-m-example-com HTTPS:443 host=m.example.com tls=Terminate cert=""/Secret:my-cert`,
				"  listener http-m-example-com HTTP:80 host=m.example.com",
				"gateway.networking.k8s.io/v1 GRPCRoute myproject/m (test.yaml#1) hosts=[m.example.com] parents=[edge#https-m-example-com]",
				"  rule [*] → grpc-svc:50051",
				"gateway.networking.k8s.io/v1 HTTPRoute myproject/m-redirect (test.yaml#1) hosts=[m.example.com] parents=[edge#http-m-example-com]",
				redirectRule,
			},
		},
		{
			name: "ssl-redirect by default once the host has TLS: a port-80 listener with a 301 HTTPRoute",
			yaml: tlsIngress(),
			want: []string{gatewayLine, httpsListener, httpListenerA, routeAHTTPS, "  rule [*] → foo-svc:50051", redirectA, redirectRule},
		},
		{
			name: `ssl-redirect "false": no redirect and no port-80 listener`,
			yaml: tlsIngress(ann + `ssl-redirect: "false"`),
			want: []string{gatewayLine, httpsListener, routeAHTTPS, "  rule [*] → foo-svc:50051"},
			warnings: []warning{
				{"test.yaml#1", "Ingress default/a", ann + "ssl-redirect", "attaches to the HTTPS listener only"},
			},
		},
		{
			name: "force-ssl-redirect without TLS: the redirect shares the HTTP listener with the GRPCRoute, and a warning says only one is accepted",
			yaml: strings.Replace(plainIngress, "backend-protocol: GRPC\n", "backend-protocol: GRPC\n    nginx.ingress.kubernetes.io/force-ssl-redirect: \"true\"\n", 1),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → foo-svc:50051", redirectA, redirectRule},
			warnings: []warning{
				{"test.yaml#1", "Ingress default/a", ann + "force-ssl-redirect", "accepts only one of an HTTPRoute and a GRPCRoute"},
			},
		},
		{
			name: "host rules: a GRPCRoute per host, named with the host; a repeated host is one route; no host: a listener without hostname",
			yaml: ingress{name: "a", annotations: grpcAnnotations(), rules: []string{
				rule("a.example.com", fooRoot),
				rule("b.example.com", path("/", "Prefix", "bar-svc", 50051)),
				rule("", path("/", "Prefix", "go-grpc-greeter-server", 80)),
				rule("a.example.com", path("/com.example.User/", "Prefix", "bar-svc", 50051)),
			}}.String(),
			want: []string{
				gatewayLine,
				httpListenerA,
				"  listener http-b-example-com HTTP:80 host=b.example.com",
				"  listener http HTTP:80",
				"gateway.networking.k8s.io/v1 GRPCRoute default/a-a-example-com (test.yaml#1) hosts=[a.example.com] parents=[migrated-gateway#http-a-example-com]",
				"  rule [*] → foo-svc:50051",
				"  rule [Exact com.example.User/nil] → bar-svc:50051",
				"gateway.networking.k8s.io/v1 GRPCRoute default/a-b-example-com (test.yaml#1) hosts=[b.example.com] parents=[migrated-gateway#http-b-example-com]",
				"  rule [*] → bar-svc:50051",
				"gateway.networking.k8s.io/v1 GRPCRoute default/a-any-host (test.yaml#1) hosts=[] parents=[migrated-gateway#http]",
				"  rule [*] → go-grpc-greeter-server:80",
			},
			warnings: []warning{
				{"test.yaml#1", "Ingress default/a", "spec.rules[2].host", "no hostname"},
			},
		},
		{
			name: `path "/" (ImplementationSpecific, and empty): every method`,
			yaml: strings.Replace(plainIngress, "pathType: Prefix", "pathType: ImplementationSpecific", 1) + ingress{name: "b", annotations: grpcAnnotations(), rules: []string{
				rule("b.example.com", path("", "ImplementationSpecific", "bar-svc", 50051)),
			}}.String(),
			want: []string{
				"gateway.networking.k8s.io/v1 Gateway default/migrated-gateway (test.yaml#1, test.yaml#2) class=grpclab",
				httpListenerA,
				"  listener http-b-example-com HTTP:80 host=b.example.com",
				routeA, "  rule [*] → foo-svc:50051",
				"gateway.networking.k8s.io/v1 GRPCRoute default/b (test.yaml#2) hosts=[b.example.com] parents=[migrated-gateway#http-b-example-com]",
				"  rule [*] → bar-svc:50051",
			},
		},
		{
			name: "service paths, with or without the trailing slash: one rule matching both services",
			yaml: ingressA(
				path("/com.example.User/", "Prefix", "foo-svc", 50051),
				path("/grpc.health.v1.Health", "Prefix", "foo-svc", 50051),
			).String(),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [Exact com.example.User/nil | Exact grpc.health.v1.Health/nil] → foo-svc:50051"},
		},
		{
			name: "service and method paths (Exact, Prefix, ImplementationSpecific): a rule per backend",
			yaml: ingressA(
				path("/com.example.User/Login", "Exact", "foo-svc", 50051),
				path("/com.example.User/Logout", "Prefix", "bar-svc", 50051),
				path("/com.example.Admin/Ban", "ImplementationSpecific", "foo-svc", 50051),
			).String(),
			want: []string{gatewayLine, httpListenerA, routeA,
				"  rule [Exact com.example.User/Login | Exact com.example.Admin/Ban] → foo-svc:50051",
				"  rule [Exact com.example.User/Logout] → bar-svc:50051",
			},
		},
		{
			name: "paths that are no gRPC service or method: no rule and a warning each; a path matching the same calls as an earlier one",
			yaml: ingressA(
				path("/api", "Prefix", "foo-svc", 50051),
				path("/com.example.User", "Exact", "foo-svc", 50051),
				path("/com.example.User/.*", "ImplementationSpecific", "foo-svc", 50051),
				path("/", "Exact", "foo-svc", 50051),
				path("/com.example.User/Login/x", "Prefix", "foo-svc", 50051),
				path("/", "Prefix", "foo-svc", 50051),
				path("/com.example.User/", "Prefix", "bar-svc", 50051),
				path("/com.example.User", "Prefix", "foo-svc", 50051),
			).String(),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → foo-svc:50051", "  rule [Exact com.example.User/nil] → bar-svc:50051"},
			warnings: []warning{
				{"test.yaml#1", "Ingress default/a", "spec.rules[0].http.paths[0].path", `path "/api" (Prefix) is not a gRPC service or method path`},
				{"test.yaml#1", "Ingress default/a", "spec.rules[0].http.paths[1].path", "an Exact service path needs the method"},
				{"test.yaml#1", "Ingress default/a", "spec.rules[0].http.paths[2].path", "not a gRPC service or method path"},
				{"test.yaml#1", "Ingress default/a", "spec.rules[0].http.paths[3].path", `path "/" (Exact) matches no gRPC call`},
				{"test.yaml#1", "Ingress default/a", "spec.rules[0].http.paths[4].path", "not a gRPC service or method path"},
				{"test.yaml#1", "Ingress default/a", "spec.rules[0].http.paths[7].path", "the same calls as spec.rules[0].http.paths[6].path: skipped"},
			},
		},
		{
			name: "use-regex: every path but / is a regular expression, with no rule",
			yaml: ingress{name: "a", annotations: grpcAnnotations(ann + `use-regex: "true"`), rules: []string{rule("a.example.com",
				path("/com.example.User/", "ImplementationSpecific", "bar-svc", 50051),
				path("/", "ImplementationSpecific", "foo-svc", 50051),
			)}}.String(),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → foo-svc:50051"},
			warnings: []warning{
				{"test.yaml#1", "Ingress default/a", "spec.rules[0].http.paths[0].path", "regular expression (use-regex)"},
			},
		},
		{
			name: "named port: resolved through the Service; a backend that does not resolve skips its path",
			yaml: ingressA(
				path("/", "Prefix", "foo-svc", "grpc"),
				path("/com.example.User/", "Prefix", "bar-svc", "nope"),
				path("/com.example.Admin/", "Prefix", "missing-svc", 1),
				path("/com.example.Other/", "Prefix", "foo-svc", 9999),
			).String(),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → foo-svc:50051"},
			warnings: []warning{
				{"test.yaml#1", "Ingress default/a", "spec.rules[0].http.paths[1].backend.service.port.name", `Service default/bar-svc has no port named "nope": path skipped`},
				{"test.yaml#1", "Ingress default/a", "spec.rules[0].http.paths[2].backend.service.name", "Service default/missing-svc is not among the manifests"},
				{"test.yaml#1", "Ingress default/a", "spec.rules[0].http.paths[3].backend.service.port.number", "Service default/foo-svc has no port 9999"},
			},
		},
		{
			name: "spec.defaultBackend: a warning",
			yaml: strings.Replace(plainIngress, "spec:\n", "spec:\n  defaultBackend: {service: {name: foo-svc, port: {number: 50051}}}\n", 1),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → foo-svc:50051"},
			warnings: []warning{
				{"test.yaml#1", "Ingress default/a", "spec.defaultBackend", "not converted"},
			},
		},
		{
			name: "Ingresses sharing a host share its listeners; the host's TLS and redirect come from the first",
			yaml: tlsIngress() + ingress{name: "b", annotations: grpcAnnotations(), rules: []string{
				rule("a.example.com", path("/com.example.User/", "Prefix", "bar-svc", 50051)),
			}}.String(),
			want: []string{
				"gateway.networking.k8s.io/v1 Gateway default/migrated-gateway (test.yaml#1, test.yaml#2) class=grpclab",
				httpsListener, httpListenerA,
				routeAHTTPS, "  rule [*] → foo-svc:50051",
				"gateway.networking.k8s.io/v1 GRPCRoute default/b (test.yaml#2) hosts=[a.example.com] parents=[migrated-gateway#https-a-example-com]",
				"  rule [Exact com.example.User/nil] → bar-svc:50051",
				redirectA, redirectRule,
			},
		},
		{
			name: "non-gRPC Ingresses are left as they are, with a warning each",
			yaml: plainIngress +
				ingress{name: "web", rules: []string{rule("web.example.com", fooRoot)}}.String() +
				ingress{name: "secure", annotations: []string{ann + "backend-protocol: HTTPS"}, rules: []string{rule("secure.example.com", fooRoot)}}.String(),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → foo-svc:50051"},
			warnings: []warning{
				{"test.yaml#2", "Ingress default/web", ann + "backend-protocol", "not a gRPC Ingress (backend-protocol is not set, so HTTP), left as it is"},
				{"test.yaml#3", "Ingress default/secure", ann + "backend-protocol", `not a gRPC Ingress (backend-protocol is "HTTPS"), left as it is`},
			},
		},
		{
			name: "canary-by-header with canary-by-header-value: a header rule to the canary before the default rule",
			yaml: mainForCanary + canaryFor(ann+`canary-by-header: env`, ann+`canary-by-header-value: canary`),
			want: []string{gatewayLine, httpListenerA, routeA,
				"  rule [header Exact:env=canary] → bar-svc-canary:50051",
				"  rule [*] → bar-svc:50051",
			},
		},
		{
			name: `canary-by-header alone: "always" goes to the canary; "never" is only reported`,
			yaml: mainForCanary + canaryFor(ann+`canary-by-header: X-Canary`),
			want: []string{gatewayLine, httpListenerA, routeA,
				"  rule [header Exact:x-canary=always] → bar-svc-canary:50051",
				"  rule [*] → bar-svc:50051",
			},
			warnings: []warning{
				{"test.yaml#2", "Ingress default/a-canary", ann + "canary-by-header", `"never" has no Gateway API equivalent beyond not matching, which is what the default rule does anyway`},
			},
		},
		{
			name: "canary-weight: the default rule splits 100 between the main and the canary backend",
			yaml: mainForCanary + canaryFor(ann+`canary-weight: "10"`),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → bar-svc:50051@90, bar-svc-canary:50051@10"},
		},
		{
			name: "canary-weight-total: the split is out of that total",
			yaml: mainForCanary + canaryFor(ann+`canary-weight: "25"`, ann+`canary-weight-total: "1000"`),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → bar-svc:50051@975, bar-svc-canary:50051@25"},
		},
		{
			name: "canary-by-header-value and canary-weight together, on a service path: the header rule to the canary, the default rule weighted",
			yaml: strings.ReplaceAll(mainForCanary+canaryFor(ann+`canary-by-header: env`, ann+`canary-by-header-value: canary`, ann+`canary-weight: "20"`), "{path: /,", "{path: /com.example.User/,"),
			want: []string{gatewayLine, httpListenerA, routeA,
				"  rule [Exact com.example.User/nil & header Exact:env=canary] → bar-svc-canary:50051",
				"  rule [Exact com.example.User/nil] → bar-svc:50051@80, bar-svc-canary:50051@20",
			},
		},
		{
			name: `canary-by-header alone with canary-weight: "never" gets a rule to the main backend, past the weights`,
			yaml: mainForCanary + canaryFor(ann+`canary-by-header: x-canary`, ann+`canary-weight: "5"`),
			want: []string{gatewayLine, httpListenerA, routeA,
				"  rule [header Exact:x-canary=always] → bar-svc-canary:50051",
				"  rule [header Exact:x-canary=never] → bar-svc:50051",
				"  rule [*] → bar-svc:50051@95, bar-svc-canary:50051@5",
			},
			warnings: []warning{
				{"test.yaml#2", "Ingress default/a-canary", ann + "canary-by-header", "a rule of its own sends it to the main backend alone, past the weights"},
			},
		},
		{
			name: "a canary merges into the paths of its main Ingress only",
			yaml: mainForCanary + ingress{name: "a-canary", annotations: []string{ann + `canary: "true"`, ann + `canary-weight: "50"`}, rules: []string{rule("a.example.com",
				path("/", "Prefix", "bar-svc-canary", 50051),
				path("/com.example.User/", "Prefix", "bar-svc-canary", 50051),
			)}}.String(),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → bar-svc:50051@50, bar-svc-canary:50051@50"},
			warnings: []warning{
				{"test.yaml#2", "Ingress default/a-canary", "spec.rules[0].http.paths[1].path", "no converted path of a main Ingress has this host and path"},
			},
		},
		{
			name: "a canary without a main Ingress is not converted",
			yaml: mainForCanary + strings.ReplaceAll(canaryFor(ann+`backend-protocol: GRPC`, ann+`canary-weight: "10"`), "a.example.com", "b.example.com") +
				strings.ReplaceAll(strings.ReplaceAll(canaryFor(ann+`canary-weight: "10"`), "a.example.com", "b.example.com"), "a-canary", "b-canary"),
			want: []string{gatewayLine, httpListenerA, routeA, "  rule [*] → bar-svc:50051"},
			warnings: []warning{
				{"test.yaml#2", "Ingress default/a-canary", ann + "canary", "canary with no main Ingress"},
				{"test.yaml#3", "Ingress default/b-canary", ann + "backend-protocol", "not a gRPC Ingress (backend-protocol is not set, so HTTP), left as it is"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := inputs(t, tc.yaml)
			res, err := Convert(in, tc.opts)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			checkSummary(t, res.Objects, tc.want)
			checkWarnings(t, res.Warnings, tc.warnings)
			if err := manifests.Validate(append(withoutIngresses(in), res.Objects...)); err != nil {
				t.Errorf("output does not validate: %v", err)
			}
		})
	}
}

// TestConvertUnsupportedAnnotations: each annotation that is not carried over is one warning
// pointing at the Ingress and the key, and changes nothing in the output.
func TestConvertUnsupportedAnnotations(t *testing.T) {
	plain := []string{gatewayLine, httpListenerA, routeA, "  rule [*] → foo-svc:50051"}
	canary := []string{gatewayLine, httpListenerA, routeA, "  rule [header Exact:env=canary] → bar-svc-canary:50051", "  rule [*] → bar-svc:50051"}
	tests := []struct {
		key, value string
		onCanary   bool
		contains   string
	}{
		{"canary-by-cookie", "canary", true, `"canary" not carried over: GRPCRoute matches headers, not cookies`},
		{"canary-by-header-pattern", "^(canary|beta)$", true, "RegularExpression header match is implementation-specific"},
		{"proxy-read-timeout", "3600", false, `"3600" not carried over: GRPCRoute has no timeouts field; the controller's own policy must set it`},
		{"proxy-send-timeout", "3600", false, `"3600" not carried over: GRPCRoute has no timeouts field`},
		{"proxy-connect-timeout", "5", false, `"5" not carried over: GRPCRoute has no timeouts field`},
		{"proxy-next-upstream-timeout", "10", false, `"10" not carried over: GRPCRoute has no timeouts field`},
		{"rewrite-target", "/$2", false, "not carried over"},
		{"made-up-annotation", "x", false, "not carried over"},
		{"canary-weight", "10", false, "the Ingress is not a canary"},
		{"proxy-read-timeout", "3600", true, "on a canary Ingress ingress-nginx applies the main Ingress's settings"},
	}
	for _, tc := range tests {
		name := tc.key
		if tc.onCanary {
			name += " on a canary"
		}
		t.Run(name, func(t *testing.T) {
			line := fmt.Sprintf("%s%s: %q", ann, tc.key, tc.value)
			i := ingressA(fooRoot)
			i.annotations = grpcAnnotations(line)
			yaml := i.String()
			want, w := plain, warning{"test.yaml#1", "Ingress default/a", ann + tc.key, tc.contains}
			if tc.onCanary {
				yaml = mainForCanary + canaryFor(ann+"canary-by-header: env", ann+"canary-by-header-value: canary", line)
				want, w.source, w.object = canary, "test.yaml#2", "Ingress default/a-canary"
			}
			res, err := Convert(inputs(t, yaml), Options{})
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			checkWarnings(t, res.Warnings, []warning{w})
			checkSummary(t, res.Objects, want)
			if len(res.Warnings) == 1 {
				if got, want := res.Warnings[0].String(), w.source+": "+w.object+": "+w.key+": "; !strings.HasPrefix(got, want) {
					t.Errorf("String() = %q, want it to start with %q", got, want)
				}
			}
		})
	}
}

// TestGRPCRouteHasNoTimeouts keeps the timeout warnings honest: when the pinned Gateway API
// gives GRPCRoute timeouts, the conversion should carry them over instead.
func TestGRPCRouteHasNoTimeouts(t *testing.T) {
	for file, want := range map[string]bool{"gateway.networking.k8s.io_grpcroutes.yaml": false, "gateway.networking.k8s.io_httproutes.yaml": true} {
		crd, err := os.ReadFile("../crds/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(crd), "\n                    timeouts:\n"); got != want {
			t.Errorf("%s has a rule timeouts field: %v, want %v", file, got, want)
		}
	}
}

// TestConvertFortuneIngress converts the project's own Ingress beside the production manifests.
func TestConvertFortuneIngress(t *testing.T) {
	objs, err := manifests.Load([]string{"base", "gateway-api", "ingress-nginx"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert(objs, Options{})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	src := "ingress-nginx/fortune-ingress.yaml#1"
	checkSummary(t, res.Objects, []string{
		"gateway.networking.k8s.io/v1 Gateway default/migrated-gateway (" + src + ") class=grpclab",
		`  listener https-grpctest-dev-mydomain-com HTTPS:443 host=grpctest.dev.mydomain.com tls=Terminate cert=""/Secret:wildcard.dev.mydomain.com`,
		"  listener http-grpctest-dev-mydomain-com HTTP:80 host=grpctest.dev.mydomain.com",
		"gateway.networking.k8s.io/v1 GRPCRoute default/fortune-ingress (" + src + ") hosts=[grpctest.dev.mydomain.com] parents=[migrated-gateway#https-grpctest-dev-mydomain-com]",
		"  rule [*] → go-grpc-greeter-server:80",
		"gateway.networking.k8s.io/v1 HTTPRoute default/fortune-ingress-redirect (" + src + ") hosts=[grpctest.dev.mydomain.com] parents=[migrated-gateway#http-grpctest-dev-mydomain-com]",
		redirectRule,
	})
	checkWarnings(t, res.Warnings, nil)
	all := append(slices.Clone(objs), res.Objects...)
	if err := manifests.Validate(all); err != nil {
		t.Errorf("the manifests with the converted objects do not validate: %v", err)
	}
	// The harness issues the certificate for what the listener names, as it does for the Ingress.
	i := slices.IndexFunc(manifests.TLSSecrets(all), func(s manifests.TLSSecret) bool { return s.Name == "wildcard.dev.mydomain.com" })
	if i < 0 || !slices.Equal(manifests.TLSSecrets(all)[i].Hosts, []string{"grpctest.dev.mydomain.com"}) {
		t.Errorf("TLS secrets = %+v, want default/wildcard.dev.mydomain.com for grpctest.dev.mydomain.com", manifests.TLSSecrets(all))
	}

	t.Run("stream-timeouts", func(t *testing.T) {
		objs, err := manifests.Load([]string{"base", "gateway-api", "ingress-nginx", "ingress-nginx/stream-timeouts"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Convert(objs, Options{})
		if err != nil {
			t.Fatalf("Convert: %v", err)
		}
		src := "ingress-nginx/stream-timeouts/fortune-ingress.yaml#1"
		checkWarnings(t, res.Warnings, []warning{
			{src, "Ingress default/fortune-ingress", ann + "proxy-read-timeout", `"3600" not carried over`},
			{src, "Ingress default/fortune-ingress", ann + "proxy-send-timeout", `"3600" not carried over`},
		})
	})
}

// TestConvertSplitsLargeRoutes keeps routes within the GRPCRoute limits: 64 matches a rule,
// 16 rules a route.
func TestConvertSplitsLargeRoutes(t *testing.T) {
	// many is the Ingress a with n service paths to Service many, on the ports port gives.
	many := func(n int, port func(i int) int) string {
		paths := make([]string, n)
		for i := range paths {
			paths[i] = path(fmt.Sprintf("/pkg.S%d/", i), "Prefix", "many", port(i))
		}
		return ingressA(paths...).String()
	}
	service := `
---
apiVersion: v1
kind: Service
metadata: {name: many}
spec:
  selector: {app: foo}
  ports:
`
	for i := range 17 {
		service += fmt.Sprintf("    - {name: p%d, port: %d, targetPort: 50051}\n", i, 50000+i)
	}

	t.Run("17 backends: 16 rules and a second route", func(t *testing.T) {
		res, err := Convert(inputs(t, many(17, func(i int) int { return 50000 + i })+service), Options{})
		if err != nil {
			t.Fatalf("Convert: %v", err)
		}
		var got []string
		for _, r := range manifests.Of[*gatewayv1.GRPCRoute](res.Objects) {
			got = append(got, fmt.Sprintf("%s %d rules, last %s", r.Name, len(r.Spec.Rules), grpcRule(r.Spec.Rules[len(r.Spec.Rules)-1])))
		}
		want := []string{"a 16 rules, last [Exact pkg.S15/nil] → many:50015", "a-2 1 rules, last [Exact pkg.S16/nil] → many:50016"}
		if !slices.Equal(got, want) {
			t.Errorf("routes = %q, want %q", got, want)
		}
	})
	t.Run("70 services to one backend: rules of 64 matches", func(t *testing.T) {
		res, err := Convert(inputs(t, many(70, func(int) int { return 50000 })+service), Options{})
		if err != nil {
			t.Fatalf("Convert: %v", err)
		}
		var got []int
		for _, r := range manifests.Of[*gatewayv1.GRPCRoute](res.Objects) {
			for _, rule := range r.Spec.Rules {
				got = append(got, len(rule.Matches))
			}
		}
		if !slices.Equal(got, []int{64, 6}) {
			t.Errorf("matches per rule = %v, want [64 6] in one route", got)
		}
	})
}

func TestConvertErrors(t *testing.T) {
	existing := func(kind, name string) string {
		return fmt.Sprintf(`
---
apiVersion: gateway.networking.k8s.io/v1
kind: %s
metadata: {name: %s}
spec:
  gatewayClassName: other
  listeners: [{name: http, port: 80, protocol: HTTP}]
`, kind, name)
	}
	tests := []struct {
		name     string
		yaml     string
		opts     Options
		want     []string
		warnings int // returned beside the error
	}{
		{"invalid host", strings.Replace(plainIngress, "a.example.com", "a_b.example.com", 1), Options{},
			[]string{"test.yaml#1: Ingress default/a: spec.rules[0].host: invalid host \"a_b.example.com\""}, 0},
		{"IP address host", strings.Replace(plainIngress, "a.example.com", "10.0.0.1", 1), Options{},
			[]string{"test.yaml#1: Ingress default/a: spec.rules[0].host", "IP address"}, 0},
		{"invalid TLS host", strings.Replace(tlsIngress(), "hosts: [a.example.com]", "hosts: [\"*a.example.com\"]", 1), Options{},
			[]string{"test.yaml#1: Ingress default/a: spec.tls[0].hosts[0]"}, 0},
		{"route name taken", plainIngress + strings.Replace(existing("GRPCRoute", "a"), "spec:\n  gatewayClassName: other\n  listeners: [{name: http, port: 80, protocol: HTTP}]\n", "spec: {}\n", 1), Options{},
			[]string{"test.yaml#1: converting would make GRPCRoute default/a, which already exists in test.yaml#2; remove or rename it"}, 0},
		{"Gateway name taken", plainIngress + existing("Gateway", "migrated-gateway"), Options{},
			[]string{"converting would make Gateway default/migrated-gateway, which already exists in test.yaml#2; choose another Gateway name"}, 0},
		{"invalid Gateway name", plainIngress, Options{GatewayName: "Edge_1"}, []string{`options: gateway name "Edge_1"`}, 0},
		{"invalid Gateway namespace", plainIngress, Options{GatewayNamespace: "a.b"}, []string{`options: gateway namespace "a.b"`}, 0},
		{"no gRPC Ingress", strings.Replace(plainIngress, "backend-protocol: GRPC", "backend-protocol: HTTP", 1), Options{},
			[]string{"nothing to convert"}, 1},
		{"no path converts", strings.Replace(plainIngress, "path: /,", "path: /api,", 1), Options{},
			[]string{"nothing to convert"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Convert(inputs(t, tc.yaml), tc.opts)
			if err == nil {
				t.Fatalf("no error; objects:\n%s", strings.Join(summary(res.Objects), "\n"))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if len(res.Objects) != 0 || len(res.Warnings) != tc.warnings {
				t.Errorf("beside the error: %d objects and %d warnings, want none and %d:\n%s", len(res.Objects), len(res.Warnings), tc.warnings, warningLines(res.Warnings))
			}
		})
	}
}

func TestNames(t *testing.T) {
	for host, want := range map[string]string{
		"grpctest.dev.mydomain.com": "grpctest-dev-mydomain-com",
		"*.dev.mydomain.com":        "wildcard-dev-mydomain-com",
		"a--b.example.com":          "a-b-example-com",
		"":                          "any-host",
	} {
		if got := hostLabel(host); got != want {
			t.Errorf("hostLabel(%q) = %q, want %q", host, got, want)
		}
	}
	long := "https-" + hostLabel(strings.Repeat("abcdefghij.", 6)+"example.com")
	got := capName(long, maxLabel)
	if len(got) != maxLabel || !strings.HasPrefix(got, long[:50]) || got == capName(long+"x", maxLabel) {
		t.Errorf("capName(%q) = %q: want %d characters, the start kept and a hash of the whole", long, got, maxLabel)
	}
	b := &builder{names: map[string]bool{}}
	if a, c := b.unique("listener/", "http-a", maxLabel), b.unique("listener/", "http-a", maxLabel); a != "http-a" || c != "http-a-2" {
		t.Errorf("unique names = %q, %q, want http-a, http-a-2", a, c)
	}
}
