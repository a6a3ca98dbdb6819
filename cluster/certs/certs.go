// Package certs generates the TLS material the manifests reference: one CA per run and a leaf
// certificate for every Secret a Gateway listener or an Ingress names. Nothing here is ever
// committed; keys live only in memory, in the cluster's Secrets and in 0600 files.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/grpclab/grpclab/manifests"
)

// validity is short on purpose: a bundle lives as long as one platform run.
const validity = 7 * 24 * time.Hour

// clockSkew backdates NotBefore so a node whose clock runs a little behind still accepts the cert.
const clockSkew = 5 * time.Minute

// Bundle is a CA and the leaves it signed.
type Bundle struct {
	// CA is the PEM certificate clients trust.
	CA []byte
	// Certs is one leaf per referenced Secret, sorted by namespace and name.
	Certs []Cert
}

// Cert is one leaf and the Secret it belongs in.
type Cert struct {
	Namespace, Name string
	// Hosts are the certificate's DNS SANs (wildcards kept).
	Hosts           []string
	CertPEM, KeyPEM []byte
}

// Paths are where WriteFiles put one leaf.
type Paths struct {
	CertFile, KeyFile string
}

// CA signs leaves. A platform keeps one for its lifetime, so the CA file clients were given at Up
// stays valid across every Apply.
type CA struct {
	// CertPEM is the certificate clients trust.
	CertPEM []byte
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
}

// NewCA makes a fresh ECDSA P-256 CA, valid for a week.
func NewCA() (*CA, error) {
	key, der, cert, err := signed(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "grpclab test CA"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}, nil, time.Now())
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	return &CA{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert: cert, key: key}, nil
}

// signed makes a fresh P-256 key and a certificate of tmpl for it, under a random serial,
// valid from now (less the clock skew) for the validity, and signed by the issuer; a nil
// issuer has the new key sign it, as a root CA is.
func signed(tmpl *x509.Certificate, issuer *CA, now time.Time) (*ecdsa.PrivateKey, []byte, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generate key: %w", err)
	}
	tmpl.SerialNumber = serial()
	tmpl.Subject.Organization = []string{"grpclab"}
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-clockSkew), now.Add(validity)
	parent, parentKey := tmpl, key
	if issuer != nil {
		parent, parentKey = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err == nil {
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(der); err == nil {
			return key, der, cert, nil
		}
	}
	return nil, nil, nil, fmt.Errorf("sign: %w", err)
}

// Issue signs a leaf for hosts (DNS names or addresses), for callers outside the manifests:
// tests and tools that need a server certificate this CA vouches for.
func (ca *CA) Issue(hosts ...string) (Cert, error) {
	if ca == nil || ca.cert == nil || ca.key == nil {
		return Cert{}, errors.New("issue certificate: no CA (use NewCA)")
	}
	return leaf(ca, manifests.TLSSecret{Hosts: hosts}, time.Now())
}

// Generate makes a fresh CA and a leaf for every Secret a Gateway listener certificateRef or an
// Ingress tls secretName references, with SANs from the hosts that use it (see manifests.TLSSecrets).
// Run manifests.Validate first: references it rejects are not generated.
func Generate(objs []manifests.Object) (*Bundle, error) {
	ca, err := NewCA()
	if err != nil {
		return nil, err
	}
	return GenerateWithCA(ca, objs)
}

// GenerateWithCA is Generate with a CA the caller keeps.
func GenerateWithCA(ca *CA, objs []manifests.Object) (*Bundle, error) {
	if ca == nil || ca.cert == nil || ca.key == nil {
		return nil, errors.New("generate certificates: no CA (use NewCA)")
	}
	now := time.Now()
	b := &Bundle{CA: ca.CertPEM}
	for _, ref := range manifests.TLSSecrets(objs) {
		c, err := leaf(ca, ref, now)
		if err != nil {
			return nil, fmt.Errorf("certificate for Secret %s/%s: %w", ref.Namespace, ref.Name, err)
		}
		b.Certs = append(b.Certs, c)
	}
	return b, nil
}

func leaf(ca *CA, ref manifests.TLSSecret, now time.Time) (Cert, error) {
	if len(ref.Hosts) == 0 {
		return Cert{}, errors.New("no hosts")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: ref.Hosts[0]},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range ref.Hosts {
		// A listener or Ingress host may be an address; it belongs in the IP SANs.
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	key, der, _, err := signed(tmpl, ca, now)
	if err != nil {
		return Cert{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Cert{}, fmt.Errorf("encode key: %w", err)
	}
	return Cert{
		Namespace: ref.Namespace,
		Name:      ref.Name,
		Hosts:     ref.Hosts,
		CertPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// serial is a random 128-bit serial number, as RFC 5280 recommends for uniqueness.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		// crypto/rand does not fail on supported platforms; a fixed serial is still a valid cert.
		return big.NewInt(1)
	}
	return n
}

// CAFile is the name WriteFiles gives the CA certificate.
const CAFile = "ca.crt"

// Secrets returns one kubernetes.io/tls Secret per leaf (tls.crt, tls.key), in Certs order. The CA
// is not in the cluster: only clients need it, and they read Bundle.CA or the ca.crt file.
func (b *Bundle) Secrets() []*corev1.Secret {
	out := make([]*corev1.Secret, 0, len(b.Certs))
	for _, c := range b.Certs {
		out = append(out, &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: c.Name, Labels: map[string]string{"app.kubernetes.io/managed-by": "grpclab"}},
			Type:       corev1.SecretTypeTLS,
			Data: map[string][]byte{
				corev1.TLSCertKey:       c.CertPEM,
				corev1.TLSPrivateKeyKey: c.KeyPEM,
			},
		})
	}
	return out
}

// WriteFiles writes ca.crt and, for every leaf, <dir>/<namespace>/<name>.crt and .key (0600), and
// returns the paths keyed by "<namespace>/<name>".
func (b *Bundle) WriteFiles(dir string) (map[string]Paths, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write certificates: %w", err)
	}
	if err := writeFile(filepath.Join(dir, CAFile), b.CA, 0o644); err != nil {
		return nil, err
	}
	out := make(map[string]Paths, len(b.Certs))
	for _, c := range b.Certs {
		nsDir := filepath.Join(dir, c.Namespace)
		if err := os.MkdirAll(nsDir, 0o755); err != nil {
			return nil, fmt.Errorf("write certificates: %w", err)
		}
		p := Paths{CertFile: filepath.Join(nsDir, c.Name+".crt"), KeyFile: filepath.Join(nsDir, c.Name+".key")}
		if err := writeFile(p.CertFile, c.CertPEM, 0o644); err != nil {
			return nil, err
		}
		if err := writeFile(p.KeyFile, c.KeyPEM, 0o600); err != nil {
			return nil, err
		}
		out[c.Namespace+"/"+c.Name] = p
	}
	return out, nil
}

// writeFile replaces path with data at exactly mode: os.WriteFile keeps the mode of an existing
// file, and a key once written 0644 must not stay readable.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
