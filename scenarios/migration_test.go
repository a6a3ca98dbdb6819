package scenarios

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/manifests/migrate"
	"github.com/grpclab/grpclab/scenarios/call"
)

// migrationVariant holds, with the ingress-nginx variant's fortune-ingress, the Ingresses a
// migration starts from: a canary pair written the ingress-nginx way.
const migrationVariant = "ingress-nginx/migration"

// migrationCase is one request of the migration table, sent to the Ingress entry point and to
// the Gateway serving the converted objects. ingress names the Ingress whose host it uses.
type migrationCase struct {
	name    string
	ingress string
	host    string // overrides the Ingress's host (an unknown one)
	method  string
	md      []string
	// want is what both entry points must answer: a code and an x-served-by prefix, or a
	// failed TLS handshake.
	code      codes.Code
	servedBy  string
	handshake bool
	// redirect: a plaintext HTTP/1.1 request, which must be answered with a redirect to
	// https://host; ingressStatus and gatewayStatus are each entry point's status code, and
	// why says why they differ.
	redirect                     bool
	ingressStatus, gatewayStatus int
	why                          string
}

var migrationCases = []migrationCase{
	{name: "fortune-ingress: SayHello reaches go-grpc-greeter-server", ingress: "fortune-ingress", method: sayHello, code: codes.OK, servedBy: "greeter-"},
	{name: "fortune-ingress: Login reaches it too (path / routes every method)", ingress: "fortune-ingress", method: login, md: alice, code: codes.OK, servedBy: "greeter-"},
	{name: "fortune-ingress: the interceptor's PermissionDenied passes unchanged", ingress: "fortune-ingress", method: deleteUser, md: alice, code: codes.PermissionDenied},
	{name: "bar-ingress: no canary header reaches bar-svc", ingress: "bar-ingress", method: sayHello, code: codes.OK, servedBy: "bar-stable-"},
	{name: "bar-ingress: env: canary reaches bar-svc-canary", ingress: "bar-ingress", method: sayHello, md: []string{"env", "canary"}, code: codes.OK, servedBy: "bar-canary-"},
	{name: "bar-ingress: env: Canary reaches bar-svc (the value is case-sensitive)", ingress: "bar-ingress", method: sayHello, md: []string{"env", "Canary"}, code: codes.OK, servedBy: "bar-stable-"},
	{name: "bar-ingress: env: stable reaches bar-svc", ingress: "bar-ingress", method: sayHello, md: []string{"env", "stable"}, code: codes.OK, servedBy: "bar-stable-"},
	{name: "an unknown host fails the TLS handshake", ingress: "fortune-ingress", host: "nope.dev.mydomain.com", method: sayHello, handshake: true},
	{name: "fortune-ingress: plaintext is redirected to https", ingress: "fortune-ingress", redirect: true,
		ingressStatus: http.StatusPermanentRedirect, gatewayStatus: http.StatusMovedPermanently,
		why: "inherent: ingress-nginx answers 308; the converted HTTPRoute says 301, the Core redirect status (308 is the extended HTTPRoute308RedirectStatusCode). gRPC clients never follow redirects, so no client sees it"},
}

// migration is the state one run of the scenario shares between its cases.
type migration struct {
	objs      []manifests.Object // the loaded manifests, the migration variant included
	converted []manifests.Object // what migrate.Convert made of them
	unable    string             // why the platform cannot run the comparison
	ingresses map[string]*networkingv1.Ingress
	gateway   *gatewayv1.Gateway

	mu   sync.Mutex
	rows []migrationRow
}

type migrationRow struct{ name, ingress, gateway, verdict string }

