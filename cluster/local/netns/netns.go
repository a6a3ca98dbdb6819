// Package netns is the local platform's NetworkPolicy data plane: every workload in its own
// network namespace, wired to one "node" namespace that routes between them and enforces the
// policies with nftables, as Calico does on a real node.
//
// Topology (the Calico model, routed rather than bridged): each workload namespace has eth0
// with its IP as a /32 and an on-link default route; the other end of the veth sits in the
// node namespace with a /32 route to that IP and proxy ARP, so the node answers ARP for every
// address and forwards, and its inet forward chain sees each packet with the source and
// destination interfaces known. Routing instead of a bridge keeps filtering in the plain
// inet forward hook (no br_netfilter, no bridge-family conntrack questions).
//
// Its servers, probes and tools run under the local platform's supervisor (cluster/local/proc).
// Everything lives in namespaces named "<prefix>-…" that this package creates; veths are
// created directly inside them, so the host's interfaces, routes and nftables are never
// touched. Root is required; without it every entry point returns an error wrapping
// ErrNeedsRoot.
package netns

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/cluster/local/proc"
	"github.com/grpclab/grpclab/netpol"
)

// BasePrefix starts every name this package creates.
const BasePrefix = "glab-"

// ErrNeedsRoot is wrapped by every error caused by missing privileges or tools.
var ErrNeedsRoot = errors.New("needs root")

// nodeAddr is the node namespace's address; link-local, so no workload plan collides with it.
const nodeAddr = "169.254.1.1"

// ownerDir holds one file per live run naming its process, so CleanupStale can tell a
// crashed run from one still going.
var ownerDir = "/run/grpclab-netns"

// Available reports why the data plane cannot run here, or nil.
func Available() error {
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Errorf("%w: network namespaces and nftables need CAP_NET_ADMIN, running as uid %d", ErrNeedsRoot, uid)
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s not found (apt-get install iproute2 nftables): %w", ErrNeedsRoot, tool, err)
		}
	}
	return nil
}

// Config describes one data plane.
type Config struct {
	// Prefix names everything; empty picks BasePrefix plus 6 random hex digits.
	Prefix string
	// Server is the grpclab-server binary run in every workload, once per port.
	Server string
	// Workloads are the pods and external hosts; IPv4 only.
	Workloads []netpol.Workload
	// Log receives one line per step; nil is silent.
	Log *slog.Logger
}

// Plane is a running data plane. Close it.
type Plane struct {
	prefix    string
	server    string
	workloads []netpol.Workload
	ns        map[string]string // workload name -> namespace
	ifaces    map[string]string // workload name -> interface in the node namespace
	procs     []*server
	log       *slog.Logger
}

// server is one grpclab-server process and what it said on stderr.
type server struct {
	*proc.Child
	stderr *bytes.Buffer
}

// Start builds the namespaces, starts a server on every workload port and waits until each
// answers from the node namespace. On failure it removes what it made.
func Start(ctx context.Context, cfg Config) (_ *Plane, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if cfg.Server == "" {
		return nil, errors.New("start data plane: config.Server: no grpclab-server binary given")
	}
	if _, err := os.Stat(cfg.Server); err != nil {
		return nil, fmt.Errorf("start data plane: config.Server: %w", err)
	}
	if _, err := netpol.NewModel(nil, cfg.Workloads); err != nil {
		return nil, fmt.Errorf("start data plane: %w", err)
	}
	prefix := cfg.Prefix
	if prefix == "" {
		b := make([]byte, 3)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("start data plane: random prefix: %w", err)
		}
		prefix = BasePrefix + hex.EncodeToString(b)
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("start data plane: config.Prefix: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Plane{
		prefix: prefix, server: cfg.Server, workloads: append([]netpol.Workload(nil), cfg.Workloads...),
		ns: map[string]string{}, ifaces: map[string]string{}, log: log,
	}
	defer func() {
		if err != nil {
			if cerr := p.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
	}()
	for i, w := range p.workloads {
		if !w.IP.Is4() {
			return nil, fmt.Errorf("start data plane: workload %q: ip %s: IPv4 only", w.Name, w.IP)
		}
		for j, port := range w.Ports {
			if port.Protocol != "" && port.Protocol != "TCP" {
				return nil, fmt.Errorf("start data plane: workload %q: ports[%d]: protocol %s: only TCP ports are served and probed", w.Name, j, port.Protocol)
			}
		}
		p.ns[w.Name] = fmt.Sprintf("%s-w%d", prefix, i)
		p.ifaces[w.Name] = fmt.Sprintf("glv%d", i)
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"record owner", p.recordOwner},
		{"create node namespace", p.createNode},
		{"create workload namespaces", p.createWorkloads},
		{"program empty policy table", func(ctx context.Context) error { return p.Apply(ctx, nil) }},
		{"start servers", p.startServers},
		{"wait for servers", p.waitServers},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.fn(ctx); err != nil {
			return nil, fmt.Errorf("start data plane %s: %s: %w", prefix, s.name, err)
		}
		log.Info("data plane", "step", s.name, "prefix", prefix, "took", time.Since(start).Round(time.Millisecond))
	}
	return p, nil
}

