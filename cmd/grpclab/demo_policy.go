package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/netpol"
	"github.com/grpclab/grpclab/scenarios/call"
)

// probeTimeout is how long a probe waits before it calls a connection denied.
const probeTimeout = 400 * time.Millisecond

// The protected workload of the article's policy and what the truth table must show about
// it (Go holds the expectation; labels, addresses and ports come from the manifests, through
// netpol.Workloads).
const (
	dbPod       = "db-0"
	frontendPod = "frontend-0"
	exceptedPod = "client-0"
)

// articleExpect are cells the article's prose promises, checked on top of "observed equals
// the model": a policy that were changed would still agree with its own model.
var articleExpect = []struct {
	src, dst string
	allowed  bool
	why      string
}{
	{frontendPod, dbPod, true, "podSelector role=frontend"},
	{"myproject-client-0", dbPod, true, "namespaceSelector project=myproject"},
	{"other-client-0", dbPod, true, "ipBlock 172.17.0.0/16"},
	{exceptedPod, dbPod, false, "the except range 172.17.1.0/24"},
	{"bar-stable-0", dbPod, false, "no peer matches"},
	{dbPod, "ext-5978", true, "egress 10.0.0.0/24 TCP 5978"},
	{dbPod, "ext-5979", false, "egress: wrong port"},
	{dbPod, "ext-other", false, "egress: outside 10.0.0.0/24"},
}

// dataPlane starts the platform's NetworkPolicy data plane once, or says why it cannot run.
func (d *demoEnv) dataPlane(ctx context.Context, r *stepRecord) cluster.PolicyPlane {
	if d.plane != nil {
		return d.plane
	}
	lab, ok := d.p.(cluster.PolicyLab)
	if !ok {
		r.skip("the demo's truth table runs on the local data plane; on %s, `make e2e` proves isolation with the cluster's enforcer", d.name)
		return nil
	}
	if err := lab.PolicyLabAvailable(); err != nil {
		r.skip("%v", err)
		return nil
	}
	workloads, err := netpol.Workloads(d.objs)
	if err != nil {
		r.fail("%v", err)
		return nil
	}
	what := fmt.Sprintf("start the NetworkPolicy data plane: %d workloads in network namespaces, nftables", len(workloads))
	err = timedStep(d.out, what, func() error {
		d.plane, err = lab.StartPolicyLab(ctx, workloads)
		return err
	})
	if err != nil {
		r.fail("%v", err)
		return nil
	}
	step(d.out, "data plane %s (removed at the end, and on Ctrl-C)", d.plane.Prefix())
	d.workloads = workloads
	return d.plane
}

func (d *demoEnv) close() error {
	if d.plane == nil {
		return nil
	}
	err := d.plane.Close()
	d.plane = nil
	return err
}

func (d *demoEnv) policies() []*networkingv1.NetworkPolicy {
	var out []*networkingv1.NetworkPolicy
	for _, o := range d.objs {
		if np, ok := o.Object.(*networkingv1.NetworkPolicy); ok {
			out = append(out, np)
		}
	}
	return out
}

// healthCheck is the grpcurl line that probes dst from src's namespace, by reflection (the
// pods serve it).
func (d *demoEnv) probeCommand(src, dst string, md []string, args ...string) shellCommand {
	ns, _ := d.plane.Namespace(src)
	addr, _ := d.plane.Addr(dst)
	return grpcurlCall{Netns: ns, Addr: addr, Plaintext: true, ConnectTimeout: "2", Metadata: md, Args: args}.command()
}