// TestMigration proves an Ingress → Gateway API migration: the article's fortune-ingress and a
// canary pair are served unchanged by the ingress controller and, converted by grpclab migrate
// (manifests/migrate), by a Gateway of their own, in the same run. Every request runs against
// both entry points; a case passes when both answer as expected, and the report puts the
// answers side by side. The last case breaks the conversion on purpose and must see a difference.
func TestMigration(t *testing.T) {
	m := &migration{}
	s := newScenario("migration", "migration")
	for _, c := range migrationCases {
		s.add(c.name, func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			m.need(t)
			in, gw, err := m.run(ctx, t, c)
			verdict := "same"
			switch {
			case err != nil:
				verdict = "**different**: " + err.Error()
			case c.why != "":
				verdict = "different, explained: " + c.why
			}
			m.record(migrationRow{c.name, in, gw, verdict})
			if err != nil {
				t.Fatal(err)
			}
			note("ingress: %s; gateway: %s", in, gw)
		})
	}
	s.add("a wrong mapping is caught: the canary and default rules with their backends swapped", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		m.need(t)
		broken, err := m.breakCanaryRule()
		if err != nil {
			t.Fatal(err)
		}
		if err := lab.platform.Apply(ctx, broken); err != nil {
			t.Fatalf("apply the broken conversion: %v", err)
		}
		defer func() {
			if err := lab.platform.Apply(ctx, m.converted); err != nil {
				t.Errorf("restore the conversion: %v", err)
			}
		}()
		c := migrationCases[3] // no canary header: bar-svc on the Ingress
		conn := lab.dial(t, m.gatewayTarget(ctx, t, c))
		// The comparison must see the difference, consistently, once the controller serves the
		// broken route.
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			r := call.Unary(ctx, conn, c.method, c.md...)
			if r.Expect(c.code, c.servedBy) == nil {
				return fmt.Errorf("%q: the broken conversion answers %s, like the Ingress", c.name, outcome(r))
			}
			note("the broken conversion answers %s; the Ingress: %s %s", outcome(r), c.code, c.servedBy)
			return nil
		})
	})
	testenv.Test(t, s.feature().Setup(m.setUp).Teardown(m.tearDown).Feature())
}

// setUp loads the migration variant over the defaults, converts its Ingresses and applies
// both: the Ingresses stay, the converted Gateway and routes come beside them.
func (m *migration) setUp(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	if _, ok := lab.platform.(cluster.GatewayListeners); !ok {
		m.unable = fmt.Sprintf("the %s platform does not tell where each Gateway listener answers (cluster.GatewayListeners), so the converted Gateway cannot be reached beside the article's", lab.platform.Name())
		return ctx
	}
	var err error
	if m.objs, err = manifests.Load(append(append([]string(nil), defaultVariants...), migrationVariant)); err != nil {
		t.Fatalf("setup: %v", err)
	}
	res, err := migrate.Convert(m.objs, migrate.Options{})
	if err != nil {
		t.Fatalf("setup: grpclab migrate: %v", err)
	}
	for _, w := range res.Warnings {
		t.Logf("grpclab migrate: warning: %s", w)
	}
	m.converted = res.Objects
	m.ingresses = map[string]*networkingv1.Ingress{}
	for _, ing := range manifests.Of[*networkingv1.Ingress](m.objs) {
		m.ingresses[ing.Name] = ing
	}
	if gws := manifests.Of[*gatewayv1.Gateway](m.converted); len(gws) == 1 {
		m.gateway = gws[0]
	} else {
		t.Fatalf("setup: grpclab migrate made %d Gateways, want 1", len(gws))
	}
	all := append(append([]manifests.Object(nil), m.objs...), m.converted...)
	if err := timed("apply the migration variant and its conversion", func() error { return lab.platform.Apply(ctx, all) }); err != nil {
		t.Fatalf("setup: %v", err)
	}
	return ctx
}

