package scenarios

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/grpclab/grpclab/scenarios/call"
)

// handshake dials the entry point with TLS as host and returns the verified leaf's names.
func handshake(ctx context.Context, target call.Target) ([]string, error) {
	cfg, err := target.TLSConfig()
	if err != nil {
		return nil, err
	}
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", target.Address)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	state := conn.(*tls.Conn).ConnectionState()
	if state.NegotiatedProtocol != "h2" {
		return nil, fmt.Errorf("ALPN negotiated %q, want h2", state.NegotiatedProtocol)
	}
	return state.PeerCertificates[0].DNSNames, nil
}

// TestTLS: the Gateway terminates TLS with the certificate for the SNI it is asked for,
// refuses hosts it has no certificate for and plaintext on its TLS port, and talks
// plaintext (h2c) to the backends: the article's "insecure backend" leg.
func TestTLS(t *testing.T) {
	s := newScenario("tls", "tls")
	for _, c := range []struct {
		entry entry
		host  string
	}{{gateway, fooHost}, {gateway, barHost}, {ingress, greeterHost}} {
		s.add(fmt.Sprintf("%s presents a certificate for %s signed by the CA", c.entry, c.host), func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			target := lab.need(t, lab.target(c.entry, c.host))
			lab.eventually(ctx, t, note, func(ctx context.Context) error {
				names, err := handshake(ctx, target)
				if err != nil {
					return err
				}
				note("certificate names %v", names)
				return nil
			})
		})
	}
	s.add("unknown SNI fails the handshake", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		target := lab.need(t, lab.target(gateway, "unknown.example.com"))
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			names, err := handshake(ctx, target)
			if err == nil {
				return fmt.Errorf("handshake for unknown.example.com succeeded with a certificate for %v", names)
			}
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				return fmt.Errorf("handshake timed out instead of failing: %w", err)
			}
			return nil
		})
	})
	s.add("plaintext HTTP/2 to the TLS port fails", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		target := lab.target(gateway, fooHost)
		target.Plaintext = true
		conn := lab.dial(t, target)
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			r := call.Unary(ctx, conn, login, alice...)
			if r.Code == codes.OK || r.ServedBy != "" {
				return fmt.Errorf("plaintext call through the TLS port got %s", r)
			}
			return nil
		})
	})
	s.add("the backend sees a plaintext connection behind the gateway", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		conn := lab.dial(t, lab.target(gateway, fooHost))
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			r := call.Unary(ctx, conn, login, alice...)
			if err := r.Expect(codes.OK, "foo-"); err != nil {
				return err
			}
			if r.Transport != "insecure" {
				return fmt.Errorf("backend reports x-transport-security %q, want insecure", r.Transport)
			}
			return nil
		})
	})
	s.add("the client's side of the gateway is TLS with ALPN h2", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		target := lab.need(t, lab.target(gateway, fooHost))
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			names, err := handshake(ctx, target)
			if err != nil {
				return err
			}
			if !slices.Contains(names, fooHost) && !slices.Contains(names, "*.example.com") {
				return fmt.Errorf("certificate names %v do not cover foo.example.com", names)
			}
			return nil
		})
	})
	testenv.Test(t, s.feature().Feature())
}
