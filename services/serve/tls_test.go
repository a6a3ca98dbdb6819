package serve

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/grpclab/grpclab/services/helloworldpb"
	"github.com/grpclab/grpclab/services/interceptor"
)

// selfSigned makes a throwaway certificate for 127.0.0.1.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "grpclab-test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestTransportSecurityHeader: a TLS server says "tls" (the plaintext case
// is covered by TestIdentityHeaders).
func TestTransportSecurityHeader(t *testing.T) {
	cert, pool := selfSigned(t)
	s := newServer(t, Config{Creds: credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.GRPC.Serve(lis) }()
	t.Cleanup(s.GRPC.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var h metadata.MD
	if _, err := helloworldpb.NewGreeterClient(conn).SayHello(ctxWith(t), &helloworldpb.HelloRequest{}, grpc.Header(&h)); err != nil {
		t.Fatalf("SayHello over TLS: %v", err)
	}
	if got := h.Get(interceptor.HeaderTransportSecurity); len(got) != 1 || got[0] != interceptor.TransportTLS {
		t.Errorf("%s = %v, want [tls]", interceptor.HeaderTransportSecurity, got)
	}
}
