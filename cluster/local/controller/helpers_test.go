package controller

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/cluster/certs"
)

// testCA issues certificates for the test's hosts (cluster/certs, as the platform does);
// nothing is committed.
type testCA struct {
	ca   *certs.CA
	pool *x509.CertPool
	dir  string
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM) {
		t.Fatal("CA PEM does not parse")
	}
	return &testCA{ca: ca, pool: pool, dir: t.TempDir()}
}

// issue writes a certificate for hosts and its key (0600) and returns their files.
func (ca *testCA) issue(t testing.TB, name string, hosts ...string) CertFiles {
	t.Helper()
	leaf, err := ca.ca.Issue(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	cf := CertFiles{CertFile: filepath.Join(ca.dir, name+".crt"), KeyFile: filepath.Join(ca.dir, name+".key")}
	if err := os.WriteFile(cf.CertFile, leaf.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cf.KeyFile, leaf.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cf
}

// startBackend runs a gRPC server that answers every method with an empty message and the
// header x-served-by: name. Methods of the service "grpclab.Slow" answer after 1.5s.
func startBackend(t testing.TB, name string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		if err := stream.SetHeader(metadata.Pairs("x-served-by", name)); err != nil {
			return err
		}
		if err := stream.RecvMsg(&emptypb.Empty{}); err != nil {
			return err
		}
		if m, _ := grpc.MethodFromServerStream(stream); strings.HasPrefix(m, "/grpclab.Slow/") {
			select {
			case <-time.After(1500 * time.Millisecond):
			case <-stream.Context().Done():
				return stream.Context().Err()
			}
		}
		return stream.SendMsg(&emptypb.Empty{})
	}))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// freePort returns a loopback address nothing listens on right now.
func freePort(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// clients keeps one connection per (address, host, TLS), like a real client would.
type clients struct {
	t     testing.TB
	pool  *x509.CertPool
	conns map[string]*grpc.ClientConn
}

func newClients(t testing.TB, pool *x509.CertPool) *clients {
	c := &clients{t: t, pool: pool, conns: map[string]*grpc.ClientConn{}}
	t.Cleanup(func() {
		for _, cc := range c.conns {
			cc.Close()
		}
	})
	return c
}

func (c *clients) conn(addr, host string, useTLS bool) *grpc.ClientConn {
	key := addr + " " + host + " " + map[bool]string{true: "tls", false: "h2c"}[useTLS]
	if cc, ok := c.conns[key]; ok {
		return cc
	}
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{ServerName: host, RootCAs: c.pool})
	}
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds), grpc.WithAuthority(host))
	if err != nil {
		c.t.Fatal(err)
	}
	c.conns[key] = cc
	return cc
}

// call invokes method and returns who served it (x-served-by) and the status code.
func (c *clients) call(addr, host string, useTLS bool, method string, md ...string) (string, *status.Status) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	var hdr metadata.MD
	err := c.conn(addr, host, useTLS).Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{}, grpc.Header(&hdr))
	served := ""
	if v := hdr.Get("x-served-by"); len(v) > 0 {
		served = v[0]
	}
	return served, status.Convert(err)
}

// expect runs each case as a subtest: through tlsAddr, or h2cAddr when the case says h2c.
func (c *clients) expect(t *testing.T, tlsAddr, h2cAddr string, cases []callExpect) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, useTLS := tlsAddr, true
			if tc.h2c {
				addr, useTLS = h2cAddr, false
			}
			served, st := c.call(addr, tc.host, useTLS, tc.method, tc.md...)
			if st.Code() != tc.code || served != tc.served {
				t.Errorf("%s %s: got served=%q code=%v (%s), want served=%q code=%v",
					tc.host, tc.method, served, st.Code(), st.Message(), tc.served, tc.code)
			}
		})
	}
}

// spread makes n calls to host over TLS and counts who served them; a failed call fails t.
func (c *clients) spread(t *testing.T, addr, host string, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		served, st := c.call(addr, host, true, "/any.Svc/M")
		if st.Code() != codes.OK {
			t.Fatalf("call %d: %v", i, st.Err())
		}
		counts[served]++
	}
	return counts
}

// Object builders: the tests state only what each case is about.

