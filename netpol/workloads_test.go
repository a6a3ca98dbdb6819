package netpol

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/grpclab/grpclab/internal/expect"
	"github.com/grpclab/grpclab/manifests"
)

// defaults loads the manifests' default variants.
func defaults(t *testing.T) []manifests.Object {
	t.Helper()
	objs, err := manifests.Load(manifests.DefaultVariants())
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestWorkloadsFromManifests(t *testing.T) {
	objs := defaults(t)
	ws, err := Workloads(objs)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Workload{}
	for _, w := range ws {
		byName[w.Name] = w
	}
	// Labels, namespaces and ports are the manifests'; only the outside hosts are Go's.
	for _, c := range []struct{ name, ns, label, ip, port string }{
		{"db-0", "default", "role=db", "172.17.0.10", "redis:6379"},
		{"frontend-0", "default", "role=frontend", "172.17.0.20", "grpc:50051"},
		{"client-0", "default", "app=client", "172.17.1.10", "grpc:50051"},
		{"myproject-client-0", "myproject", "app=myproject-client", "192.168.50.20", "grpc:50051"},
		{"edge-0", "grpclab-edge", "app=gateway", "192.168.50.30", "grpc:50051"},
	} {
		w, ok := byName[c.name]
		if !ok {
			t.Errorf("no workload %s among %v", c.name, Names(ws))
			continue
		}
		k, v, _ := strings.Cut(c.label, "=")
		port := ""
		if len(w.Ports) > 0 {
			port = w.Ports[0].Name + ":" + strings.TrimPrefix(Target{Port: w.Ports[0].Port}.String(), ":")
		}
		if w.Namespace != c.ns || w.Labels[k] != v || w.IP.String() != c.ip || port != c.port {
			t.Errorf("%s: namespace %s, labels %v, ip %s, port %s; want %s, %s, %s, %s", c.name, w.Namespace, w.Labels, w.IP, port, c.ns, c.label, c.ip, c.port)
		}
	}
	if got := byName["myproject-client-0"].NamespaceLabels["project"]; got != "myproject" {
		t.Errorf("myproject-client-0: namespace label project=%q, want the Namespace's myproject", got)
	}
	if _, ok := byName["bar-canary-0"]; ok {
		t.Error("bar-canary carries no address annotation and must not be an isolation workload")
	}
	ns, err := Namespaces(objs)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ns, " "); got != "default myproject other" {
		t.Errorf("Namespaces = %q, want the manifests' \"default myproject other\"", got)
	}
	if _, err := NewModel(nil, ws); err != nil {
		t.Errorf("the manifests' workloads do not make a model: %v", err)
	}
}

func TestWorkloadsBadAnnotation(t *testing.T) {
	objs := defaults(t)
	set := func(name, addr string) []manifests.Object {
		out := make([]manifests.Object, len(objs))
		for i, o := range objs {
			out[i] = o
			if d, ok := o.Object.(*appsv1.Deployment); ok && d.Name == name {
				d = d.DeepCopy()
				d.Annotations[AddressAnnotation] = addr
				out[i].Object = d
			}
		}
		return out
	}
	for _, c := range []struct {
		name string
		objs []manifests.Object
		want []string
	}{
		{"not an address", set("db", "172.17.0.x"), []string{"isolation.yaml", "Deployment default/db", "metadata.annotations[" + AddressAnnotation + "]", `"172.17.0.x" is not an IPv4 address`}},
		{"IPv6", set("db", "fd00::1"), []string{"Deployment default/db", `"fd00::1" is not an IPv4 address`}},
		{"taken", set("frontend", "172.17.0.10"), []string{"Deployment default/frontend", "172.17.0.10 is already the address of Deployment default/db"}},
		{"an outside host's", set("db", "10.0.0.10"), []string{"Deployment default/db", "the outside workload ext-5978"}},
		{"no annotated Deployment", nil, []string{"no Deployment of the manifests carries the annotation"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Workloads(c.objs)
			for _, w := range c.want {
				expect.Error(t, err, w)
			}
		})
	}
}
