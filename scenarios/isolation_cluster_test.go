package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/netpol"
)

// clusterProbeTimeout is longer than the local one: pod to pod crosses a real CNI.
const clusterProbeTimeout = time.Second

// clusterTruthTables is the isolation suite on a platform whose own data plane enforces
// NetworkPolicy (kind with Calico, or kube-router on the hermetic images): for each variant it applies the policies, probes from
// inside every server pod (`grpclab-server probe`, exec'd in parallel) and compares with the
// model built from the pods' real labels and IPs; then it deletes the policies again.
func clusterTruthTables(ctx context.Context, t *testing.T, note func(string, ...any), pe cluster.PodExec) {
	// The namespaces of the manifests' isolation workloads hold the pods to probe.
	_, namespaces, err := isolationWorkloads()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range policyVariants {
		name := v
		if name == "" {
			name = "no policy"
		}
		objs, err := policyObjects(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := lab.platform.Apply(ctx, objs); err != nil {
			t.Fatalf("%s: apply: %v", name, err)
		}
		pods, err := pe.Pods(ctx, namespaces...)
		if err != nil {
			t.Fatal(err)
		}
		workloads, err := workloadsOf(pods)
		if err != nil {
			t.Fatal(err)
		}
		model, err := netpol.NewModel(manifests.Of[*networkingv1.NetworkPolicy](objs), workloads)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		expected := model.Table()
		var observed *netpol.Table
		// The enforcer programs a policy a moment after the apply: converge, in the one place.
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			var err error
			observed, err = probePods(ctx, pe, workloads)
			if err != nil {
				return err
			}
			if mm := netpol.Mismatches(expected, observed); len(mm) > 0 {
				return fmt.Errorf("%s: %d cells disagree with the model, first %s", name, len(mm), mm[0])
			}
			return nil
		})
		var b strings.Builder
		if err := netpol.Print(&b, expected, observed, netpol.Unicode); err != nil {
			t.Fatal(err)
		}
		rec.AddSection("Isolation on the cluster: "+name, "```\n"+b.String()+"```")
		if err := lab.platform.Delete(ctx, objs); err != nil {
			t.Fatalf("%s: delete: %v", name, err)
		}
	}
}

// policyObjects returns the NetworkPolicy objects of a variant, to apply and delete.
func policyObjects(variant string) ([]manifests.Object, error) {
	if variant == "" {
		return nil, nil
	}
	objs, err := manifests.Load(append(append([]string(nil), defaultVariants...), variant))
	if err != nil {
		return nil, err
	}
	var out []manifests.Object
	for _, o := range objs {
		if _, ok := o.Object.(*networkingv1.NetworkPolicy); ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// workloadsOf turns the cluster's pods into the model's workloads, named namespace/pod.
func workloadsOf(pods []cluster.Pod) ([]netpol.Workload, error) {
	var out []netpol.Workload
	for _, p := range pods {
		ip, err := netip.ParseAddr(p.IP)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: ip %q: %w", p.Namespace, p.Name, p.IP, err)
		}
		w := netpol.Workload{Name: p.Namespace + "/" + p.Name, Namespace: p.Namespace, Labels: p.Labels, NamespaceLabels: p.NamespaceLabels, IP: ip}
		for _, cp := range p.Ports {
			w.Ports = append(w.Ports, netpol.Port{Name: cp.Name, Port: cp.ContainerPort, Protocol: cp.Protocol})
		}
		out = append(out, w)
	}
	return out, nil
}

// probePods probes every target port from every pod, all pods in parallel.
func probePods(ctx context.Context, pe cluster.PodExec, workloads []netpol.Workload) (*netpol.Table, error) {
	targets := netpol.Targets(workloads)
	table := netpol.NewTable(netpol.Names(workloads), targets)
	addrs := map[string]netpol.Target{}
	ips := map[string]string{}
	for _, w := range workloads {
		ips[w.Name] = w.IP.String()
	}
	for _, tg := range targets {
		addrs[net.JoinHostPort(ips[tg.Workload], strconv.Itoa(int(tg.Port)))] = tg
	}
	var mu sync.Mutex
	var problems []string
	var wg sync.WaitGroup
	for _, w := range workloads {
		args := []string{"/grpclab-server", "probe", "--timeout", clusterProbeTimeout.String()}
		for addr, tg := range addrs {
			if tg.Workload == w.Name {
				table.Set(w.Name, tg, netpol.Self)
				continue
			}
			args = append(args, addr)
		}
		ns, pod, _ := strings.Cut(w.Name, "/")
		wg.Go(func() {
			out, err := pe.Exec(ctx, ns, pod, args...)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				problems = append(problems, err.Error())
				return
			}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var r netpol.Probe
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					problems = append(problems, fmt.Sprintf("from %s: %q: %v", w.Name, sc.Text(), err))
					continue
				}
				cell, ok := netpol.ObservedCell(r.TCP, r.GRPC)
				if !ok {
					problems = append(problems, fmt.Sprintf("from %s to %s: tcp %s but grpc %s (%s)", w.Name, r.Target, r.TCP, r.GRPC, r.Detail))
					continue
				}
				table.Set(w.Name, addrs[r.Target], cell)
			}
		})
	}
	wg.Wait()
	if len(problems) > 0 {
		return table, fmt.Errorf("probe: %s", strings.Join(problems, "; "))
	}
	return table, nil
}
