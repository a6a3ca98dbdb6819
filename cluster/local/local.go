// Package local is the platform without Docker: each Deployment of the server image runs as
// local grpclab-server processes on 127.0.0.1, and the Gateway listeners, GRPCRoutes and
// Ingresses are rendered into one real nginx (see cluster/local/controller). NetworkPolicy is
// enforced only in the data planes it starts for the isolation suite (cluster.PolicyLab, in
// cluster/local/netns). Every process it starts or stops goes through one supervisor,
// cluster/local/proc.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/certs"
	"github.com/grpclab/grpclab/cluster/local/controller"
	"github.com/grpclab/grpclab/cluster/local/netns"
	"github.com/grpclab/grpclab/gatewayapi"
	"github.com/grpclab/grpclab/manifests"
)

// DefaultIdleTimeout is the emulated proxies' idle (read/send) timeout. Real ingress-nginx
// waits 60s; the emulator waits 2s so that the long-lived-stream suite proves the cut in
// seconds. Ingress timeout annotations override it exactly as they do on a cluster.
const DefaultIdleTimeout = 2 * time.Second

// IngressClass is the Ingress class the emulated ingress controller owns.
const IngressClass = "nginx"

// Platform is the local platform. Its methods are safe for concurrent use.
type Platform struct {
	dir         string // state directory: state.json, logs, certificates, nginx prefix
	serverBin   string
	serverErr   error // why there is no serverBin: Up fails with it
	idleTimeout time.Duration
	log         *slog.Logger

	mu      sync.Mutex
	st      *state
	objects map[objectKey]manifests.Object
	caFile  string
	ca      *certs.CA
	certs   map[string]controller.CertFiles
	notes   []string // what the last apply did not emulate, for status and reports
	planes  []*netns.Plane
}

type objectKey struct {
	gk              schema.GroupKind
	namespace, name string
}

// Option configures a Platform.
type Option func(*Platform) error

// WithServerBinary runs path for every emulated pod (default: grpclab-server next to the
// running executable, else on PATH).
func WithServerBinary(path string) Option {
	return func(p *Platform) error {
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("server binary %s: %w", path, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("server binary: %w", err)
		}
		p.serverBin = abs
		return nil
	}
}

// WithIdleTimeout sets the proxies' default idle timeout.
func WithIdleTimeout(d time.Duration) Option {
	return func(p *Platform) error {
		if d <= 0 {
			return fmt.Errorf("idle timeout %s: must be positive", d)
		}
		p.idleTimeout = d
		return nil
	}
}

// WithLogger makes the platform report its steps; it is silent otherwise.
func WithLogger(l *slog.Logger) Option {
	return func(p *Platform) error { p.log = l; return nil }
}

// New returns the local platform keeping its state in dir (for example .grpclab/local).
func New(dir string, opts ...Option) (*Platform, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local platform state dir %s: %w", dir, err)
	}
	p := &Platform{
		dir:         abs,
		idleTimeout: DefaultIdleTimeout,
		log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		objects:     map[objectKey]manifests.Object{},
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	if p.serverBin == "" {
		// A platform built to inspect or take down saved state runs no server: only Up needs
		// one, and fails with this error when there is none.
		p.serverBin, p.serverErr = findServer()
	}
	return p, nil
}

func findServer() (string, error) {
	if exe, err := os.Executable(); err == nil {
		cand := filepath.Join(filepath.Dir(exe), "grpclab-server")
		if _, err := os.Stat(cand); err == nil {
			return cand, nil
		}
	}
	bin, err := exec.LookPath("grpclab-server")
	if err != nil {
		return "", errors.New("grpclab-server not found next to grpclab nor on PATH: run `make build`")
	}
	return bin, nil
}

var (
	_ cluster.Platform         = (*Platform)(nil)
	_ cluster.GatewayListeners = (*Platform)(nil)
	_ cluster.Runner           = (*Platform)(nil)
	_ cluster.PodReporter      = (*Platform)(nil)
)

func (p *Platform) Name() string { return "local" }

// ServerBinary is the grpclab-server the platform runs, for data planes beside it (the
// isolation namespaces) that run the same server.
func (p *Platform) ServerBinary() string { return p.serverBin }

