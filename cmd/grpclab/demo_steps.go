package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fullstorydev/grpcurl"
	"github.com/jhump/protoreflect/grpcreflect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/platforms"
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/netpol"
	"github.com/grpclab/grpclab/scenarios/call"
	"github.com/grpclab/grpclab/services"
)

// The variants the steps switch to, on top of defaultVariants.
const (
	reflectionVariant = "gateway-api/reflection"
	weightedVariant   = "gateway-api/weighted-canary"
	policyVariant     = "networkpolicy/article"
)

// demoStep is one step of the walk through the article.
type demoStep struct {
	title string
	// intro says in a sentence or two what the step shows.
	intro string
	// variants are applied on top of defaultVariants (and the -f directories) before it runs.
	variants []string
	// run shows the excerpt, the command and the live answers, and returns what passing proves.
	run func(ctx context.Context, d *demoEnv, r *stepRecord) string
}

// demoSteps are the steps in the article's order. Each is declared right after its run
// function, the NetworkPolicy steps below.
func demoSteps() []demoStep {
	return []demoStep{
		hostnameRouting, methodRouting, canaryHeader, canaryWeight,
		reflectionInDevelopment, reflectionInProduction, tlsTermination, authInterceptor,
		ingressNginx, policyTruthTable, policyStopsAtL4, http2OneConnection,
	}
}

// The NetworkPolicy steps are declared here, their run functions in demo_policy.go.

var policyTruthTable = demoStep{title: "NetworkPolicy: the truth table", variants: []string{policyVariant}, run: stepPolicyTable,
	intro: "Every workload probes every other before and after the article's policy is applied " +
		"live; what the data plane lets through must equal what the NetworkPolicy spec says."}

var policyStopsAtL4 = demoStep{title: "NetworkPolicy stops at L4", variants: []string{policyVariant}, run: stepPolicyL7,
	intro: "An allowed connection is not an allowed method: frontend reaches db through the policy, " +
		"and alice's DeleteUser is still refused there by the interceptor."}

// demoEnv is what the steps share: the platform, its entry points and what is applied.
type demoEnv struct {
	lab     *platforms.Lab
	p       cluster.Platform
	name    string
	ep      cluster.Endpoints
	out     *screen
	protos  string // grpcurl -import-path
	applied string // the variants applied now on top of defaultVariants, joined
	objs    []manifests.Object
	plane   cluster.PolicyPlane
	// workloads are the plane's, for addresses.
	workloads []netpol.Workload
}

// use applies defaultVariants plus extra (and the -f directories) unless they are applied
// already; what only the variants before defined is deleted (platforms.Lab.Use).
func (d *demoEnv) use(ctx context.Context, extra []string) error {
	key := strings.Join(extra, " + ")
	if key == d.applied {
		return nil
	}
	objs, err := d.lab.Use(ctx, extra...)
	if err != nil {
		return err
	}
	d.objs, d.applied = objs, key
	return nil
}

// route returns a loaded GRPCRoute by name, in the default namespace.
func (d *demoEnv) route(name string) (*gatewayv1.GRPCRoute, string, error) {
	for _, o := range d.objs {
		if r, ok := o.Object.(*gatewayv1.GRPCRoute); ok && r.Name == name && r.Namespace == "default" {
			return r, o.Source, nil
		}
	}
	return nil, "", fmt.Errorf("no GRPCRoute default/%s in the manifests", name)
}

// routeOrFail is route for a step that needs the route: when it is missing the step fails,
// saying so, and the route is nil.
func (d *demoEnv) routeOrFail(r *stepRecord, name string) (*gatewayv1.GRPCRoute, string) {
	rt, src, err := d.route(name)
	if err != nil {
		r.fail("%v", err)
	}
	return rt, src
}

// excerpt marshals part of a loaded object back to YAML, captioned with its source.
func (d *demoEnv) excerpt(r *stepRecord, source, what, path string, v any) {
	b, err := yaml.Marshal(v)
	if err != nil {
		r.fail("marshal %s %s: %v", what, path, err)
		return
	}
	r.yaml(fmt.Sprintf("%s, %s, %s", source, what, path), string(b))
}

