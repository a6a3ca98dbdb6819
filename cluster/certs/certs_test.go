package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/manifests"
)

func load(t *testing.T, variants ...string) []manifests.Object {
	t.Helper()
	objs, err := manifests.Load(variants)
	if err != nil {
		t.Fatalf("load manifests: %v", err)
	}
	return objs
}

func parse(t *testing.T, pemBytes []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", pemBytes)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGenerateVerifiesPerHost(t *testing.T) {
	b, err := Generate(load(t, "base", "gateway-api", "ingress-nginx"))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b.CA) {
		t.Fatal("CA is not PEM")
	}
	tests := []struct {
		secret string
		hosts  []string // must verify
		others []string // must not
	}{
		{"default/example-com-cert", []string{"foo.example.com", "bar.example.com"}, []string{"baz.example.com", "grpctest.dev.mydomain.com"}},
		{"default/wildcard.dev.mydomain.com", []string{"grpctest.dev.mydomain.com"}, []string{"foo.example.com", "other.dev.mydomain.com"}},
	}
	byName := map[string]Cert{}
	for _, c := range b.Certs {
		byName[c.Namespace+"/"+c.Name] = c
	}
	if len(byName) != len(tests) {
		t.Errorf("%d certificates, want %d", len(byName), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.secret, func(t *testing.T) {
			c, ok := byName[tt.secret]
			if !ok {
				t.Fatalf("no certificate for %s", tt.secret)
			}
			// The key must belong to the certificate.
			if _, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
				t.Errorf("key pair: %v", err)
			}
			leaf := parse(t, c.CertPEM)
			if leaf.PublicKeyAlgorithm != x509.ECDSA {
				t.Errorf("key algorithm %v, want ECDSA", leaf.PublicKeyAlgorithm)
			}
			for _, h := range tt.hosts {
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots}); err != nil {
					t.Errorf("verify for %s: %v", h, err)
				}
			}
			for _, h := range tt.others {
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots}); err == nil {
					t.Errorf("certificate verifies for unrelated host %s", h)
				}
			}
		})
	}
	// Another bundle's CA must not vouch for these leaves.
	other, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	otherRoots := x509.NewCertPool()
	otherRoots.AppendCertsFromPEM(other.CA)
	if _, err := parse(t, b.Certs[0].CertPEM).Verify(x509.VerifyOptions{DNSName: b.Certs[0].Hosts[0], Roots: otherRoots}); err == nil {
		t.Error("leaf verifies against an unrelated CA")
	}
}

func TestGenerateWildcardListener(t *testing.T) {
	objs := load(t, "base", "gateway-api")
	gw := manifests.Of[*gatewayv1.Gateway](objs)[0]
	host := gatewayv1.Hostname("*.example.com")
	gw.Spec.Listeners[0].Hostname = &host
	b, err := Generate(objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Certs) != 1 || !slices.Equal(b.Certs[0].Hosts, []string{"*.example.com"}) {
		t.Fatalf("certs = %+v, want one for *.example.com (the listener hostname wins over route hostnames)", b.Certs)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(b.CA)
	leaf := parse(t, b.Certs[0].CertPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "anything.example.com", Roots: roots}); err != nil {
		t.Errorf("wildcard does not cover anything.example.com: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "a.b.example.com", Roots: roots}); err == nil {
		t.Error("wildcard covers two labels")
	}
}

func TestSecretsMatchReferences(t *testing.T) {
	b, err := Generate(load(t, "base", "gateway-api", "ingress-nginx"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range b.Secrets() {
		got = append(got, s.Namespace+"/"+s.Name)
		if s.Type != corev1.SecretTypeTLS {
			t.Errorf("%s type %q, want kubernetes.io/tls", s.Name, s.Type)
		}
		if _, err := tls.X509KeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]); err != nil {
			t.Errorf("%s: tls.crt/tls.key: %v", s.Name, err)
		}
	}
	// The Gateway's certificateRef and the Ingress's secretName, in deterministic order.
	want := []string{"default/example-com-cert", "default/wildcard.dev.mydomain.com"}
	if !slices.Equal(got, want) {
		t.Errorf("Secrets = %q, want %q", got, want)
	}

	// Without the Ingress its Secret disappears.
	b, err = Generate(load(t, "base", "gateway-api"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b.Secrets()); n != 1 || b.Secrets()[0].Name != "example-com-cert" {
		t.Errorf("gateway-api only: %d Secrets, want example-com-cert alone", n)
	}
}

func TestWriteFiles(t *testing.T) {
	b, err := Generate(load(t, "base", "gateway-api", "ingress-nginx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A stale, world-readable key must not keep its mode.
	if err := os.MkdirAll(filepath.Join(dir, "default"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "default", "example-com-cert.key"), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	paths, err := b.WriteFiles(dir)
	if err != nil {
		t.Fatalf("WriteFiles: %v", err)
	}
	if len(paths) != len(b.Certs) {
		t.Errorf("%d paths, want %d", len(paths), len(b.Certs))
	}
	for _, c := range b.Certs {
		p, ok := paths[c.Namespace+"/"+c.Name]
		if !ok {
			t.Errorf("no paths for %s/%s", c.Namespace, c.Name)
			continue
		}
		fi, err := os.Stat(p.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p.KeyFile, fi.Mode().Perm())
		}
		if _, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile); err != nil {
			t.Errorf("load %s: %v", p.CertFile, err)
		}
	}
	ca, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil || string(ca) != string(b.CA) {
		t.Errorf("ca.crt = %q (%v), want the bundle's CA", ca, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %q", leftovers)
	}
}

func TestGenerateWithCAKeepsTheCA(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	objs := load(t, "base", "gateway-api")
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)
	// Two Applies, one CA: clients handed ca.crt at Up trust both rounds of leaves.
	for i := range 2 {
		b, err := GenerateWithCA(ca, objs)
		if err != nil {
			t.Fatal(err)
		}
		if string(b.CA) != string(ca.CertPEM) {
			t.Fatalf("round %d: bundle CA differs from the CA given", i)
		}
		if _, err := parse(t, b.Certs[0].CertPEM).Verify(x509.VerifyOptions{DNSName: "foo.example.com", Roots: roots}); err != nil {
			t.Errorf("round %d: %v", i, err)
		}
	}
	if _, err := GenerateWithCA(&CA{}, objs); err == nil {
		t.Error("GenerateWithCA accepted an empty CA")
	}
}

func TestIssue(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("svc.example.com", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	block, _ := pem.Decode(leaf.CertPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"svc.example.com", "127.0.0.1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: pool}); err == nil {
		t.Error("the leaf verifies for a host it was not issued for")
	}
	if _, err := (&CA{}).Issue("x"); err == nil {
		t.Error("a CA without a key issued a certificate")
	}
}
