package local

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	corev1 "k8s.io/api/core/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/grpclab/grpclab/cluster/local/controller"
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/services/helloworldpb"
	"github.com/grpclab/grpclab/services/serve"
)

// referencesDir holds a cross-namespace backendRef with its ReferenceGrant and a listener
// whose allowedRoutes select namespaces by label.
const referencesDir = "testdata/references"

// renderPlatform is a Platform with objs recorded and one fake process per Deployment
// listening at addrs["namespace/deployment"], as far as render needs one.
func renderPlatform(t *testing.T, objs []manifests.Object, addrs map[string]string) *Platform {
	t.Helper()
	// nginx workers run as nobody when we are root: they must reach the state directory.
	parent := t.TempDir()
	dir := parent + "/state"
	if err := os.Chmod(parent, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	admin, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	p := &Platform{dir: dir, st: &state{Admin: admin[0], Listeners: map[string]string{}}, objects: map[objectKey]manifests.Object{}}
	for _, o := range objs {
		p.objects[keyOf(o)] = o
	}
	for k, addr := range addrs {
		ns, dep, _ := strings.Cut(k, "/")
		p.st.Processes = append(p.st.Processes, process{Namespace: ns, Deployment: dep, Pod: dep + "-0", Addr: addr})
	}
	return p
}

// TestReferencesValidateAndRender: what validation accepts, the local renderer serves, and what
// it refuses, the renderer refuses with the same field and reason. The ReferenceGrant and the
// Namespace labels must reach the renderer from the loaded objects.
func TestReferencesValidateAndRender(t *testing.T) {
	objs, err := manifests.Load(nil, referencesDir)
	if err != nil {
		t.Fatalf("validation refuses the references: %v", err)
	}
	cases := []struct {
		name  string
		route string                      // only this route's diagnostics count when want is ""
		drop  func(manifests.Object) bool // objects to leave out
		edit  func(manifests.Object)
		// what both must report: "Kind namespace/name field reason"; "" for nothing
		want string
	}{
		{name: "ReferenceGrant honoured", route: "default/granted"},
		{name: "allowedRoutes selector honoured", route: "grpc-apps/selected"},
		{name: "without the ReferenceGrant",
			drop: func(o manifests.Object) bool { _, ok := o.Object.(*gatewayv1beta1.ReferenceGrant); return ok },
			want: "GRPCRoute default/granted spec.rules[0].backendRefs[0].namespace RefNotPermitted"},
		{name: "namespace without the selected label",
			edit: func(o manifests.Object) {
				if ns, ok := o.Object.(*corev1.Namespace); ok && ns.Name == "grpc-apps" {
					ns.Labels = nil
				}
			},
			want: "GRPCRoute grpc-apps/selected spec.parentRefs[0] NotAllowedByListeners"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := manifests.Load(nil, referencesDir) // fresh objects: edit changes them
			if err != nil {
				t.Fatal(err)
			}
			var kept []manifests.Object
			for _, o := range objs {
				if tc.drop != nil && tc.drop(o) {
					continue
				}
				if tc.edit != nil {
					tc.edit(o)
				}
				kept = append(kept, o)
			}
			verr := manifests.Validate(kept)
			cfg, err := renderPlatform(t, kept, map[string]string{"grpc-backends/backend": "127.0.0.1:1", "grpc-apps/app": "127.0.0.1:2"}).render()
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			var diags []string
			for _, d := range cfg.Diagnostics {
				if tc.route == "" || d.Namespace+"/"+d.Name == tc.route {
					diags = append(diags, d.Kind+" "+d.Namespace+"/"+d.Name+" "+d.Field+" "+d.Reason)
				}
			}
			if tc.want == "" {
				if verr != nil && strings.Contains(verr.Error(), tc.route) {
					t.Errorf("validation: %v", verr)
				}
				if len(diags) > 0 {
					t.Errorf("render diagnostics, want none:\n%s", strings.Join(diags, "\n"))
				}
				return
			}
			kind, rest, _ := strings.Cut(tc.want, " ")
			obj, rest, _ := strings.Cut(rest, " ")
			field, reason, _ := strings.Cut(rest, " ")
			for _, w := range []string{kind + " " + obj, field, reason} {
				if verr == nil || !strings.Contains(verr.Error(), w) {
					t.Errorf("validation error %v does not contain %q", verr, w)
				}
			}
			if strings.Join(diags, "\n") != tc.want {
				t.Errorf("render diagnostics:\n%s\nwant %s", strings.Join(diags, "\n"), tc.want)
			}
		})
	}
	t.Run("served by nginx", func(t *testing.T) { serveReferences(t, objs) })
}

// serveReferences runs nginx on the rendered references and checks each host reaches its
// backend across the namespaces.
func serveReferences(t *testing.T, objs []manifests.Object) {
	if _, err := os.Stat(controller.Binary); err != nil {
		t.Skipf("nginx not installed at %s: %v", controller.Binary, err)
	}
	addrs := map[string]string{}
	for _, k := range []string{"grpc-backends/backend", "grpc-apps/app"} {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[k] = lis.Addr().String()
		srv, err := serve.New(serve.Config{Name: strings.ReplaceAll(k, "/", "-") + "-0"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.GRPC.Stop)
		go func() { _ = srv.GRPC.Serve(lis) }()
	}
	p := renderPlatform(t, objs, addrs)
	cfg, err := p.render()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := controller.Start(ctx, p.dir, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = controller.Stop(context.Background(), p.dir) })
	for _, c := range []struct{ name, listener, host, served string }{
		{"cross-namespace backend with a ReferenceGrant", "default/references/same", "granted.example.com", "grpc-backends-backend-0"},
		{"route from a selected namespace", "default/references/selected", "selected.example.com", "grpc-apps-app-0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cc, err := grpc.NewClient("passthrough:///"+p.st.Listeners[c.listener], grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority(c.host))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			var hdr metadata.MD
			_, err = helloworldpb.NewGreeterClient(cc).SayHello(ctx, &helloworldpb.HelloRequest{Name: "x"}, grpc.Header(&hdr))
			if got := hdr.Get("x-served-by"); err != nil || len(got) == 0 || got[0] != c.served {
				t.Errorf("%s via %s: served by %q, err %v; want %s", c.host, c.listener, got, err, c.served)
			}
		})
	}
}