// tearDown deletes the migration variant and the converted objects, and puts the defaults
// back; the side-by-side table goes into the report.
func (m *migration) tearDown(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	if len(m.rows) > 0 {
		var b strings.Builder
		b.WriteString("The same requests to the Ingress (`" + migrationVariant + "` over `ingress-nginx`, served unchanged) and to the Gateway serving what `grpclab migrate` made of it.\n\n")
		b.WriteString("| case | Ingress | Gateway | |\n|---|---|---|---|\n")
		for _, r := range m.rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.name, r.ingress, r.gateway, r.verdict)
		}
		rec.AddSection("Migration: Ingress beside Gateway API", b.String())
	}
	if m.converted == nil {
		return ctx
	}
	defaults, err := manifests.Load(defaultVariants)
	if err != nil {
		t.Errorf("teardown: %v", err)
	}
	kept := map[string]bool{}
	for _, o := range defaults {
		kept[objectID(o)] = true
	}
	var extra []manifests.Object
	for _, o := range m.objs {
		if !kept[objectID(o)] {
			extra = append(extra, o)
		}
	}
	if err := lab.platform.Delete(ctx, append(extra, m.converted...)); err != nil {
		t.Errorf("teardown: %v", err)
	}
	return resetVariants(ctx, t, cfg)
}

func (m *migration) need(t *testing.T) {
	t.Helper()
	if m.unable != "" {
		skip(t, m.unable)
	}
	if m.converted == nil {
		t.Fatal("the setup did not convert the migration variant")
	}
}

func (m *migration) record(r migrationRow) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows = append(m.rows, r)
}

// host is the case's host: the first rule host of its Ingress unless the case names another.
func (m *migration) host(c migrationCase) (string, error) {
	if c.host != "" {
		return c.host, nil
	}
	ing, ok := m.ingresses[c.ingress]
	if !ok || len(ing.Spec.Rules) == 0 || ing.Spec.Rules[0].Host == "" {
		return "", fmt.Errorf("no Ingress %q with a rule host among the loaded manifests", c.ingress)
	}
	return ing.Spec.Rules[0].Host, nil
}

// listener is the converted Gateway's listener for host and protocol.
func (m *migration) listener(host string, protocol gatewayv1.ProtocolType) (string, error) {
	for _, l := range m.gateway.Spec.Listeners {
		if l.Protocol == protocol && l.Hostname != nil && string(*l.Hostname) == host {
			return string(l.Name), nil
		}
	}
	return "", fmt.Errorf("the converted Gateway %s/%s has no %s listener for %s", m.gateway.Namespace, m.gateway.Name, protocol, host)
}

// run sends the case to both entry points and returns what each answered; err says how an
// answer broke the expectation.
func (m *migration) run(ctx context.Context, t *testing.T, c migrationCase) (ingressSaw, gatewaySaw string, err error) {
	host, err := m.host(c)
	if err != nil {
		t.Fatal(err)
	}
	if c.redirect {
		gwAddr := m.listenerAddress(ctx, t, host, gatewayv1.HTTPProtocolType)
		ingressSaw, errIn := m.redirect(ctx, lab.ep.IngressHTTP.Address, host, c.ingressStatus)
		gatewaySaw, errGw := m.redirect(ctx, gwAddr, host, c.gatewayStatus)
		return ingressSaw, gatewaySaw, errors.Join(prefixed("Ingress", errIn), prefixed("Gateway", errGw))
	}
	ingressSaw, errIn := m.unary(ctx, t, lab.target(ingress, host), c)
	gatewaySaw, errGw := m.unary(ctx, t, m.gatewayTarget(ctx, t, c), c)
	return ingressSaw, gatewaySaw, errors.Join(prefixed("Ingress", errIn), prefixed("Gateway", errGw))
}

// gatewayTarget is the converted Gateway's HTTPS listener for the case's Ingress host (an
// unknown host is sent there too, to be refused), dialled as the case's host.
func (m *migration) gatewayTarget(ctx context.Context, t *testing.T, c migrationCase) call.Target {
	host, err := m.host(c)
	if err != nil {
		t.Fatal(err)
	}
	listenerHost, err := m.host(migrationCase{ingress: c.ingress})
	if err != nil {
		t.Fatal(err)
	}
	return call.Target{Address: m.listenerAddress(ctx, t, listenerHost, gatewayv1.HTTPSProtocolType), Host: host, CAFile: lab.ep.CAFile}
}

