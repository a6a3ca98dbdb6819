package scenarios

import (
	"context"
	"fmt"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/netpol"
)

// probeTimeout is how long a probe waits before it calls a connection denied.
const probeTimeout = 400 * time.Millisecond

// policyVariants are the NetworkPolicy variants the isolation suite proves, plus none at all
// (everything reaches everything: the baseline that shows the probes can see an allow).
var policyVariants = []string{"", "networkpolicy/article", "networkpolicy/default-deny", "networkpolicy/gateway-only"}

// policiesOf loads the NetworkPolicies of a variant from the manifest tree.
func policiesOf(variant string) ([]*networkingv1.NetworkPolicy, error) {
	objs, err := policyObjects(variant)
	return manifests.Of[*networkingv1.NetworkPolicy](objs), err
}

// TestIsolation proves the L3/L4 half of the article's NetworkPolicy advice: for each policy
// variant, every workload probes every other workload's ports (TCP connect + gRPC health),
// and the observed truth table must equal the one the NetworkPolicy spec predicts. It runs
// in the platform's own policy data plane (cluster.PolicyLab: on the local platform each
// workload in its own network namespace, the policies rendered into nftables the way Calico's
// Felix does; it needs root), and on a platform whose CNI enforces policy, between its pods.
func TestIsolation(t *testing.T) {
	var plane cluster.PolicyPlane
	var unavailable error
	s := newScenario("isolation", "isolation")
	for _, v := range policyVariants {
		name := v
		if name == "" {
			name = "no policy"
		}
		s.add(name+": observed truth table equals the model (network namespaces + nftables)", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			if plane == nil {
				note("%v", unavailable)
				t.Skipf("policy data plane unavailable: %v", unavailable)
			}
			policies, err := policiesOf(v)
			if err != nil {
				t.Fatal(err)
			}
			res, err := plane.Verify(ctx, policies, probeTimeout)
			if err != nil {
				t.Fatal(err)
			}
			rec.AddSection("Isolation: "+name, "Expected | observed for each source (rows) → destination:port (columns).\n\n```\n"+res.String()+"```")
			note("%d mismatches, probed in %s", len(res.Mismatches), res.Took.Round(time.Millisecond))
			if !res.OK() {
				t.Fatalf("the data plane disagrees with the model:\n%s", res)
			}
		})
	}
	// The L7 half: NetworkPolicy admits a connection, not a method.
	for _, c := range []struct {
		name, from string
		tcp, call  string
	}{
		{"article policy: frontend reaches db at L3/L4, and alice's DeleteUser is PermissionDenied at L7", "frontend-0", "allow", "PermissionDenied"},
		{"article policy: the excepted range never reaches db's interceptor", "client-0", "deny", "DeadlineExceeded"},
	} {
		s.add(c.name, func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			if plane == nil {
				note("%v", unavailable)
				t.Skipf("policy data plane unavailable: %v", unavailable)
			}
			policies, err := policiesOf("networkpolicy/article")
			if err != nil {
				t.Fatal(err)
			}
			if err := plane.Apply(ctx, policies); err != nil {
				t.Fatal(err)
			}
			got, err := plane.Call(ctx, c.from, "db-0", deleteUser, alice, probeTimeout)
			if err != nil {
				t.Fatal(err)
			}
			note("tcp %s, %s: %s (%s)", got.TCP, deleteUser, got.Call, got.CallMessage)
			if got.TCP != c.tcp || got.Call != c.call {
				t.Fatalf("from %s: tcp %s, DeleteUser %s (%s); want tcp %s, DeleteUser %s", c.from, got.TCP, got.Call, got.CallMessage, c.tcp, c.call)
			}
		})
	}
	// Platforms without a CNI (local) list this case in Limits and skip it, with the reason.
	s.add("cluster data plane (the platform's NetworkPolicy enforcer)", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		pe, ok := lab.platform.(cluster.PodExec)
		if !ok {
			skip(t, fmt.Sprintf("the %s platform cannot exec into its pods", lab.platform.Name()))
		}
		if e := lab.platform.Versions()["networkpolicy enforcer"]; e != "" {
			note("enforced by %s", e)
		}
		clusterTruthTables(ctx, t, note, pe)
	})
	f := s.feature().
		Setup(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			pl, ok := lab.platform.(cluster.PolicyLab)
			if !ok {
				unavailable = fmt.Errorf("the %s platform has no NetworkPolicy data plane of its own (cluster.PolicyLab); the cluster data plane case proves its enforcer", lab.platform.Name())
				return ctx
			}
			if unavailable = pl.PolicyLabAvailable(); unavailable != nil {
				return ctx
			}
			workloads, _, err := isolationWorkloads()
			if err != nil {
				t.Fatal(err)
			}
			if plane, err = pl.StartPolicyLab(ctx, workloads); err != nil {
				t.Fatal(err)
			}
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if plane == nil {
				return ctx
			}
			if err := plane.Close(); err != nil {
				t.Errorf("after the isolation suite: close the policy data plane: %v", err)
			}
			return ctx
		})
	testenv.Test(t, f.Feature())
}

// isolationWorkloads are the default manifests' isolation workloads, addresses included
// (netpol.Workloads), and the namespaces where a cluster runs their pods.
func isolationWorkloads() ([]netpol.Workload, []string, error) {
	objs, err := manifests.Load(defaultVariants)
	if err != nil {
		return nil, nil, err
	}
	ws, err := netpol.Workloads(objs)
	if err != nil {
		return nil, nil, err
	}
	ns, err := netpol.Namespaces(objs)
	return ws, ns, err
}
