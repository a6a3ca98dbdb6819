// Package controller is the local platform's traffic controller, for the Gateway API and for
// Ingresses: it renders GRPCRoutes, HTTPRoute redirects and networking/v1 Ingresses into one
// nginx configuration and supervises that nginx (start, reload, stop), the way NGINX Gateway
// Fabric and ingress-nginx render and run theirs.
//
// Render is pure: it turns an Input into the configuration text plus Diagnostics (what it did not
// accept and why: the gatewayapi model's issues, which are a Route's Accepted/ResolvedRefs
// conditions, and what this emulation cannot express). Which routes attach to which listener,
// with which hostnames, in which precedence, and which references are permitted is the
// gatewayapi model's answer, computed from Input.Objects; this package only turns it into
// nginx. Start, Reload and Stop run Debian's nginx with its own prefix, pid file, logs and temp
// paths under a state directory.
//
// Gateway requests are routed by one map per server block: its source joins $uri and one
// "0"/"1" flag per header condition the block's rules use, and its regex entries are emitted in
// Gateway API precedence order, because nginx tries map regexes in the order they appear. The
// map's value is an upstream name, a split_clients variable (weighted backends), or an error
// marker that the location turns into a trailers-only gRPC error answer. Limits lists what this
// emulation cannot do.
package controller

import (
	"fmt"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/gatewayapi"
)

// Input is everything one render needs: the objects, where their endpoints are, and where nginx
// listens.
type Input struct {
	// Objects are the Gateway API objects and what their references reach (Services,
	// ReferenceGrants, Namespaces): the renderer serves the gatewayapi model of them. HTTPRoutes
	// are served only where they redirect (see redirect.go): the shape of a migrated
	// ssl-redirect. Ingresses use Objects.Services too.
	gatewayapi.Objects
	Ingresses []*networkingv1.Ingress
	// Endpoints lists the ready addresses ("127.0.0.1:40123") behind a Service port; key
	// EndpointKey(ns, svc, port).
	Endpoints map[string][]string
	// Certs maps a TLS Secret "namespace/name" to its files.
	Certs map[string]CertFiles
	// GatewayListen maps "namespace/gateway/listenerName" to the local address nginx listens on
	// ("127.0.0.1:43123"). Listeners that share a Gateway port may share an address.
	GatewayListen map[string]string
	// IngressClass is the class this controller owns ("nginx"); Ingresses of other classes are
	// ignored.
	IngressClass string
	// IngressHTTPS and IngressHTTP are the listen addresses of the emulated ingress controller;
	// empty disables that port.
	IngressHTTPS, IngressHTTP string
	// IngressDefaultCert names the Certs entry ("namespace/name") the ingress HTTPS port serves
	// for hosts without TLS of their own (ingress-nginx's default certificate). Empty: the first
	// Ingress TLS secret in namespace/name order.
	IngressDefaultCert string
	// IdleTimeout is the default grpc_read_timeout/grpc_send_timeout; zero means ingress-nginx's
	// 60s. Ingress annotations override it.
	IdleTimeout time.Duration
	// GatewayRecycling and IngressRecycling are the connection-recycling limits of the Gateway
	// listeners and of the ingress ports; zero fields take IngressNginxDefaults. Upstreams that
	// an Ingress uses take IngressRecycling's upstream limits, the others GatewayRecycling's.
	GatewayRecycling, IngressRecycling Recycling
	// StateDir is absolute; pid, logs and temp paths live here.
	StateDir string
	// Generation increases on every render; the admin endpoint serves it so Reload can tell the
	// new configuration is live.
	Generation int
	// AdminListen is "127.0.0.1:PORT": plain HTTP/1.1, GET /generation answers Generation.
	AdminListen string
}

// CertFiles are the PEM files of one TLS Secret. The key is read by the nginx master at load
// time, so it may stay readable by root only.
type CertFiles struct {
	CertFile, KeyFile string
}