// testGateway is default/gw with an HTTPS listener "https" on *.example.com (certificate
// Secret tlsSecret, routes from All namespaces) and an HTTP listener named plain on port 80
// (routes from the same namespace).
func testGateway(tlsSecret, plain string) *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "gw"},
		Spec: gatewayv1.GatewaySpec{Listeners: []gatewayv1.Listener{
			{
				Name: "https", Port: 443, Protocol: gatewayv1.HTTPSProtocolType, Hostname: ptr(gatewayv1.Hostname("*.example.com")),
				TLS:           &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: gatewayv1.ObjectName(tlsSecret)}}},
				AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr(gatewayv1.NamespacesFromAll)}},
			},
			{Name: gatewayv1.SectionName(plain), Port: 80, Protocol: gatewayv1.HTTPProtocolType},
		}},
	}
}

func service(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	if len(ports) == 0 {
		ports = []corev1.ServicePort{{Name: "grpc", Port: 50051, TargetPort: intstr.FromInt32(50051)}}
	}
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Ports: ports}}
}

func ptr[T any](v T) *T { return &v }

func grpcRoute(ns, name string, created time.Time, hosts []string, parents []gatewayv1.ParentReference, rules ...gatewayv1.GRPCRouteRule) *gatewayv1.GRPCRoute {
	r := &gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(created)}}
	for _, h := range hosts {
		r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(h))
	}
	r.Spec.ParentRefs = parents
	r.Spec.Rules = rules
	return r
}

func parent(ns, name, section string) gatewayv1.ParentReference {
	p := gatewayv1.ParentReference{Name: gatewayv1.ObjectName(name)}
	if ns != "" {
		p.Namespace = ptr(gatewayv1.Namespace(ns))
	}
	if section != "" {
		p.SectionName = ptr(gatewayv1.SectionName(section))
	}
	return p
}

func rule(matches []gatewayv1.GRPCRouteMatch, backends ...gatewayv1.GRPCBackendRef) gatewayv1.GRPCRouteRule {
	return gatewayv1.GRPCRouteRule{Matches: matches, BackendRefs: backends}
}

// method builds a method match; "" leaves service or method unset.
func method(svc, meth string) gatewayv1.GRPCRouteMatch {
	m := &gatewayv1.GRPCMethodMatch{}
	if svc != "" {
		m.Service = ptr(svc)
	}
	if meth != "" {
		m.Method = ptr(meth)
	}
	return gatewayv1.GRPCRouteMatch{Method: m}
}

// headers builds an Exact header match from name, value pairs; a value starting with "~" is a
// RegularExpression.
func headers(kv ...string) gatewayv1.GRPCRouteMatch {
	var m gatewayv1.GRPCRouteMatch
	for i := 0; i+1 < len(kv); i += 2 {
		h := gatewayv1.GRPCHeaderMatch{Name: gatewayv1.GRPCHeaderName(kv[i]), Value: kv[i+1]}
		if strings.HasPrefix(kv[i+1], "~") {
			h.Type = ptr(gatewayv1.GRPCHeaderMatchRegularExpression)
			h.Value = kv[i+1][1:]
		}
		m.Headers = append(m.Headers, h)
	}
	return m
}

func backend(ns, name string, port int32, weight *int32) gatewayv1.GRPCBackendRef {
	b := gatewayv1.GRPCBackendRef{}
	b.Name = gatewayv1.ObjectName(name)
	b.Port = ptr(gatewayv1.PortNumber(port))
	if ns != "" {
		b.Namespace = ptr(gatewayv1.Namespace(ns))
	}
	b.Weight = weight
	return b
}

func matches(m ...gatewayv1.GRPCRouteMatch) []gatewayv1.GRPCRouteMatch { return m }

// both ANDs a method match and a header match into one match.
func both(m, h gatewayv1.GRPCRouteMatch) gatewayv1.GRPCRouteMatch {
	m.Headers = h.Headers
	return m
}

func regexMethod(svc, meth string) gatewayv1.GRPCRouteMatch {
	m := method(svc, meth)
	m.Method.Type = ptr(gatewayv1.GRPCMethodMatchRegularExpression)
	return m
}
