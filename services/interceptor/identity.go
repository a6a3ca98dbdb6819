package interceptor

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// transportSecurity tells how the connection this server accepted is
// protected: "tls" only when the server's own credentials did a TLS
// handshake.
func transportSecurity(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.AuthInfo != nil && p.AuthInfo.AuthType() == "tls" {
		return TransportTLS
	}
	return TransportInsecure
}

// identityHeaders builds the two header sets once; SetHeader copies them
// into the stream's header, so sharing is safe.
func identityHeaders(name string) (insecure, tls metadata.MD) {
	return metadata.Pairs(HeaderServedBy, name, HeaderTransportSecurity, TransportInsecure),
		metadata.Pairs(HeaderServedBy, name, HeaderTransportSecurity, TransportTLS)
}

// IdentityUnary sets x-served-by and x-transport-security before the call
// runs, so they go out with the reply or the error.
func IdentityUnary(name string) grpc.UnaryServerInterceptor {
	insecure, tls := identityHeaders(name)
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md := insecure
		if transportSecurity(ctx) == TransportTLS {
			md = tls
		}
		// SetHeader fails only when headers were already sent, which cannot
		// happen before the handler runs.
		_ = grpc.SetHeader(ctx, md)
		return handler(ctx, req)
	}
}

// IdentityStream is IdentityUnary for streams.
func IdentityStream(name string) grpc.StreamServerInterceptor {
	insecure, tls := identityHeaders(name)
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		md := insecure
		if transportSecurity(ss.Context()) == TransportTLS {
			md = tls
		}
		_ = ss.SetHeader(md)
		return handler(srv, ss)
	}
}
