// Package interceptor holds the server's unary and stream interceptors and
// the header and metadata names that clients and scenarios rely on.
//
// The chain order (outermost first) is:
//
//	recovery → identity → logging → auth
//
// recovery is outermost so a panic anywhere below becomes Internal and the
// server lives on. identity comes before auth and logging so that every
// response, including auth failures and recovered panics, carries
// x-served-by and x-transport-security (headers set before the handler
// returns are sent with the error status). logging sits outside auth so
// rejected calls are logged with their code.
package interceptor

import (
	"context"
	"strings"

	"google.golang.org/grpc"
)

// Header names sent on every response.
const (
	// HeaderServedBy carries the serving instance's name (--name).
	HeaderServedBy = "x-served-by"
	// HeaderTransportSecurity says whether the connection the server itself
	// accepted was TLS: TransportTLS or TransportInsecure. Behind a
	// TLS-terminating proxy it reads "insecure".
	HeaderTransportSecurity = "x-transport-security"

	TransportTLS      = "tls"
	TransportInsecure = "insecure"
)

// Metadata keys holding the caller's credentials (the article's scheme).
const (
	MetadataUsername = "username"
	MetadataPassword = "password"
)

// Config selects what the chain does.
type Config struct {
	// Name is sent in HeaderServedBy.
	Name string
	// Auth, when non-nil, authenticates and authorises calls to the
	// Protected services; nil leaves every service public.
	Auth Authenticator
	// Protected lists fully qualified service names that need credentials,
	// e.g. "com.example.User". Health, reflection and the greeter are not
	// listed and stay public.
	Protected []string
	// Logger receives call and panic logs; nil discards them.
	Logger Logger
}

// ServerOptions returns the interceptor chain as server options, in the
// order documented on the package.
func ServerOptions(c Config) []grpc.ServerOption {
	log := c.Logger
	if log == nil {
		log = discard()
	}
	unary := []grpc.UnaryServerInterceptor{
		RecoveryUnary(log),
		IdentityUnary(c.Name),
		LoggingUnary(log),
	}
	stream := []grpc.StreamServerInterceptor{
		RecoveryStream(log),
		IdentityStream(c.Name),
		LoggingStream(log),
	}
	if c.Auth != nil {
		a := NewAuth(c.Auth, c.Protected...)
		unary = append(unary, a.Unary)
		stream = append(stream, a.Stream)
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	}
}

// splitMethod splits "/pkg.Service/Method" into service and method. The
// service ends at the first slash: service names cannot hold one, and
// splitting at the last would let "/com.example.User//x" pass as some other,
// unprotected service.
func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	i := strings.IndexByte(full, '/')
	if i < 0 {
		return "", full
	}
	return full[:i], full[i+1:]
}

// wrappedStream replaces a stream's context.
type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