// sourceOf names where a loaded object came from.
func (d *demoEnv) sourceOf(obj any) string {
	for _, o := range d.objs {
		if any(o.Object) == obj {
			return o.Source
		}
	}
	return "?"
}

// servedBy is the x-served-by prefix of a Service's pods: the name of the Deployment its
// selector picks, plus "-" (pods are named <deployment>-<n>).
func (d *demoEnv) servedBy(service string) string {
	for _, svc := range manifests.Of[*corev1.Service](d.objs) {
		if svc.Name != service || svc.Namespace != "default" {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, dep := range manifests.Of[*appsv1.Deployment](d.objs) {
			if dep.Namespace == svc.Namespace && sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
				return dep.Name + "-"
			}
		}
	}
	return service + "?"
}

// gateway returns the Gateway entry point as host, and the grpcurl line for method.
func (d *demoEnv) gateway(host string) call.Target {
	return call.Target{Address: d.ep.Gateway.Address, Host: host, CAFile: d.ep.CAFile}
}

func (d *demoEnv) ingress(host string) call.Target {
	return call.Target{Address: d.ep.Ingress.Address, Host: host, CAFile: d.ep.CAFile}
}

// grpcurlFor is the grpcurl line for a unary method through target, naming the .proto file
// (reflection is not routed in production).
func (d *demoEnv) grpcurlFor(t call.Target, method string, md []string, verbose bool) shellCommand {
	proto := services.UserProto
	if strings.HasPrefix(method, "/helloworld.") {
		proto = services.GreeterProto
	}
	return grpcurlCall{
		Addr: t.Address, Host: t.Host, CAFile: t.CAFile, Plaintext: t.Plaintext,
		ImportPath: d.protos, Proto: proto, Metadata: md, Verbose: verbose,
		Args: []string{strings.TrimPrefix(method, "/")},
	}.command()
}

// dialOrFail is call.Dial for a step: when it fails the step fails, saying so, and the
// connection is nil.
func dialOrFail(r *stepRecord, t call.Target) *grpc.ClientConn {
	conn, err := call.Dial(t)
	if err != nil {
		r.fail("%v", err)
		return nil
	}
	return conn
}

