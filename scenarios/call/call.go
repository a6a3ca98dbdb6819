// Package call is how suites and benchmarks talk to an entry point: dial it as a given host
// (TLS ServerName and :authority) and read back who answered and with which code.
package call

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpclab/grpclab/services/interceptor"
)

// Target is an entry point dialled as a host.
type Target struct {
	// Address is host:port to connect to.
	Address string
	// Host is the TLS ServerName and the :authority; empty means Address.
	Host string
	// CAFile verifies the server certificate; ignored when Plaintext.
	CAFile string
	// Plaintext dials h2c (no TLS).
	Plaintext bool
}

// TLSConfig returns the client TLS configuration for t: ServerName set, the CA trusted, h2 only.
func (t Target) TLSConfig() (*tls.Config, error) {
	pool := x509.NewCertPool()
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read CA %s: no certificate in it", t.CAFile)
		}
	}
	return &tls.Config{ServerName: t.Host, RootCAs: pool, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}, nil
}

// Dial returns a client connection to t; it connects lazily, on the first call.
func Dial(t Target, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if !t.Plaintext {
		cfg, err := t.TLSConfig()
		if err != nil {
			return nil, fmt.Errorf("dial %s as %s: %w", t.Address, t.Host, err)
		}
		creds = credentials.NewTLS(cfg)
	}
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(creds)}, opts...)
	if t.Host != "" {
		opts = append(opts, grpc.WithAuthority(t.Host))
	}
	conn, err := grpc.NewClient("passthrough:///"+t.Address, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s as %s: %w", t.Address, t.Host, err)
	}
	return conn, nil
}

// Result is what came back from one call.
type Result struct {
	Code    codes.Code
	Message string
	// ServedBy is the x-served-by header: the pod that answered (empty when no backend did).
	ServedBy string
	// Transport is the x-transport-security header: what the backend itself accepted.
	Transport string
	Header    metadata.MD
}

// HandshakeFailed reports whether the call failed because the TLS handshake did.
func (r Result) HandshakeFailed() bool {
	return r.Code == codes.Unavailable && (strings.Contains(r.Message, "handshake") || strings.Contains(r.Message, "tls:"))
}

// ExpectHandshakeFailure is nil when the TLS handshake failed, as it must for a host that
// the entry point holds no certificate for.
func (r Result) ExpectHandshakeFailure() error {
	if !r.HandshakeFailed() {
		return fmt.Errorf("got %s, want a failed TLS handshake", r)
	}
	return nil
}

func (r Result) String() string {
	s := r.Code.String()
	if r.ServedBy != "" {
		s += " served-by=" + r.ServedBy
	}
	if r.Code != codes.OK && r.Message != "" {
		s += fmt.Sprintf(" (%s)", r.Message)
	}
	return s
}

// Unary invokes method ("/pkg.Service/Method") with an empty request and the given metadata
// (pairs of key, value). An empty protobuf message is valid input for every method of the
// project's services, so suites need no generated code to route calls.
func Unary(ctx context.Context, conn *grpc.ClientConn, method string, md ...string) Result {
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	var header metadata.MD
	err := conn.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{}, grpc.Header(&header))
	return resultOf(err, header)
}

func resultOf(err error, header metadata.MD) Result {
	st, _ := status.FromError(err)
	r := Result{Code: st.Code(), Message: st.Message(), Header: header}
	if v := header.Get(interceptor.HeaderServedBy); len(v) > 0 {
		r.ServedBy = v[0]
	}
	if v := header.Get(interceptor.HeaderTransportSecurity); len(v) > 0 {
		r.Transport = v[0]
	}
	if err != nil && st == nil {
		r.Code, r.Message = codes.Unknown, err.Error()
	}
	return r
}

// ErrNotServedBy is returned by Expect when a call succeeded on the wrong backend.
var ErrNotServedBy = errors.New("served by the wrong backend")

// Expect checks r against a code and an x-served-by prefix ("" accepts any backend).
func (r Result) Expect(code codes.Code, servedByPrefix string) error {
	if r.Code != code {
		return fmt.Errorf("got %s, want code %s", r, code)
	}
	if servedByPrefix != "" && !strings.HasPrefix(r.ServedBy, servedByPrefix) {
		return fmt.Errorf("%w: got %s, want x-served-by prefix %q", ErrNotServedBy, r, servedByPrefix)
	}
	return nil
}
