package scenarios

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/local/netns"
	"github.com/grpclab/grpclab/manifests"
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
// and the observed truth table must equal the one the NetworkPolicy spec predicts. The
// local data plane puts each workload in its own network namespace and renders the policies
// into nftables the way Calico's Felix does; it needs root.
func TestIsolation(t *testing.T) {
	var plane *netns.Plane
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
				t.Skipf("local data plane unavailable: %v", unavailable)
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
				t.Skipf("local data plane unavailable: %v", unavailable)
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
			if unavailable = netns.Available(); unavailable != nil {
				return ctx
			}
			workloads, err := localWorkloads()
			if err != nil {
				t.Fatal(err)
			}
			plane, err = netns.Start(ctx, netns.Config{Server: lab.serverBin, Workloads: workloads})
			if err != nil {
				t.Fatalf("start the local data plane: %v", err)
			}
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if plane == nil {
				return ctx
			}
			prefix := plane.Prefix()
			if err := plane.Close(); err != nil {
				t.Errorf("close the local data plane: %v", err)
			}
			left, err := netns.Leftovers(prefix)
			if err = errors.Join(err, leftoverErr(left)); err != nil {
				t.Errorf("after the isolation suite: %v", err)
			}
			return ctx
		})
	testenv.Test(t, f.Feature())
}

func leftoverErr(left []string) error {
	if len(left) == 0 {
		return nil
	}
	return fmt.Errorf("left behind: %v", left)
}