// ErrAlreadyUp says a platform already runs from this state directory.
var ErrAlreadyUp = cluster.ErrAlreadyUp

// Running reports whether a platform started from the same state directory, in this process
// or another, still has processes alive.
func (p *Platform) Running(context.Context) (bool, error) { return running(p.dir) }

// running reports whether a platform started from dir still has processes alive.
func running(dir string) (bool, error) {
	st, err := readState(dir)
	if err != nil || st == nil {
		return false, err
	}
	if controller.PID(dir) > 0 {
		return true, nil
	}
	for _, pr := range st.Processes {
		if alive(pr.PID, pr.Binary) {
			return true, nil
		}
	}
	return false, nil
}

// Up prepares the state directory, picks the entry points' ports and starts nginx with no
// routes. It fails with ErrAlreadyUp when a platform runs from the same directory.
func (p *Platform) Up(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// First: a failed Up is taken down, which must never stop a platform that already runs.
	up, err := running(p.dir)
	if err != nil {
		return err
	}
	if up {
		return fmt.Errorf("%w: the local platform runs from %s: run `grpclab down` first", ErrAlreadyUp, p.dir)
	}
	if _, err := exec.LookPath("nginx"); err != nil {
		return errors.New("nginx not found on PATH: install Debian's nginx (apt-get install nginx)")
	}
	if p.serverErr != nil {
		return p.serverErr
	}
	// Leftovers of a crashed run hold nothing alive; start clean.
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("clean %s: %w", p.dir, err)
	}
	for _, d := range []string{p.dir, filepath.Join(p.dir, "logs"), filepath.Join(p.dir, "certs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	p.st = &state{Ingress: ports[0], IngressHTTP: ports[1], Admin: ports[2], Listeners: map[string]string{}}
	ca, err := certs.NewCA()
	if err != nil {
		return fmt.Errorf("local platform CA: %w", err)
	}
	p.ca = ca
	p.caFile = filepath.Join(p.dir, "certs", certs.CAFile)
	if err := os.WriteFile(p.caFile, ca.CertPEM, 0o644); err != nil {
		return fmt.Errorf("write CA: %w", err)
	}
	if err := p.st.write(p.dir); err != nil {
		return err
	}
	start := time.Now()
	cfg, err := p.render()
	if err != nil {
		return err
	}
	if err := controller.Start(ctx, p.dir, cfg); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	p.log.Info("nginx up", "ingress", p.st.Ingress, "duration", time.Since(start).Round(time.Millisecond))
	return p.st.write(p.dir)
}

// freePorts reserves n loopback ports by listening on port 0; they are released before
// nginx binds them, a window no other grpclab user races in practice.
func freePorts(n int) ([]string, error) {
	var out []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

func keyOf(o manifests.Object) objectKey {
	return objectKey{o.GetObjectKind().GroupVersionKind().GroupKind(), o.GetNamespace(), o.GetName()}
}

// Apply records the objects (replacing any with the same kind, namespace and name), then
// brings processes and nginx to match.
func (p *Platform) Apply(ctx context.Context, objs []manifests.Object) error {
	return p.change(ctx, "apply", objs, func(o manifests.Object) { p.objects[keyOf(o)] = o })
}

// Delete forgets the objects and brings processes and nginx to match.
func (p *Platform) Delete(ctx context.Context, objs []manifests.Object) error {
	return p.change(ctx, "delete", objs, func(o manifests.Object) { delete(p.objects, keyOf(o)) })
}

// change edits the recorded objects one by one under the lock, then reconciles; op names
// the call in the error when the platform is not up.
func (p *Platform) change(ctx context.Context, op string, objs []manifests.Object, edit func(manifests.Object)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st == nil {
		return fmt.Errorf("%s: the local platform is not up", op)
	}
	for _, o := range objs {
		edit(o)
	}
	return p.reconcile(ctx)
}

// sorted returns the recorded objects of type T in namespace/name order.
func sorted[T interface {
	GetNamespace() string
	GetName() string
}](p *Platform) []T {
	var out []T
	for _, o := range p.objects {
		if t, ok := o.Object.(T); ok {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GetNamespace() != out[j].GetNamespace() {
			return out[i].GetNamespace() < out[j].GetNamespace()
		}
		return out[i].GetName() < out[j].GetName()
	})
	return out
}

func (p *Platform) reconcile(ctx context.Context) error {
	p.notes = nil
	if err := p.reconcilePods(ctx); err != nil {
		return err
	}
	if err := p.writeCerts(); err != nil {
		return err
	}
	cfg, err := p.render()
	if err != nil {
		return err
	}
	for _, d := range cfg.Diagnostics {
		p.notes = append(p.notes, d.String())
		p.log.Warn("not accepted", "detail", d.String())
	}
	return p.reload(ctx, cfg)
}

// reload installs a rendered configuration and records the state.
func (p *Platform) reload(ctx context.Context, cfg *controller.Config) error {
	start := time.Now()
	if err := controller.Reload(ctx, p.dir, cfg); err != nil {
		return fmt.Errorf("reload nginx: %w", err)
	}
	p.log.Info("nginx reloaded", "generation", p.st.Generation, "duration", time.Since(start).Round(time.Millisecond))
	return p.st.write(p.dir)
}

// reconcilePods starts the replicas of new or changed Deployments and stops the rest.
func (p *Platform) reconcilePods(ctx context.Context) error {
	want := map[string]*podTemplate{} // pod name → template
	var tmpls []*podTemplate
	for _, d := range sorted[*appsv1.Deployment](p) {
		t, err := templateOf(d)
		if err != nil {
			p.notes = append(p.notes, "not emulated: "+err.Error())
			continue
		}
		tmpls = append(tmpls, t)
		for i := range t.replicas {
			want[t.namespace+"/"+t.podName(i)] = t
		}
	}
	// Stop what is no longer wanted or was started from another template.
	var keep []process
	for _, pr := range p.st.Processes {
		t, ok := want[pr.Namespace+"/"+pr.Pod]
		if ok && t.hash() == pr.Spec && alive(pr.PID, pr.Binary) {
			keep = append(keep, pr)
			continue
		}
		if err := stop(ctx, pr.PID, pr.Binary); err != nil {
			return err
		}
	}
	p.st.Processes = keep
	running := map[string]bool{}
	for _, pr := range keep {
		running[pr.Namespace+"/"+pr.Pod] = true
	}
	// Start the missing replicas: state first, so a crash leaves nothing unrecorded.
	var started []int
	for _, t := range tmpls {
		for i := range t.replicas {
			pod := t.podName(i)
			if running[t.namespace+"/"+pod] {
				continue
			}
			pr, err := p.launch(t, i, logPath(p.dir, t.namespace+"_"+pod))
			if err != nil {
				return err
			}
			p.st.Processes = append(p.st.Processes, pr)
			started = append(started, len(p.st.Processes)-1)
			if err := p.st.write(p.dir); err != nil {
				return err
			}
		}
	}
	if len(started) == 0 {
		return nil
	}
	begin := time.Now()
	errs := make([]error, len(started))
	var wg sync.WaitGroup
	for i, idx := range started {
		wg.Go(func() { errs[i] = waitReady(ctx, &p.st.Processes[idx]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = p.st.write(p.dir)
		return err
	}
	p.log.Info("pods ready", "started", len(started), "duration", time.Since(begin).Round(time.Millisecond))
	return p.st.write(p.dir)
}

// launch starts replica i of t, its output in log; the caller records it in the state, then
// waits for it.
func (p *Platform) launch(t *podTemplate, i int, log string) (process, error) {
	pod := t.podName(i)
	args, env, err := t.command(i, p.dir)
	if err != nil {
		return process{}, err
	}
	pr := process{Namespace: t.namespace, Deployment: t.deployment, Pod: pod, Spec: t.hash(), Log: log}
	if err := start(p.serverBin, &pr, args, env); err != nil {
		return process{}, err
	}
	return pr, nil
}

// writeCerts issues a certificate, signed by the platform's CA, for every TLS Secret the
// recorded objects reference.
func (p *Platform) writeCerts() error {
	objs := make([]manifests.Object, 0, len(p.objects))
	for _, o := range p.objects {
		objs = append(objs, o)
	}
	b, err := certs.GenerateWithCA(p.ca, objs)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	paths, err := b.WriteFiles(filepath.Join(p.dir, "certs"))
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	p.certs = map[string]controller.CertFiles{}
	for k, v := range paths {
		p.certs[k] = controller.CertFiles{CertFile: v.CertFile, KeyFile: v.KeyFile}
	}
	return nil
}

// render builds the nginx configuration for the recorded objects.
func (p *Platform) render() (*controller.Config, error) {
	in := controller.Input{
		// Every object, so that the model sees the ReferenceGrants and Namespaces too.
		Objects:       gatewayapi.Collect(sorted[client.Object](p)),
		Ingresses:     sorted[*networkingv1.Ingress](p),
		Endpoints:     p.endpoints(),
		Certs:         p.certs,
		GatewayListen: map[string]string{},
		IngressClass:  IngressClass,
		IngressHTTPS:  p.st.Ingress,
		IngressHTTP:   p.st.IngressHTTP,
		IdleTimeout:   p.idleTimeout,
		StateDir:      p.dir,
		AdminListen:   p.st.Admin,
	}
	// Each Gateway listener keeps the loopback port it was first given.
	for _, gw := range in.Gateways {
		for _, l := range gw.Spec.Listeners {
			k := gw.Namespace + "/" + gw.Name + "/" + string(l.Name)
			if _, ok := p.st.Listeners[k]; !ok {
				ports, err := freePorts(1)
				if err != nil {
					return nil, err
				}
				p.st.Listeners[k] = ports[0]
			}
			in.GatewayListen[k] = p.st.Listeners[k]
		}
	}
	for _, cm := range sorted[*corev1.ConfigMap](p) {
		if !manifests.IsIngressNginxConfigMap(cm) {
			continue
		}
		r, fes := manifests.ParseIngressNginxRecycling(cm)
		if err := fes.ToAggregate(); err != nil {
			return nil, fmt.Errorf("ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
		}
		in.IngressRecycling = controller.Recycling{
			Requests: r.KeepAliveRequests, Idle: r.KeepAlive,
			UpstreamConnections: r.UpstreamKeepaliveConnections, UpstreamRequests: r.UpstreamKeepaliveRequests,
			UpstreamMaxAge: r.UpstreamKeepaliveTime, UpstreamIdle: r.UpstreamKeepaliveTimeout,
		}
		if len(r.Ignored) > 0 {
			p.notes = append(p.notes, fmt.Sprintf("not emulated: ConfigMap %s/%s keys %s (the local ingress controller honours only its connection-recycling keys)", cm.Namespace, cm.Name, strings.Join(r.Ignored, ", ")))
		}
	}
	p.st.Generation++
	in.Generation = p.st.Generation
	cfg, err := controller.Render(in)
	if err != nil {
		return nil, fmt.Errorf("render nginx configuration: %w", err)
	}
	return cfg, nil
}

// endpoints lists the ready replica addresses behind every Service port.
func (p *Platform) endpoints() map[string][]string {
	byDeployment := map[string][]string{}
	for _, pr := range p.st.Processes {
		if pr.Addr != "" {
			k := pr.Namespace + "/" + pr.Deployment
			byDeployment[k] = append(byDeployment[k], pr.Addr)
		}
	}
	out := map[string][]string{}
	deps := sorted[*appsv1.Deployment](p)
	for _, svc := range sorted[*corev1.Service](p) {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, sp := range svc.Spec.Ports {
			var addrs []string
			for _, d := range deps {
				if d.Namespace != svc.Namespace {
					continue
				}
				t, err := templateOf(d)
				if err != nil || !sel.Matches(labels.Set(t.labels)) {
					continue
				}
				target, number := sp.TargetPort.StrVal, sp.TargetPort.IntVal
				if target == "" && number == 0 {
					number = sp.Port
				}
				if t.serves(target, number) {
					addrs = append(addrs, byDeployment[d.Namespace+"/"+d.Name]...)
				}
			}
			sort.Strings(addrs)
			out[controller.EndpointKey(svc.Namespace, svc.Name, sp.Port)] = addrs
		}
	}
	return out
}

// Endpoints tells clients where the entry points listen: the first listener of the first
// Gateway (namespace/name order) and the emulated ingress controller.
func (p *Platform) Endpoints() cluster.Endpoints {
	p.mu.Lock()
	defer p.mu.Unlock()
	ep := cluster.Endpoints{CAFile: p.caFile, IdleTimeout: cluster.Duration{Duration: p.idleTimeout}}
	if p.st == nil {
		return ep
	}
	ep.Ingress.Address = p.st.Ingress
	ep.IngressHTTP.Address = p.st.IngressHTTP
	for _, gw := range sorted[*gatewayv1.Gateway](p) {
		for _, l := range gw.Spec.Listeners {
			if addr := p.st.Listeners[gw.Namespace+"/"+gw.Name+"/"+string(l.Name)]; addr != "" {
				ep.Gateway.Address = addr
				return ep
			}
		}
	}
	return ep
}

// ListenerAddress is the local address of a Gateway listener the last apply rendered.
func (p *Platform) ListenerAddress(_ context.Context, namespace, gateway, listener string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st == nil {
		return "", errors.New("the local platform is not up")
	}
	addr := p.st.Listeners[namespace+"/"+gateway+"/"+listener]
	if addr == "" {
		return "", fmt.Errorf("Gateway %s/%s has no listener %q applied here", namespace, gateway, listener)
	}
	return addr, nil
}

// Backends returns the replica addresses behind a Service port.
func (p *Platform) Backends(_ context.Context, namespace, service string, port int32) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st == nil {
		return nil, errors.New("backends: the local platform is not up")
	}
	addrs, ok := p.endpoints()[controller.EndpointKey(namespace, service, port)]
	if !ok {
		return nil, fmt.Errorf("backends: no Service %s/%s with port %d", namespace, service, port)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("backends: Service %s/%s port %d has no ready pods", namespace, service, port)
	}
	return addrs, nil
}

// Notes lists what the last apply did not emulate or accept.
func (p *Platform) Notes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.notes...)
}

// Versions names what runs: nginx's version as the binary reports it.
func (p *Platform) Versions() map[string]string {
	v := map[string]string{"platform": "local", "gateway": "nginx (emulated controller)"}
	if out, err := exec.Command("nginx", "-v").CombinedOutput(); err == nil {
		v["nginx"] = strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: ")
	}
	return v
}

// Limits lists the cases the local platform cannot emulate; suites report them as skipped.
func (p *Platform) Limits() []cluster.Limit {
	return []cluster.Limit{{
		Scenario: "isolation", Case: "cluster data plane (the platform's NetworkPolicy enforcer)",
		Reason: "no CNI between the platform's loopback processes; the isolation suite enforces the same policies in its own network namespaces with nftables instead",
	}}
}

// Down stops nginx and every process a platform started from the same state directory, from
// the state on disk (also one another process started, or one that crashed half way through
// `up`), and removes the state directory.
func (p *Platform) Down(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := errors.Join(p.closePlanes(), down(ctx, p.dir))
	p.st = nil
	p.objects = map[objectKey]manifests.Object{}
	return err
}

func down(ctx context.Context, dir string) error {
	st, err := readState(dir)
	if err != nil {
		return err
	}
	var errs []error
	if err := controller.Stop(ctx, dir); err != nil {
		errs = append(errs, fmt.Errorf("stop nginx: %w", err))
	}
	known := map[int]bool{}
	if st != nil {
		var wg sync.WaitGroup
		perr := make([]error, len(st.Processes))
		for i, pr := range st.Processes {
			known[pr.PID] = true
			wg.Go(func() { perr[i] = stop(ctx, pr.PID, pr.Binary) })
		}
		wg.Wait()
		errs = append(errs, perr...)
	}
	// A process started just before a crash may never have reached the state file.
	errs = append(errs, stopStrays(ctx, dir, known))
	if err := errors.Join(errs...); err != nil {
		return err // keep the state: a second `down` can retry
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}