// unary makes one call with its own connection and a bounded wait.
func unary(ctx context.Context, t call.Target, method string, md ...string) call.Result {
	conn, err := call.Dial(t)
	if err != nil {
		return call.Result{Code: codes.Unknown, Message: err.Error()}
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return call.Unary(ctx, conn, method, md...)
}

// describe prints a result as the step's answer: code, message, x-served-by.
func resultLine(r call.Result) string {
	s := r.Code.String()
	msg := r.Message
	if i := strings.Index(msg, "tls: "); r.HandshakeFailed() && i >= 0 {
		// grpc-go wraps the handshake error twice; the TLS part is what matters.
		msg = "TLS handshake: " + strings.TrimRight(msg[i:], `"\`)
	}
	if r.Code != codes.OK && msg != "" {
		s += fmt.Sprintf(" %q", msg)
	}
	if r.ServedBy != "" {
		s += ", x-served-by: " + r.ServedBy
	} else {
		s += ", no x-served-by (no backend answered)"
	}
	return s
}

// expect checks a result against a code and an x-served-by prefix ("" wants none).
func expect(r *stepRecord, label string, res call.Result, code codes.Code, servedBy string) bool {
	ok := res.Code == code && (servedBy == "" && res.ServedBy == "" || servedBy != "" && strings.HasPrefix(res.ServedBy, servedBy))
	return r.check(ok, "%s → %s", label, resultLine(res))
}

func firstHost(rt *gatewayv1.GRPCRoute) string {
	if len(rt.Spec.Hostnames) == 0 {
		return ""
	}
	return string(rt.Spec.Hostnames[0])
}

// unknownHost is a host in the same domain that no route and no certificate names.
func unknownHost(host string) string {
	_, domain, _ := strings.Cut(host, ".")
	return "unknown." + domain
}

func stepHostnames(ctx context.Context, d *demoEnv, r *stepRecord) string {
	foo, fooSrc, err1 := d.route("foo-route")
	bar, barSrc, err2 := d.route("bar-route")
	if err := errors.Join(err1, err2); err != nil {
		r.fail("%v", err)
		return ""
	}
	d.excerpt(r, fooSrc, "GRPCRoute foo-route", "spec.hostnames", foo.Spec.Hostnames)
	d.excerpt(r, barSrc, "GRPCRoute bar-route", "spec.hostnames", bar.Spec.Hostnames)
	fooHost, barHost := firstHost(foo), firstHost(bar)
	method, svc := ruleMethod(foo)
	r.command(d.grpcurlFor(d.gateway(fooHost), method, call.Alice(), true))
	r.command(d.grpcurlFor(d.gateway(barHost), call.SayHello, nil, true))
	expect(r, fooHost+" "+method, unary(ctx, d.gateway(fooHost), method, call.Alice()...), codes.OK, d.servedBy(svc))
	expect(r, barHost+" "+call.SayHello, unary(ctx, d.gateway(barHost), call.SayHello), codes.OK, d.servedBy(defaultBackend(bar)))
	unknown := unknownHost(fooHost)
	res := unary(ctx, d.gateway(unknown), call.SayHello)
	r.check(res.HandshakeFailed(), "%s → %s", unknown, resultLine(res))
	return fmt.Sprintf("by host: %s → %s, %s → %s, an unknown host is refused",
		fooHost, svc, barHost, defaultBackend(bar))
}

var hostnameRouting = demoStep{title: "hostname routing", run: stepHostnames,
	intro: "The Gateway picks a GRPCRoute by the host the client asks for: foo-route and bar-route " +
		"answer on their own hostnames, and a host no route names reaches no backend."}

// ruleMethod is the first method match of a route and its rule's backend Service.
func ruleMethod(rt *gatewayv1.GRPCRoute) (method, service string) {
	for _, rule := range rt.Spec.Rules {
		for _, m := range rule.Matches {
			if m.Method != nil && m.Method.Service != nil && m.Method.Method != nil && len(rule.BackendRefs) > 0 {
				return "/" + *m.Method.Service + "/" + *m.Method.Method, string(rule.BackendRefs[0].Name)
			}
		}
	}
	return "", ""
}

// defaultBackend is the backend of a route's rule without matches (the fall-through).
func defaultBackend(rt *gatewayv1.GRPCRoute) string {
	for _, rule := range rt.Spec.Rules {
		if len(rule.Matches) == 0 && len(rule.BackendRefs) > 0 {
			return string(rule.BackendRefs[0].Name)
		}
	}
	return ""
}

func stepMethods(ctx context.Context, d *demoEnv, r *stepRecord) string {
	foo, src := d.routeOrFail(r, "foo-route")
	if foo == nil {
		return ""
	}
	d.excerpt(r, src, "GRPCRoute foo-route", "spec.rules", foo.Spec.Rules)
	host := firstHost(foo)
	method, svc := ruleMethod(foo)
	if method == "" {
		r.fail("foo-route has no rule with a method match")
		return ""
	}
	r.command(d.grpcurlFor(d.gateway(host), method, call.Alice(), true))
	r.command(d.grpcurlFor(d.gateway(host), call.GetProfile, call.Admin(), false))
	expect(r, method, unary(ctx, d.gateway(host), method, call.Alice()...), codes.OK, d.servedBy(svc))
	expect(r, call.GetProfile, unary(ctx, d.gateway(host), call.GetProfile, call.Admin()...), codes.Unimplemented, "")
	return fmt.Sprintf("only %s reaches %s; GetProfile is refused by the gateway itself", method, svc)
}

var methodRouting = demoStep{title: "method routing", run: stepMethods,
	intro: "Within foo-route, only the method its rule matches reaches foo-svc; any other method on " +
		"that host matches no rule and the gateway itself answers Unimplemented."}

// headerRule is a route's first rule with a header match.
func headerRule(rt *gatewayv1.GRPCRoute) (name, value, service string) {
	for _, rule := range rt.Spec.Rules {
		for _, m := range rule.Matches {
			if len(m.Headers) > 0 && len(rule.BackendRefs) > 0 {
				return string(m.Headers[0].Name), m.Headers[0].Value, string(rule.BackendRefs[0].Name)
			}
		}
	}
	return "", "", ""
}

func stepCanaryHeader(ctx context.Context, d *demoEnv, r *stepRecord) string {
	bar, src := d.routeOrFail(r, "bar-route")
	if bar == nil {
		return ""
	}
	d.excerpt(r, src, "GRPCRoute bar-route", "spec.rules", bar.Spec.Rules)
	name, value, canary := headerRule(bar)
	if name == "" {
		r.fail("bar-route has no rule with a header match")
		return ""
	}
	stable := defaultBackend(bar)
	host := firstHost(bar)
	r.command(d.grpcurlFor(d.gateway(host), call.SayHello, []string{name, value}, true))
	r.command(d.grpcurlFor(d.gateway(host), call.SayHello, nil, true))
	expect(r, fmt.Sprintf("%s: %s", name, value), unary(ctx, d.gateway(host), call.SayHello, name, value), codes.OK, d.servedBy(canary))
	expect(r, "no header", unary(ctx, d.gateway(host), call.SayHello), codes.OK, d.servedBy(stable))
	other := strings.ToUpper(value[:1]) + value[1:]
	expect(r, fmt.Sprintf("%s: %s (Exact is case-sensitive)", name, other), unary(ctx, d.gateway(host), call.SayHello, name, other), codes.OK, d.servedBy(stable))
	return fmt.Sprintf("\"%s: %s\" reaches %s; no header or another value reaches %s", name, value, canary, stable)
}

var canaryHeader = demoStep{title: "the canary header", run: stepCanaryHeader,
	intro: "bar-route sends a call whose header matches its first rule exactly to the canary; " +
		"every other call falls through to the stable Service."}

func stepCanaryWeights(ctx context.Context, d *demoEnv, r *stepRecord) string {
	const calls, tolerance = 400, 0.05
	bar, src := d.routeOrFail(r, "bar-route")
	if bar == nil {
		return ""
	}
	d.excerpt(r, src, "GRPCRoute bar-route", "spec.rules", bar.Spec.Rules)
	var refs []gatewayv1.GRPCBackendRef
	for _, rule := range bar.Spec.Rules {
		if len(rule.Matches) == 0 {
			refs = rule.BackendRefs
		}
	}
	total := 0
	for _, ref := range refs {
		total += int(weightOf(ref))
	}
	if len(refs) < 2 || total == 0 {
		r.fail("bar-route's default rule has %d weighted backends", len(refs))
		return ""
	}
	host := firstHost(bar)
	r.command(d.grpcurlFor(d.gateway(host), call.SayHello, nil, true))
	conn := dialOrFail(r, d.gateway(host))
	if conn == nil {
		return ""
	}
	defer conn.Close()
	r.note("counting who answers %d SayHello calls on %s …", calls, host)
	counts := map[string]int{}
	for i := range calls {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		res := call.Unary(cctx, conn, call.SayHello)
		cancel()
		if res.Code != codes.OK {
			r.fail("call %d: %s", i, resultLine(res))
			return ""
		}
		for _, ref := range refs {
			if strings.HasPrefix(res.ServedBy, d.servedBy(string(ref.Name))) {
				counts[string(ref.Name)]++
			}
		}
	}
	var shares []string
	for _, ref := range refs {
		want := float64(weightOf(ref)) / float64(total)
		got := float64(counts[string(ref.Name)]) / calls
		r.check(math.Abs(got-want) <= tolerance, "%s (weight %d): %d of %d calls, %.1f%% (want %.0f%% ± %.0f)",
			ref.Name, weightOf(ref), counts[string(ref.Name)], calls, got*100, want*100, tolerance*100)
		shares = append(shares, fmt.Sprintf("%s %.0f%%", ref.Name, got*100))
	}
	return "the weights set the shares: " + strings.Join(shares, ", ") + fmt.Sprintf(" of %d calls", calls)
}

var canaryWeight = demoStep{title: "canary by weight", variants: []string{weightedVariant}, run: stepCanaryWeights,
	intro: "The weighted-canary variant replaces bar-route live: no header match, the backends " +
		"share the calls by weight. The demo counts who answers."}

func weightOf(ref gatewayv1.GRPCBackendRef) int32 {
	if ref.Weight == nil {
		return 1
	}
	return *ref.Weight
}

// reflectionRule is the rule of a route that matches the reflection service, if any.
func reflectionRule(rt *gatewayv1.GRPCRoute) *gatewayv1.GRPCRouteRule {
	for i, rule := range rt.Spec.Rules {
		for _, m := range rule.Matches {
			if m.Method != nil && m.Method.Service != nil && strings.Contains(*m.Method.Service, "ServerReflection") {
				return &rt.Spec.Rules[i]
			}
		}
	}
	return nil
}

// listServices is `grpcurl list` as a library (grpcurl tries reflection v1, then v1alpha).
func listServices(ctx context.Context, conn *grpc.ClientConn) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc := grpcreflect.NewClientAuto(ctx, conn)
	defer rc.Reset()
	return grpcurl.ListServices(grpcurl.DescriptorSourceFromServer(ctx, rc))
}

// describeRPCs is `grpcurl describe SYMBOL`, cut to its rpc lines.
func describeRPCs(ctx context.Context, conn *grpc.ClientConn, symbol string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc := grpcreflect.NewClientAuto(ctx, conn)
	defer rc.Reset()
	desc, err := grpcurl.DescriptorSourceFromServer(ctx, rc).FindSymbol(symbol)
	if err != nil {
		return nil, err
	}
	text, err := grpcurl.GetDescriptorText(desc, nil)
	if err != nil {
		return nil, err
	}
	var rpcs []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "rpc ") {
			rpcs = append(rpcs, l)
		}
	}
	return rpcs, nil
}

func stepReflectionDev(ctx context.Context, d *demoEnv, r *stepRecord) string {
	foo, src := d.routeOrFail(r, "foo-route")
	if foo == nil {
		return ""
	}
	rule := reflectionRule(foo)
	if rule == nil {
		r.fail("the development foo-route (%s) has no reflection rule", src)
		return ""
	}
	d.excerpt(r, src, "GRPCRoute foo-route", "the reflection rule of spec.rules", rule)
	host := firstHost(foo)
	t := d.gateway(host)
	base := grpcurlCall{Addr: t.Address, Host: host, CAFile: t.CAFile}
	list, desc := base, base
	list.Args = []string{"list"}
	desc.Args = []string{"describe", "com.example.User"}
	r.command(list.command())
	r.command(desc.command())
	conn := dialOrFail(r, t)
	if conn == nil {
		return ""
	}
	defer conn.Close()
	svcs, err := listServices(ctx, conn)
	r.check(err == nil && slices.Contains(svcs, "com.example.User"), "list → %s", orError(strings.Join(svcs, ", "), err))
	rpcs, err := describeRPCs(ctx, conn, "com.example.User")
	r.check(err == nil && len(rpcs) > 0, "describe com.example.User → %s", orError(fmt.Sprintf("%d rpcs", len(rpcs)), err))
	r.table(rpcs)
	return "with the reflection rule routed, anyone reaching " + host + " can read the API's shape"
}

var reflectionInDevelopment = demoStep{title: "reflection in development", variants: []string{reflectionVariant}, run: stepReflectionDev,
	intro: "The development variant of foo-route also routes the reflection service, so grpcurl " +
		"lists and describes the API through the gateway without any .proto file."}

func orError(s string, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return s
}

func stepReflectionProd(ctx context.Context, d *demoEnv, r *stepRecord) string {
	foo, src := d.routeOrFail(r, "foo-route")
	if foo == nil {
		return ""
	}
	d.excerpt(r, src, "GRPCRoute foo-route", "spec.rules (no reflection rule)", foo.Spec.Rules)
	if reflectionRule(foo) != nil {
		r.fail("the production foo-route (%s) routes reflection", src)
	}
	host := firstHost(foo)
	_, svc := ruleMethod(foo)
	port := int32(0)
	if len(foo.Spec.Rules) > 0 && len(foo.Spec.Rules[0].BackendRefs) > 0 && foo.Spec.Rules[0].BackendRefs[0].Port != nil {
		port = int32(*foo.Spec.Rules[0].BackendRefs[0].Port)
	}
	pods, err := d.p.Backends(ctx, "default", svc, port)
	if err != nil || len(pods) == 0 {
		r.fail("backends of %s:%d: %v", svc, port, err)
		return ""
	}
	t := d.gateway(host)
	r.command(grpcurlCall{Addr: t.Address, Host: host, CAFile: t.CAFile, Args: []string{"list"}}.command())
	r.command(grpcurlCall{Addr: pods[0], Plaintext: true, Args: []string{"list"}}.command())
	conn := dialOrFail(r, t)
	if conn == nil {
		return ""
	}
	defer conn.Close()
	svcs, err := listServices(ctx, conn)
	r.check(err != nil, "list through the gateway → %s", orError(strings.Join(svcs, ", "), err))
	direct := dialOrFail(r, call.Target{Address: pods[0], Plaintext: true})
	if direct == nil {
		return ""
	}
	defer direct.Close()
	svcs, err = listServices(ctx, direct)
	r.check(err == nil && slices.Contains(svcs, "com.example.User"), "list direct to the %s pod %s → %s", svc, pods[0], orError(strings.Join(svcs, ", "), err))
	return "the gateway hides reflection, but the pod still serves it: the edge is the only wall"
}

var reflectionInProduction = demoStep{title: "reflection in production", run: stepReflectionProd,
	intro: "The production foo-route has no reflection rule: the gateway refuses reflection, while " +
		"the pod behind it still serves it. The leak is closed at the edge only."}

// peerCertificate dials t with TLS and returns the verified leaf.
func peerCertificate(ctx context.Context, t call.Target) (*x509.Certificate, error) {
	cfg, err := t.TLSConfig()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", t.Address)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

// certificateFor checks that the entry point presents, for SNI host, a certificate the CA
// signed that names host, and prints it.
func certificateFor(ctx context.Context, r *stepRecord, t call.Target) {
	leaf, err := peerCertificate(ctx, t)
	if err != nil {
		r.check(false, "SNI %s → error: %v", t.Host, err)
		return
	}
	r.check(slices.Contains(leaf.DNSNames, t.Host), "SNI %s → subject %q, names %s, issuer %q", t.Host,
		leaf.Subject.String(), strings.Join(leaf.DNSNames, ", "), leaf.Issuer.CommonName)
}

func stepTLS(ctx context.Context, d *demoEnv, r *stepRecord) string {
	gws := manifests.Of[*gatewayv1.Gateway](d.objs)
	if len(gws) == 0 {
		r.fail("no Gateway in the manifests")
		return ""
	}
	d.excerpt(r, d.sourceOf(gws[0]), "Gateway "+gws[0].Name, "spec.listeners", gws[0].Spec.Listeners)
	var hosts []string
	for _, rt := range manifests.Of[*gatewayv1.GRPCRoute](d.objs) {
		for _, h := range rt.Spec.Hostnames {
			hosts = append(hosts, string(h))
		}
	}
	sort.Strings(hosts)
	foo, _, _ := d.route("foo-route")
	if foo != nil {
		method, _ := ruleMethod(foo)
		r.command(d.grpcurlFor(d.gateway(firstHost(foo)), method, call.Alice(), false))
	}
	unknown := unknownHost(hosts[0])
	r.command(d.grpcurlFor(d.gateway(unknown), call.SayHello, nil, false))
	for _, h := range hosts {
		certificateFor(ctx, r, d.gateway(h))
	}
	_, err := peerCertificate(ctx, d.gateway(unknown))
	r.check(err != nil, "SNI %s → %s", unknown, orError("a certificate was accepted", err))
	return fmt.Sprintf("TLS ends at the listener, a certificate naming each SNI; %s is refused", unknown)
}

var tlsTermination = demoStep{title: "TLS termination", run: stepTLS,
	intro: "The Gateway listener terminates TLS with the Secret it names: for each SNI the client " +
		"gets a certificate, signed by the platform's CA, that names that host; any other host is refused."}

// fortune returns the loaded Ingress the article names.
func (d *demoEnv) fortune(r *stepRecord) *networkingv1.Ingress {
	for _, ing := range manifests.Of[*networkingv1.Ingress](d.objs) {
		if ing.Name == "fortune-ingress" && len(ing.Spec.Rules) > 0 {
			return ing
		}
	}
	r.fail("no Ingress default/fortune-ingress with rules in the manifests")
	return nil
}

func stepAuth(ctx context.Context, d *demoEnv, r *stepRecord) string {
	ing := d.fortune(r)
	if ing == nil {
		return ""
	}
	d.excerpt(r, d.sourceOf(ing), "Ingress "+ing.Name, "spec.rules", ing.Spec.Rules)
	host := ing.Spec.Rules[0].Host
	backend := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name
	t := d.ingress(host)
	r.command(d.grpcurlFor(t, call.GetProfile, nil, false))
	r.command(d.grpcurlFor(t, call.GetProfile, call.WrongPassword(), false))
	r.command(d.grpcurlFor(t, call.DeleteUser, call.Alice(), false))
	prefix := d.servedBy(backend)
	expect(r, "GetProfile, no credentials", unary(ctx, t, call.GetProfile), codes.Unauthenticated, prefix)
	expect(r, "GetProfile, wrong password", unary(ctx, t, call.GetProfile, call.WrongPassword()...), codes.Unauthenticated, prefix)
	expect(r, "DeleteUser as alice", unary(ctx, t, call.DeleteUser, call.Alice()...), codes.PermissionDenied, prefix)
	expect(r, "Login as admin", unary(ctx, t, call.Login, call.Admin()...), codes.OK, prefix)
	return "the interceptor in the pod decides per method and user; its codes cross the edge unchanged"
}

var authInterceptor = demoStep{title: "the auth interceptor", run: stepAuth,
	intro: "NetworkPolicy cannot see methods; the server's interceptor can. Missing, wrong and " +
		"not-allowed credentials each get their own answer, unchanged through the edge."}

func stepIngress(ctx context.Context, d *demoEnv, r *stepRecord) string {
	ing := d.fortune(r)
	if ing == nil {
		return ""
	}
	d.excerpt(r, d.sourceOf(ing), "Ingress "+ing.Name, "metadata.annotations", ing.Annotations)
	d.excerpt(r, d.sourceOf(ing), "Ingress "+ing.Name, "spec.tls", ing.Spec.TLS)
	host := ing.Spec.Rules[0].Host
	backend := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name
	t := d.ingress(host)
	r.command(d.grpcurlFor(t, call.SayHello, nil, true))
	url := "http://" + d.ep.IngressHTTP.Address + call.SayHello
	r.command(shellCommand{"curl", "-si", "-X", "POST", "-H", "Host: " + host, "-H", "content-type: application/grpc", url})
	expect(r, "SayHello through the Ingress", unary(ctx, t, call.SayHello), codes.OK, d.servedBy(backend))
	certificateFor(ctx, r, t)
	if d.ep.IngressHTTP.Address == "" {
		r.fail("the %s platform serves no plaintext Ingress port", d.name)
		return ""
	}
	status, loc, err := redirect(ctx, url, host)
	r.check(err == nil && status == http.StatusPermanentRedirect && strings.HasPrefix(loc, "https://"+host),
		"plaintext POST %s → %s", call.SayHello, orError(fmt.Sprintf("%d, Location: %s", status, loc), err))
	return fmt.Sprintf("TLS ends at the Ingress, gRPC (h2c) goes on to %s, plaintext gets 308", backend)
}

var ingressNginx = demoStep{title: "ingress-nginx", run: stepIngress,
	intro: "The article's fortune-ingress: TLS at the Ingress, backend-protocol GRPC to the " +
		"greeter Service, and ssl-redirect on the plaintext port."}

// redirect POSTs to url as host without following redirects.
func redirect(ctx context.Context, url, host string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	req.Header.Set("content-type", "application/grpc")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

func stepHTTP2(ctx context.Context, d *demoEnv, r *stepRecord) string {
	const shared, fresh = 300, 60
	bar, _ := d.routeOrFail(r, "bar-route")
	if bar == nil {
		return ""
	}
	svc := defaultBackend(bar)
	for _, s := range manifests.Of[*corev1.Service](d.objs) {
		if s.Name == svc && s.Namespace == "default" {
			d.excerpt(r, d.sourceOf(s), "Service "+s.Name, "spec.ports (h2c: HTTP/2 to the pods too)", s.Spec.Ports)
		}
	}
	host := firstHost(bar)
	t := d.gateway(host)
	r.command(d.grpcurlFor(t, call.SayHello, nil, false))
	r.note("each grpcurl run is a new connection; the demo times %d calls on one connection and %d calls with a connection each …", shared, fresh)
	one, err := timeShared(ctx, t, shared)
	if err != nil {
		r.fail("one connection: %v", err)
		return ""
	}
	each, err := timeFresh(ctx, t, fresh)
	if err != nil {
		r.fail("a connection per call: %v", err)
		return ""
	}
	ratio := float64(each) / float64(one)
	r.answer("one shared connection: p50 %s per call (%d calls)", one.Round(time.Microsecond), shared)
	r.answer("a connection per call: p50 %s per call (%d calls)", each.Round(time.Microsecond), fresh)
	r.check(ratio > 1.5, "ratio %.1f× (a new connection costs more than 1.5× a shared one)", ratio)
	return fmt.Sprintf("reusing one HTTP/2 connection is %.1f× cheaper per call than a connection per call", ratio)
}

var http2OneConnection = demoStep{title: "HTTP/2: one connection", run: stepHTTP2,
	intro: "gRPC multiplexes every call on one HTTP/2 connection. A new connection per call pays " +
		"a TCP and TLS handshake each time; the demo measures both through the gateway."}

// timeShared is the p50 of n SayHello calls on one connection, after a warm-up call.
func timeShared(ctx context.Context, t call.Target, n int) (time.Duration, error) {
	conn, err := call.Dial(t)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var took []time.Duration
	for i := range n + 1 {
		start := time.Now()
		if res := callOnce(ctx, conn); res.Code != codes.OK {
			return 0, fmt.Errorf("call %d: %s", i, resultLine(res))
		}
		if i > 0 {
			took = append(took, time.Since(start))
		}
	}
	return p50(took), nil
}

// timeFresh is the p50 of n SayHello calls, each dialling, calling and closing.
func timeFresh(ctx context.Context, t call.Target, n int) (time.Duration, error) {
	var took []time.Duration
	for i := range n {
		start := time.Now()
		conn, err := call.Dial(t)
		if err != nil {
			return 0, err
		}
		res := callOnce(ctx, conn)
		conn.Close()
		if res.Code != codes.OK {
			return 0, fmt.Errorf("call %d: %s", i, resultLine(res))
		}
		took = append(took, time.Since(start))
	}
	return p50(took), nil
}

func callOnce(ctx context.Context, conn *grpc.ClientConn) call.Result {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return call.Unary(ctx, conn, call.SayHello)
}

func p50(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