func stepPolicyTable(ctx context.Context, d *demoEnv, r *stepRecord) string {
	policies := d.policies()
	for _, np := range policies {
		d.excerpt(r, d.sourceOf(np), "NetworkPolicy "+np.Name, "spec", np.Spec)
	}
	if len(policies) == 0 {
		r.fail("no NetworkPolicy in the manifests")
		return ""
	}
	plane := d.dataPlane(ctx, r)
	if plane == nil {
		return ""
	}
	r.command(d.probeCommand(frontendPod, dbPod, nil, "grpc.health.v1.Health/Check"))
	r.command(d.probeCommand(exceptedPod, dbPod, nil, "grpc.health.v1.Health/Check"))
	for _, phase := range []struct {
		name     string
		policies []*networkingv1.NetworkPolicy
	}{{"before (no policy)", nil}, {"after (" + policyNames(policies) + ")", policies}} {
		r.note("%s: probing every workload from every other …", phase.name)
		res, err := plane.Verify(ctx, phase.policies, probeTimeout)
		if err != nil {
			r.fail("%s: %v", phase.name, err)
			return ""
		}
		r.answer("%s: %d cells probed in %s, %d differ from the model", phase.name,
			len(res.Expected.Sources)*len(res.Expected.Targets), res.Took.Round(time.Millisecond), len(res.Mismatches))
		r.table(narrowTable(res))
		r.check(res.OK(), "%s: observed equals the NetworkPolicy spec's table: %v", phase.name, res.OK())
		if phase.policies == nil {
			continue
		}
		for _, e := range articleExpect {
			got := res.Observed.Get(e.src, firstTarget(d.workloads, e.dst))
			r.check(got == cellOf(e.allowed), "%s → %s: %s (%s)", e.src, e.dst, verb(got), e.why)
		}
	}
	return "the policy admits exactly the peers the article lists, and db sends only to 10.0.0.0/24:5978"
}

func policyNames(nps []*networkingv1.NetworkPolicy) string {
	var names []string
	for _, np := range nps {
		names = append(names, np.Name)
	}
	return strings.Join(names, ", ")
}

func cellOf(allowed bool) netpol.Cell {
	if allowed {
		return netpol.Allow
	}
	return netpol.Deny
}

func verb(c netpol.Cell) string {
	switch c {
	case netpol.Allow:
		return "allowed"
	case netpol.Deny:
		return "denied"
	}
	return "no clean verdict"
}

// firstTarget is the column of a workload's first port.
func firstTarget(workloads []netpol.Workload, name string) netpol.Target {
	for _, w := range workloads {
		if w.Name == name && len(w.Ports) > 0 {
			p := w.Ports[0]
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			return netpol.Target{Workload: w.Name, Port: p.Port, Protocol: proto}
		}
	}
	return netpol.Target{Workload: name}
}

// narrowTable prints the columns the article's policy governs (db's port and the external
// hosts of its egress rule) for every source: the whole table is wider than a screen.
func narrowTable(res *netpol.Result) []string {
	var cols []netpol.Target
	for _, t := range res.Expected.Targets {
		if t.Workload == dbPod || strings.HasPrefix(t.Workload, "ext-") {
			cols = append(cols, t)
		}
	}
	expected := netpol.NewTable(res.Expected.Sources, cols)
	observed := netpol.NewTable(res.Expected.Sources, cols)
	for _, s := range res.Expected.Sources {
		for _, c := range cols {
			expected.Set(s, c, res.Expected.Get(s, c))
			observed.Set(s, c, res.Observed.Get(s, c))
		}
	}
	var b strings.Builder
	if err := netpol.Print(&b, expected, observed, netpol.Unicode); err != nil {
		return []string{err.Error()}
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

func stepPolicyL7(ctx context.Context, d *demoEnv, r *stepRecord) string {
	policies := d.policies()
	for _, np := range policies {
		d.excerpt(r, d.sourceOf(np), "NetworkPolicy "+np.Name, "spec.ingress", np.Spec.Ingress)
	}
	plane := d.dataPlane(ctx, r)
	if plane == nil {
		return ""
	}
	if err := plane.Apply(ctx, policies); err != nil {
		r.fail("%v", err)
		return ""
	}
	r.command(d.probeCommand(frontendPod, dbPod, call.Alice(), strings.TrimPrefix(call.DeleteUser, "/")))
	for _, c := range []struct {
		from, tcp, call string
	}{{frontendPod, "allow", "PermissionDenied"}, {exceptedPod, "deny", "DeadlineExceeded"}} {
		got, err := plane.Call(ctx, c.from, dbPod, call.DeleteUser, call.Alice(), probeTimeout)
		if err != nil {
			r.fail("%v", err)
			continue
		}
		r.check(got.TCP == c.tcp && got.Call == c.call, "from %s: tcp %s, %s as alice → %s %q",
			c.from, got.TCP, call.DeleteUser, got.Call, got.CallMessage)
	}
	return "the policy decides who connects; only the interceptor sees DeleteUser is not alice's"
}
