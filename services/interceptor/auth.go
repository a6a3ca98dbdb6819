package interceptor

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Authenticator checks credentials and per-method permissions; user.Store
// implements it.
type Authenticator interface {
	// Authenticate reports whether password belongs to username. It must
	// compare in constant time.
	Authenticate(username, password string) bool
	// Allowed reports whether username may call method (the bare method
	// name, e.g. "DeleteUser").
	Allowed(username, method string) bool
}

// Unauthenticated details name what was wrong with the metadata but never
// echo a value, and never tell an unknown user from a wrong password.
var errBadCredentials = status.Error(codes.Unauthenticated, "invalid username or password")

// Auth authenticates calls to protected services from the username and
// password metadata. Unlike the article's interceptor it never indexes
// metadata blindly: missing, empty or repeated values are Unauthenticated.
type Auth struct {
	authn     Authenticator
	protected []string
}

// NewAuth returns an Auth guarding the named services.
func NewAuth(a Authenticator, services ...string) *Auth {
	return &Auth{authn: a, protected: slices.Clone(services)}
}

type usernameKey struct{}

// Username returns the authenticated caller, if the auth interceptor ran.
func Username(ctx context.Context) (string, bool) {
	u, ok := ctx.Value(usernameKey{}).(string)
	return u, ok
}

// Check returns ctx carrying the caller's username when fullMethod is public
// or the metadata holds valid credentials allowed to call it.
func (a *Auth) Check(ctx context.Context, fullMethod string) (context.Context, error) {
	service, method := splitMethod(fullMethod)
	if !slices.Contains(a.protected, service) {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	username, err := single(md, MetadataUsername)
	if err != nil {
		return ctx, err
	}
	password, err := single(md, MetadataPassword)
	if err != nil {
		return ctx, err
	}
	if !a.authn.Authenticate(username, password) {
		return ctx, errBadCredentials
	}
	if !a.authn.Allowed(username, method) {
		return ctx, status.Errorf(codes.PermissionDenied, "user %q may not call %s", username, method)
	}
	return context.WithValue(ctx, usernameKey{}, username), nil
}

// single returns the one non-empty value of key.
func single(md metadata.MD, key string) (string, error) {
	v := md.Get(key)
	switch {
	case len(v) == 0:
		return "", status.Errorf(codes.Unauthenticated, "missing %s metadata", key)
	case len(v) > 1:
		return "", status.Errorf(codes.Unauthenticated, "%s metadata given %d times, want once", key, len(v))
	case v[0] == "":
		return "", status.Errorf(codes.Unauthenticated, "empty %s metadata", key)
	}
	return v[0], nil
}

// Unary is the unary interceptor.
func (a *Auth) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := a.Check(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is the stream interceptor.
func (a *Auth) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := a.Check(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
}