// Config is a rendered nginx configuration.
type Config struct {
	Text        string
	Diagnostics []Diagnostic
	// Generation and AdminListen tell Start and Reload what to wait for.
	Generation  int
	AdminListen string
}

// Diagnostic is one object, or part of one, that the renderer did not accept.
type Diagnostic struct {
	// Kind, Namespace and Name identify the object ("GRPCRoute", "default", "foo-route").
	Kind, Namespace, Name string
	// Field is the path of the offending field ("spec.parentRefs[0]").
	Field string
	// Reason is a Gateway API condition reason where one fits ("NoMatchingParent",
	// "NotAllowedByListeners", "NoMatchingListenerHostname", "BackendNotFound",
	// "RefNotPermitted", "InvalidKind", "UnsupportedValue", "InvalidCertificateRef"),
	// else a short CamelCase word.
	Reason  string
	Message string
}

func (d Diagnostic) String() string {
	return fmt.Sprintf("%s %s/%s %s: %s: %s", d.Kind, d.Namespace, d.Name, d.Field, d.Reason, d.Message)
}

// EndpointKey is the Input.Endpoints key of one Service port.
func EndpointKey(namespace, service string, port int32) string {
	return fmt.Sprintf("%s/%s:%d", namespace, service, port)
}

// Limits lists what this emulation cannot do, for the README and for scenarios to skip.
func Limits() []string {
	return []string{
		"header matches see only the first value of a repeated header (nginx $http_<name>)",
		"header names must be letters, digits and '-'; nginx drops headers whose names contain '_'",
		"an Exact header match on the empty string also matches a missing header",
		"RegularExpression matches run on PCRE, not RE2; patterns are checked with Go's RE2 parser " +
			"and anchored (full match), so RE2-only or PCRE-only syntax may behave differently",
		"precedence counts the characters of a RegularExpression service or method as written",
		"HTTPRoutes are served only when their one rule is a RequestRedirect (no path rewrite), on an HTTP " +
			"listener that carries no GRPCRoute; the Location names the listener's port from the manifest",
		"GRPCRoute filters (RequestHeaderModifier, ResponseHeaderModifier, RequestMirror, " +
			"ExtensionRef) and backendRef filters are not implemented: the rule is rendered " +
			"without them and a Diagnostic says so",
		"sessionPersistence is ignored (Diagnostic)",
		"listener allowedRoutes selectors see the labels of the Namespace objects given (the manifests'); a namespace without one has only kubernetes.io/metadata.name",
		"HTTPS listeners terminate TLS only (no Passthrough); TLS and TCP listeners are not rendered",
		"weights are rounded to 0.01% (nginx split_clients)",
		"status conditions are not written back: Diagnostics stand in for them",
		"the Ingress HTTP port speaks HTTP/1.1 only, like ingress-nginx: gRPC needs the TLS port",
		"Ingress backend-protocol other than GRPC is proxied as HTTP/1.1, which gRPC backends reject",
		"the Ingress ssl-redirect Location carries the local HTTPS port (ingress-nginx assumes 443)",
		"a request is routed by its :authority; an SNI naming another host of the same port is not refused (no 421)",
		"Ingress annotations honoured: backend-protocol, ssl-redirect, force-ssl-redirect, proxy-read-timeout, " +
			"proxy-send-timeout, proxy-connect-timeout, proxy-body-size, and on canary Ingresses canary, " +
			"canary-by-header, canary-by-header-value, canary-weight, canary-weight-total; others are ignored " +
			"(canary-by-header-pattern and canary-by-cookie included)",
		"connection recycling follows ingress-nginx's defaults on every port; the controller ConfigMap's " +
			"keep-alive-requests, keep-alive and upstream-keepalive-* keys change the Ingress ports' and upstreams' only",
	}
}

// objKey is "namespace/name".
func objKey(namespace, name string) string {
	return namespace + "/" + name
}

// listenKey is the Input.GatewayListen key of one listener.
func listenKey(namespace, gateway, listener string) string {
	return strings.Join([]string{namespace, gateway, listener}, "/")
}