// listenerAddress is where the converted Gateway's listener for host and protocol answers;
// the case is skipped, saying why, where the platform cannot reach it from here.
func (m *migration) listenerAddress(ctx context.Context, t *testing.T, host string, protocol gatewayv1.ProtocolType) string {
	name, err := m.listener(host, protocol)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := lab.platform.(cluster.GatewayListeners).ListenerAddress(ctx, m.gateway.Namespace, m.gateway.Name, name)
	if errors.Is(err, cluster.ErrUnreachable) {
		skip(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func prefixed(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// unary calls until the expectation holds Timeouts.Consecutive times in a row, or until
// Timeouts.Max; it returns the last answer and the last mismatch.
func (m *migration) unary(ctx context.Context, t *testing.T, target call.Target, c migrationCase) (string, error) {
	conn := lab.dial(t, target)
	var saw string
	err := lab.until(ctx, func(ctx context.Context) error {
		r := call.Unary(ctx, conn, c.method, c.md...)
		saw = outcome(r)
		if c.handshake {
			return r.ExpectHandshakeFailure()
		}
		return r.Expect(c.code, c.servedBy)
	})
	return saw, err
}

// outcome is an answer as the table shows it: the code, and the Deployment that served it
// (the pod name without its replica suffix).
func outcome(r call.Result) string {
	if r.HandshakeFailed() {
		return "TLS handshake failed"
	}
	s := r.Code.String()
	if r.ServedBy != "" {
		if i := strings.LastIndexByte(r.ServedBy, '-'); i > 0 {
			s += " from " + r.ServedBy[:i]
		} else {
			s += " from " + r.ServedBy
		}
	}
	return s
}

// redirect posts a gRPC request over plaintext HTTP/1.1 and wants status with a Location
// on https://host.
func (m *migration) redirect(ctx context.Context, addr, host string, status int) (string, error) {
	var saw string
	err := lab.until(ctx, func(ctx context.Context) error {
		code, loc, err := plaintextPost(ctx, addr, host)
		if err != nil {
			saw = err.Error()
			return err
		}
		saw = fmt.Sprintf("%d → %s", code, loc)
		if code != status || !strings.HasPrefix(loc, "https://"+host) {
			return fmt.Errorf("got %s, want %d to https://%s", saw, status, host)
		}
		return nil
	})
	return saw, err
}

// breakCanaryRule is the conversion with a deliberately wrong mapping: the canary Ingress's
// header rule and the main Ingress's default rule swap backends, so a call without the
// header reaches the canary.
func (m *migration) breakCanaryRule() ([]manifests.Object, error) {
	for _, o := range m.converted {
		r, ok := o.Object.(*gatewayv1.GRPCRoute)
		if !ok || r.Name != "bar-ingress" {
			continue
		}
		r = r.DeepCopy()
		if len(r.Spec.Rules) != 2 {
			return nil, fmt.Errorf("GRPCRoute %s/%s has %d rules, want the canary's header rule and the default one", r.Namespace, r.Name, len(r.Spec.Rules))
		}
		r.Spec.Rules[0].BackendRefs, r.Spec.Rules[1].BackendRefs = r.Spec.Rules[1].BackendRefs, r.Spec.Rules[0].BackendRefs
		o.Object = r
		return []manifests.Object{o}, nil
	}
	return nil, errors.New("no converted GRPCRoute bar-ingress")
}

func objectID(o manifests.Object) string {
	return o.GetObjectKind().GroupVersionKind().GroupKind().String() + " " + o.GetNamespace() + "/" + o.GetName()
}
