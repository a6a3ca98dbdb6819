// Package serve builds the grpclab gRPC server: the greeter and
// com.example.User services, health, reflection and the interceptor chain.
// The binary, the tests and the benchmarks all build servers here.
package serve

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/grpclab/grpclab/services/greeter"
	"github.com/grpclab/grpclab/services/helloworldpb"
	"github.com/grpclab/grpclab/services/interceptor"
	"github.com/grpclab/grpclab/services/user"
	"github.com/grpclab/grpclab/services/userpb"
)

// ListeningPrefix starts the one line grpclab-server prints on stdout once
// it listens. The exact line is
//
//	grpclab-server listening on HOST:PORT
//
// where HOST:PORT is the listener's address (net.Addr.String(), e.g.
// "127.0.0.1:40123" or "[::]:50051"). Parents that pass --addr
// 127.0.0.1:0 learn the port from it; keep it stable.
const ListeningPrefix = "grpclab-server listening on "

// Service names, as health checks and routes spell them.
var (
	GreeterService = helloworldpb.Greeter_ServiceDesc.ServiceName // "helloworld.Greeter"
	UserService    = userpb.User_ServiceDesc.ServiceName          // "com.example.User"
)

// Config describes one server.
type Config struct {
	// Name is the identity sent in x-served-by and in replies.
	Name string
	// Auth protects com.example.User with the Users store.
	Auth bool
	// Reflection registers server reflection v1 and v1alpha.
	Reflection bool
	// Users holds accounts; nil uses user.DemoAccounts.
	Users *user.Store
	// Creds are the transport credentials; nil serves plaintext.
	Creds credentials.TransportCredentials
	// Logger receives call logs; nil discards them.
	Logger *slog.Logger
	// Greeter replaces the greeter implementation (tests inject faults).
	Greeter helloworldpb.GreeterServer
}

// Server is a built gRPC server with its health service.
type Server struct {
	GRPC   *grpc.Server
	Health *health.Server

	draining  chan struct{}
	drainOnce sync.Once
}

// New builds the full server: interceptor chain, services, health and, if
// asked, reflection. It does not listen; call s.GRPC.Serve.
func New(c Config) (*Server, error) {
	return build(c, true)
}

// NewBare builds the same services and health/reflection with no
// interceptors: the plain grpc-go baseline the benchmarks compare against.
func NewBare(c Config) (*Server, error) {
	return build(c, false)
}

func build(c Config, chain bool) (*Server, error) {
	store := c.Users
	if store == nil {
		var err error
		if store, err = user.NewStore(user.DemoAccounts()); err != nil {
			return nil, fmt.Errorf("demo users: %w", err)
		}
	}
	var opts []grpc.ServerOption
	if c.Creds != nil {
		opts = append(opts, grpc.Creds(c.Creds))
	}
	if chain {
		ic := interceptor.Config{Name: c.Name, Logger: c.Logger}
		if c.Auth {
			ic.Auth = store
			ic.Protected = []string{UserService}
		}
		opts = append(opts, interceptor.ServerOptions(ic)...)
		// Unknown methods pass through the stream chain too, so even an
		// Unimplemented answer says who served it.
		opts = append(opts, grpc.UnknownServiceHandler(unknown))
	}
	s := &Server{
		GRPC:     grpc.NewServer(opts...),
		Health:   health.NewServer(),
		draining: make(chan struct{}),
	}
	g := c.Greeter
	if g == nil {
		g = greeter.New(c.Name)
	}
	helloworldpb.RegisterGreeterServer(s.GRPC, g)
	userpb.RegisterUserServer(s.GRPC, user.NewServer(store, c.Name, s.draining))
	healthpb.RegisterHealthServer(s.GRPC, s.Health)
	if c.Reflection {
		reflection.Register(s.GRPC)
	}
	for _, name := range []string{"", GreeterService, UserService} {
		s.Health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	return s, nil
}

func unknown(_ any, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	return status.Errorf(codes.Unimplemented, "unknown method %s", method)
}

// Shutdown stops gracefully: health turns NOT_SERVING for every service,
// open WatchEvents streams end with Unavailable, in-flight calls finish, and
// when ctx ends first the server is stopped hard. It returns ctx's error in
// that case.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Health.Shutdown()
	s.drainOnce.Do(func() { close(s.draining) })
	done := make(chan struct{})
	go func() {
		s.GRPC.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		// Stop closes every connection and cancels the calls' contexts. It
		// does not wait for handlers that ignore their context, and neither
		// do we: the process is about to exit.
		s.GRPC.Stop()
		return fmt.Errorf("graceful stop did not finish, stopped hard: %w", ctx.Err())
	}
}