// Prefix is the name prefix of this plane.
func (p *Plane) Prefix() string { return p.prefix }

// Namespace is the network namespace of a workload, for "ip netns exec".
func (p *Plane) Namespace(workload string) (string, error) {
	ns, ok := p.ns[workload]
	if !ok {
		return "", fmt.Errorf("namespace: unknown workload %q", workload)
	}
	return ns, nil
}

func (p *Plane) node() string { return p.prefix + "-node" }

// Command returns a command that runs inside the workload's namespace.
func (p *Plane) Command(ctx context.Context, workload, name string, args ...string) (*exec.Cmd, error) {
	ns, err := p.Namespace(workload)
	if err != nil {
		return nil, err
	}
	return proc.CommandContext(ctx, toolGrace, "ip", append([]string{"netns", "exec", ns, name}, args...)...), nil
}

// Apply replaces the node's policy table with the rendering of policies, atomically.
func (p *Plane) Apply(ctx context.Context, policies []*networkingv1.NetworkPolicy) error {
	rules, err := Render(p.prefix, p.workloads, p.ifaces, policies)
	if err != nil {
		return fmt.Errorf("apply policies: %w", err)
	}
	cmd := proc.CommandContext(ctx, toolGrace, "ip", "netns", "exec", p.node(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apply policies: nft -f: %w: %s\nruleset:\n%s", err, bytes.TrimSpace(out), rules)
	}
	return nil
}

// Ruleset returns the node's live nftables table, for logs.
func (p *Plane) Ruleset(ctx context.Context) (string, error) {
	out, err := run(ctx, "ip", "netns", "exec", p.node(), "nft", "list", "table", "inet", p.prefix)
	if err != nil {
		return "", fmt.Errorf("ruleset: %w", err)
	}
	return out, nil
}

func (p *Plane) recordOwner(context.Context) error {
	if err := os.MkdirAll(ownerDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(ownerDir, p.prefix), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

func (p *Plane) createNode(ctx context.Context) error {
	n := p.node()
	if _, err := run(ctx, "ip", "netns", "add", n); err != nil {
		return err
	}
	if _, err := run(ctx, "ip", "-n", n, "link", "set", "lo", "up"); err != nil {
		return err
	}
	// The node's own address, the source of its readiness probes (Calico nodes have one too).
	if _, err := run(ctx, "ip", "-n", n, "addr", "add", nodeAddr+"/32", "dev", "lo"); err != nil {
		return err
	}
	_, err := run(ctx, "ip", "netns", "exec", n, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	return err
}

func (p *Plane) createWorkloads(ctx context.Context) error {
	n := p.node()
	var sysctls []string
	for _, w := range p.workloads {
		ns, iface, ip := p.ns[w.Name], p.ifaces[w.Name], w.IP.String()
		cmds := [][]string{
			{"ip", "netns", "add", ns},
			// Created directly in the two namespaces: the host never sees the pair.
			{"ip", "link", "add", iface, "netns", n, "type", "veth", "peer", "name", "eth0", "netns", ns},
			{"ip", "-n", ns, "link", "set", "lo", "up"},
			{"ip", "-n", ns, "addr", "add", ip + "/32", "dev", "eth0"},
			{"ip", "-n", ns, "link", "set", "eth0", "up"},
			{"ip", "-n", ns, "route", "add", "default", "dev", "eth0", "scope", "link"},
			{"ip", "-n", n, "link", "set", iface, "up"},
			{"ip", "-n", n, "route", "add", ip + "/32", "dev", iface, "src", nodeAddr},
		}
		for _, c := range cmds {
			if _, err := run(ctx, c[0], c[1:]...); err != nil {
				return fmt.Errorf("workload %q: %w", w.Name, err)
			}
		}
		// Proxy ARP without its default random delay (up to 0.8 s), as Calico sets it.
		sysctls = append(sysctls, "net.ipv4.conf."+iface+".proxy_arp=1", "net.ipv4.neigh."+iface+".proxy_delay=0")
	}
	_, err := run(ctx, "ip", append([]string{"netns", "exec", n, "sysctl", "-qw"}, sysctls...)...)
	return err
}

func (p *Plane) startServers(context.Context) error {
	for _, w := range p.workloads {
		for _, port := range w.Ports {
			// Not tied to the Start context: servers live until Close.
			cmd := exec.Command("ip", "netns", "exec", p.ns[w.Name], p.server,
				"--addr", fmt.Sprintf(":%d", port.Port), "--name", w.Name, "--log-level", "warn")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			stderr := &bytes.Buffer{}
			cmd.Stderr = stderr
			c, err := proc.Start(cmd)
			if err != nil {
				return fmt.Errorf("workload %q port %d: %w", w.Name, port.Port, err)
			}
			p.procs = append(p.procs, &server{Child: c, stderr: stderr})
		}
	}
	return nil
}

// waitServers probes every port from the node namespace, where the forward chain does not
// apply, until all accept connections.
func (p *Plane) waitServers(ctx context.Context) error {
	targets := netpol.Targets(p.workloads)
	addrs := make([]string, 0, len(targets))
	for _, t := range targets {
		addrs = append(addrs, p.addr(t))
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var last []string
	for {
		for _, s := range p.procs {
			select {
			case <-s.Done():
				return fmt.Errorf("server %v exited: %v: %s", s.Args(), s.Err(), strings.TrimSpace(s.stderr.String()))
			default:
			}
		}
		res, err := p.probeFrom(ctx, p.node(), addrs, 300*time.Millisecond)
		if err == nil {
			last = last[:0]
			for _, r := range res {
				if r.TCP != "allow" || r.GRPC != "SERVING" {
					last = append(last, r.Target+" ("+r.Detail+")")
				}
			}
			if len(last) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("servers not ready after 15s: %v (last probe error: %v)", last, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (p *Plane) addr(t netpol.Target) string {
	for _, w := range p.workloads {
		if w.Name == t.Workload {
			return fmt.Sprintf("%s:%d", w.IP, t.Port)
		}
	}
	return ""
}

// Close stops the servers and removes every namespace of this plane; it fails naming
// whatever it finds left behind. Closing twice is harmless.
func (p *Plane) Close() error {
	var errs []error
	for _, s := range p.procs {
		// The whole process group: "ip netns exec" execs the server, but be safe. Nothing on
		// these servers needs to drain.
		if err := s.Stop(context.Background(), []proc.Step{{Signal: syscall.SIGKILL, Group: true, Wait: 5 * time.Second}}); err != nil {
			errs = append(errs, fmt.Errorf("close: %w", err))
		}
	}
	p.procs = nil
	if err := Cleanup(p.prefix); err != nil {
		errs = append(errs, err)
	}
	if left, err := Leftovers(p.prefix); err != nil {
		errs = append(errs, err)
	} else if len(left) > 0 {
		errs = append(errs, fmt.Errorf("close: left behind: %s", strings.Join(left, ", ")))
	}
	return errors.Join(errs...)
}

func checkPrefix(prefix string) error {
	if !strings.HasPrefix(prefix, BasePrefix) || len(prefix) <= len(BasePrefix) {
		return fmt.Errorf("%q must start with %q and name a run", prefix, BasePrefix)
	}
	for _, r := range prefix {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("%q: only lower-case letters, digits and '-'", prefix)
		}
	}
	return nil
}

// Cleanup removes every namespace named prefix*, killing the processes inside first (a
// namespace outlives "ip netns delete" while a process holds it), and the owner record.
// It also serves after a crash: it needs nothing but the prefix.
func Cleanup(prefix string) error {
	if err := Available(); err != nil {
		return err
	}
	if prefix != BasePrefix {
		if err := checkPrefix(strings.TrimSuffix(prefix, "-")); err != nil {
			return fmt.Errorf("cleanup: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names, err := namespaces(ctx)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	var errs []error
	for _, n := range names {
		if !matchesPrefix(n, prefix) {
			continue
		}
		if out, err := run(ctx, "ip", "netns", "pids", n); err == nil {
			for _, f := range strings.Fields(out) {
				if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
					// Not a child of this process, perhaps of a crashed run: alive is /proc's word.
					if err := proc.Stop(ctx, pid, func() bool { return proc.Alive(pid, nil) }, proc.Kill); err != nil {
						errs = append(errs, fmt.Errorf("cleanup %s: %w", n, err))
					}
				}
			}
		}
		if _, err := run(ctx, "ip", "netns", "delete", n); err != nil {
			errs = append(errs, fmt.Errorf("cleanup %s: %w", n, err))
		}
	}
	if entries, err := os.ReadDir(ownerDir); err == nil {
		for _, e := range entries {
			if matchesPrefix(e.Name(), prefix) {
				_ = os.Remove(filepath.Join(ownerDir, e.Name()))
			}
		}
	}
	return errors.Join(errs...)
}

// matchesPrefix tells whether a name belongs to the run prefix ("glab-abc123" owns
// "glab-abc123-node" but not "glab-abc1234-node"); BasePrefix owns every run.
func matchesPrefix(name, prefix string) bool {
	if prefix == BasePrefix {
		return strings.HasPrefix(name, BasePrefix)
	}
	p := strings.TrimSuffix(prefix, "-")
	return name == p || strings.HasPrefix(name, p+"-")
}

// CleanupStale removes the leftovers of earlier runs whose process is gone (a crashed or
// killed test), leaving runs still in progress alone. It returns the prefixes it removed.
func CleanupStale() ([]string, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names, err := namespaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("cleanup stale: %w", err)
	}
	seen := map[string]bool{}
	var removed []string
	var errs []error
	for _, n := range names {
		if !strings.HasPrefix(n, BasePrefix) {
			continue
		}
		// "glab-abc123-w3" -> "glab-abc123"
		rest := strings.TrimPrefix(n, BasePrefix)
		prefix := BasePrefix + strings.SplitN(rest, "-", 2)[0]
		if seen[prefix] {
			continue
		}
		seen[prefix] = true
		if ownerAlive(prefix) {
			continue
		}
		if err := Cleanup(prefix); err != nil {
			errs = append(errs, err)
		}
		removed = append(removed, prefix)
	}
	return removed, errors.Join(errs...)
}

func ownerAlive(prefix string) bool {
	b, err := os.ReadFile(filepath.Join(ownerDir, prefix))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

// Leftovers lists what carries the prefix: network namespaces, and links or nftables tables
// in the host namespace (which this package never creates, so any is a bug).
func Leftovers(prefix string) ([]string, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []string
	names, err := namespaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	for _, n := range names {
		if matchesPrefix(n, prefix) {
			out = append(out, "netns "+n)
		}
	}
	links, err := run(ctx, "ip", "-o", "link", "show")
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	for _, l := range strings.Split(links, "\n") {
		f := strings.Fields(l)
		if len(f) > 1 {
			name := strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0]
			if matchesPrefix(name, prefix) {
				out = append(out, "link "+name)
			}
		}
	}
	tables, err := run(ctx, "nft", "list", "tables")
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	for _, l := range strings.Split(tables, "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && matchesPrefix(f[2], prefix) {
			out = append(out, "nft table "+f[1]+" "+f[2])
		}
	}
	if entries, err := os.ReadDir(ownerDir); err == nil {
		for _, e := range entries {
			if matchesPrefix(e.Name(), prefix) {
				out = append(out, "owner record "+filepath.Join(ownerDir, e.Name()))
			}
		}
	}
	return out, nil
}

func namespaces(ctx context.Context) ([]string, error) {
	out, err := run(ctx, "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// toolGrace is how long a tool or a probe gets between SIGTERM and SIGKILL once its context
// is done.
const toolGrace = 2 * time.Second

func run(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := proc.CommandContext(ctx, toolGrace, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
