package scenarios

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/grpclab/grpclab/cluster/local/netns"
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/scenarios/reach"
)

// probeTimeout is how long a probe waits before it calls a connection denied.
const probeTimeout = 400 * time.Millisecond

// policyVariants are the NetworkPolicy variants the isolation suite proves, plus none at all
// (everything reaches everything: the baseline that shows the probes can see an allow).
var policyVariants = []string{"", "networkpolicy/article", "networkpolicy/default-deny", "networkpolicy/gateway-only"}

// policiesOf loads the NetworkPolicies of a variant from the manifest tree.
func policiesOf(variant string) ([]*networkingv1.NetworkPolicy, error) {
	if variant == "" {
		return nil, nil
	}
	objs, err := manifests.Load(append(append([]string(nil), defaultVariants...), variant))
	if err != nil {
		return nil, err
	}
	return manifests.Of[*networkingv1.NetworkPolicy](objs), nil
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
	s.add("cluster data plane (Calico)", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		// Only platforms without a CNI list this case in Limits; on kind it would need prober
		// pods, which are not written yet: say so rather than pass.
		skip(t, "probing the cluster's own data plane (prober pods on kind) is not implemented yet")
	})
	f := s.feature().
		Setup(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			if unavailable = netns.Available(); unavailable != nil {
				return ctx
			}
			var err error
			plane, err = netns.Start(ctx, netns.Config{Server: lab.serverBin, Workloads: reach.Lab()})
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
