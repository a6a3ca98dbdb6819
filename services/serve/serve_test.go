package serve

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/jhump/protoreflect/grpcreflect"

	"github.com/grpclab/grpclab/services/greeter"
	"github.com/grpclab/grpclab/services/helloworldpb"
	"github.com/grpclab/grpclab/services/interceptor"
	"github.com/grpclab/grpclab/services/user"
	"github.com/grpclab/grpclab/services/userpb"
)

const testName = "test-server-0"

// start serves s over bufconn and returns a client connection.
func start(t *testing.T, s *Server) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.GRPC.Serve(lis) }()
	t.Cleanup(s.GRPC.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial bufconn: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func newServer(t *testing.T, c Config) *Server {
	t.Helper()
	if c.Name == "" {
		c.Name = testName
	}
	s, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func ctxWith(t *testing.T, kv ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if len(kv) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(kv...))
	}
	return ctx
}

const (
	u = interceptor.MetadataUsername
	p = interceptor.MetadataPassword
)

// TestAuthRules covers every auth rule by name, over the full chain.
func TestAuthRules(t *testing.T) {
	conn := start(t, newServer(t, Config{Auth: true, Reflection: true}))
	users := userpb.NewUserClient(conn)
	type call func(context.Context) error
	login := func(ctx context.Context) error { _, err := users.Login(ctx, &userpb.LoginRequest{}); return err }
	del := func(ctx context.Context) error {
		_, err := users.DeleteUser(ctx, &userpb.DeleteUserRequest{Username: "nobody"})
		return err
	}
	watch := func(ctx context.Context) error {
		st, err := users.WatchEvents(ctx, &userpb.WatchEventsRequest{IntervalMs: 1, Count: 1})
		if err != nil {
			return err
		}
		for {
			if _, err := st.Recv(); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	}
	tests := []struct {
		name string
		call call
		md   []string
		want codes.Code
	}{
		{"missing username", login, []string{p, "admin-password"}, codes.Unauthenticated},
		{"missing password", login, []string{u, "admin"}, codes.Unauthenticated},
		{"missing both", login, nil, codes.Unauthenticated},
		{"empty username", login, []string{u, "", p, "admin-password"}, codes.Unauthenticated},
		{"empty password", login, []string{u, "admin", p, ""}, codes.Unauthenticated},
		{"duplicated username", login, []string{u, "admin", u, "admin", p, "admin-password"}, codes.Unauthenticated},
		{"duplicated password", login, []string{u, "admin", p, "admin-password", p, "admin-password"}, codes.Unauthenticated},
		{"wrong password", login, []string{u, "admin", p, "alice-password"}, codes.Unauthenticated},
		{"unknown user", login, []string{u, "mallory", p, "admin-password"}, codes.Unauthenticated},
		{"admin login", login, []string{u, "admin", p, "admin-password"}, codes.OK},
		{"alice login", login, []string{u, "alice", p, "alice-password"}, codes.OK},
		{"alice not allowed DeleteUser", del, []string{u, "alice", p, "alice-password"}, codes.PermissionDenied},
		{"admin allowed DeleteUser", del, []string{u, "admin", p, "admin-password"}, codes.OK},
		{"stream needs credentials", watch, nil, codes.Unauthenticated},
		{"stream wrong password", watch, []string{u, "alice", p, "nope"}, codes.Unauthenticated},
		{"stream with credentials", watch, []string{u, "alice", p, "alice-password"}, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(ctxWith(t, tt.md...))
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

// TestPublicServices: health, reflection (v1 and v1alpha) and the greeter
// need no credentials even with auth on.
func TestPublicServices(t *testing.T) {
	conn := start(t, newServer(t, Config{Auth: true, Reflection: true}))
	ctx := ctxWith(t)

	t.Run("health", func(t *testing.T) {
		for _, svc := range []string{"", GreeterService, UserService} {
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health %q = %v, %v; want SERVING", svc, resp.GetStatus(), err)
			}
		}
	})
	t.Run("greeter", func(t *testing.T) {
		resp, err := helloworldpb.NewGreeterClient(conn).SayHello(ctx, &helloworldpb.HelloRequest{Name: "bob"})
		if err != nil {
			t.Fatalf("SayHello: %v", err)
		}
		if want := "Hello bob from " + testName; resp.GetMessage() != want {
			t.Errorf("message = %q, want %q", resp.GetMessage(), want)
		}
	})
	for _, rc := range []struct {
		api    string
		client func(context.Context) *grpcreflect.Client
	}{
		{"v1", func(ctx context.Context) *grpcreflect.Client {
			return grpcreflect.NewClientV1(ctx, reflectionv1.NewServerReflectionClient(conn))
		}},
		{"v1alpha", func(ctx context.Context) *grpcreflect.Client {
			return grpcreflect.NewClientV1Alpha(ctx, reflectionv1alpha.NewServerReflectionClient(conn))
		}},
	} {
		t.Run("reflection "+rc.api, func(t *testing.T) {
			c := rc.client(ctx)
			defer c.Reset()
			names, err := c.ListServices()
			if err != nil {
				t.Fatalf("reflection %s: %v", rc.api, err)
			}
			for _, want := range []string{GreeterService, UserService} {
				if !slices.Contains(names, want) {
					t.Errorf("reflection %s lists %v, missing %s", rc.api, names, want)
				}
			}
		})
	}
}

func TestReflectionOff(t *testing.T) {
	conn := start(t, newServer(t, Config{Reflection: false}))
	st, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctxWith(t))
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("reflection with --reflection=false: %v, want Unimplemented", err)
	}
}

func TestAuthOff(t *testing.T) {
	conn := start(t, newServer(t, Config{Auth: false}))
	resp, err := userpb.NewUserClient(conn).Login(ctxWith(t, u, "alice"), &userpb.LoginRequest{})
	if err != nil {
		t.Fatalf("Login with auth off: %v", err)
	}
	if resp.GetProfile().GetUsername() != "alice" {
		t.Errorf("profile = %v, want alice", resp.GetProfile())
	}
}

// TestIdentityHeaders: x-served-by and x-transport-security go out on
// success, on auth errors, on unknown methods and on recovered panics.
func TestIdentityHeaders(t *testing.T) {
	conn := start(t, newServer(t, Config{Auth: true, Greeter: panicky{greeter.New(testName)}}))
	greet := helloworldpb.NewGreeterClient(conn)
	users := userpb.NewUserClient(conn)
	tests := []struct {
		name string
		call func(context.Context, *metadata.MD) error
		want codes.Code
	}{
		{"unary success", func(ctx context.Context, h *metadata.MD) error {
			_, err := greet.SayHello(ctx, &helloworldpb.HelloRequest{Name: "x"}, grpc.Header(h))
			return err
		}, codes.OK},
		{"unary auth error", func(ctx context.Context, h *metadata.MD) error {
			_, err := users.Login(ctx, &userpb.LoginRequest{}, grpc.Header(h))
			return err
		}, codes.Unauthenticated},
		{"unary panic", func(ctx context.Context, h *metadata.MD) error {
			_, err := greet.SayHello(ctx, &helloworldpb.HelloRequest{Name: "panic"}, grpc.Header(h))
			return err
		}, codes.Internal},
		{"stream auth error", func(ctx context.Context, h *metadata.MD) error {
			st, err := users.WatchEvents(ctx, &userpb.WatchEventsRequest{Count: 1})
			if err != nil {
				return err
			}
			_, err = st.Recv()
			*h, _ = st.Header()
			return err
		}, codes.Unauthenticated},
		{"stream success", func(ctx context.Context, h *metadata.MD) error {
			st, err := greet.SayHelloStream(ctx)
			if err != nil {
				return err
			}
			if err := st.Send(&helloworldpb.HelloRequest{Name: "x"}); err != nil {
				return err
			}
			_, err = st.Recv()
			*h, _ = st.Header()
			return err
		}, codes.OK},
		{"unknown method", func(ctx context.Context, h *metadata.MD) error {
			return conn.Invoke(ctx, "/helloworld.Greeter/Nope", &helloworldpb.HelloRequest{}, &helloworldpb.HelloReply{}, grpc.Header(h))
		}, codes.Unimplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h metadata.MD
			err := tt.call(ctxWith(t), &h)
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
			if got := h.Get(interceptor.HeaderServedBy); len(got) != 1 || got[0] != testName {
				t.Errorf("%s = %v, want [%s]", interceptor.HeaderServedBy, got, testName)
			}
			if got := h.Get(interceptor.HeaderTransportSecurity); len(got) != 1 || got[0] != interceptor.TransportInsecure {
				t.Errorf("%s = %v, want [%s]", interceptor.HeaderTransportSecurity, got, interceptor.TransportInsecure)
			}
		})
	}
}

// panicky is a greeter that panics for the name "panic".
type panicky struct{ *greeter.Server }

func (p panicky) SayHello(ctx context.Context, req *helloworldpb.HelloRequest) (*helloworldpb.HelloReply, error) {
	if req.GetName() == "panic" {
		panic("test panic")
	}
	return p.Server.SayHello(ctx, req)
}

func (p panicky) SayHelloStream(stream grpc.BidiStreamingServer[helloworldpb.HelloRequest, helloworldpb.HelloReply]) error {
	req, err := stream.Recv()
	if err == nil && req.GetName() == "panic" {
		panic("test stream panic")
	}
	return stream.Send(&helloworldpb.HelloReply{Message: "stream"})
}

func TestRecoveryKeepsServerAlive(t *testing.T) {
	conn := start(t, newServer(t, Config{Greeter: panicky{greeter.New(testName)}}))
	greet := helloworldpb.NewGreeterClient(conn)
	ctx := ctxWith(t)
	for range 3 {
		_, err := greet.SayHello(ctx, &helloworldpb.HelloRequest{Name: "panic"})
		if status.Code(err) != codes.Internal {
			t.Fatalf("panicking SayHello: %v, want Internal", err)
		}
		st, err := greet.SayHelloStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = st.Send(&helloworldpb.HelloRequest{Name: "panic"})
		if _, err := st.Recv(); status.Code(err) != codes.Internal {
			t.Fatalf("panicking SayHelloStream: %v, want Internal", err)
		}
	}
	if _, err := greet.SayHello(ctx, &helloworldpb.HelloRequest{Name: "after"}); err != nil {
		t.Fatalf("SayHello after panics: %v (the server should live on)", err)
	}
}

func TestWatchEvents(t *testing.T) {
	conn := start(t, newServer(t, Config{Auth: true}))
	ctx := ctxWith(t, u, "alice", p, "alice-password")
	st, err := userpb.NewUserClient(conn).WatchEvents(ctx, &userpb.WatchEventsRequest{IntervalMs: 5, Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for {
		ev, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if ev.GetServedBy() != testName {
			t.Errorf("served_by = %q, want %q", ev.GetServedBy(), testName)
		}
		seqs = append(seqs, ev.GetSeq())
	}
	if len(seqs) != 3 || seqs[0] != 1 || seqs[2] != 3 {
		t.Errorf("seqs = %v, want [1 2 3]", seqs)
	}
}

// slowGreeter blocks SayHello until release is closed, signalling entered.
type slowGreeter struct {
	helloworldpb.UnimplementedGreeterServer
	entered chan struct{}
	release chan struct{}
}

func (g *slowGreeter) SayHello(ctx context.Context, req *helloworldpb.HelloRequest) (*helloworldpb.HelloReply, error) {
	close(g.entered)
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return &helloworldpb.HelloReply{Message: "done " + req.GetName()}, nil
}

// TestGracefulShutdown: health turns NOT_SERVING during the drain, an
// in-flight call finishes, and Shutdown returns once it has.
func TestGracefulShutdown(t *testing.T) {
	g := &slowGreeter{entered: make(chan struct{}), release: make(chan struct{})}
	s := newServer(t, Config{Greeter: g})
	conn := start(t, s)
	ctx := ctxWith(t)

	// The health watch is itself an in-flight call; it gets its own
	// context so the test can end it once it has seen NOT_SERVING.
	watchCtx, endWatch := context.WithCancel(ctx)
	defer endWatch()
	watch, err := healthpb.NewHealthClient(conn).Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := watch.Recv(); err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health before shutdown = %v, %v; want SERVING", first.GetStatus(), err)
	}

	var reply *helloworldpb.HelloReply
	var callErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		reply, callErr = helloworldpb.NewGreeterClient(conn).SayHello(ctx, &helloworldpb.HelloRequest{Name: "inflight"})
	})
	<-g.entered

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctxWith(t)) }()

	if next, err := watch.Recv(); err != nil || next.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health during drain = %v, %v; want NOT_SERVING", next.GetStatus(), err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a call was in flight", err)
	default:
	}
	endWatch()
	// Only the slow call is left in flight now: Shutdown must still wait.
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while SayHello was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(g.release)
	wg.Wait()
	if callErr != nil || reply.GetMessage() != "done inflight" {
		t.Fatalf("in-flight call = %v, %v; want it to finish", reply, callErr)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the in-flight calls finished")
	}
}

// TestShutdownDeadline: a call that never finishes is cut off at the
// deadline and Shutdown reports it.
func TestShutdownDeadline(t *testing.T) {
	g := &slowGreeter{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(g.release)
	s := newServer(t, Config{Greeter: g})
	conn := start(t, s)
	errc := make(chan error, 1)
	go func() {
		_, err := helloworldpb.NewGreeterClient(conn).SayHello(ctxWith(t), &helloworldpb.HelloRequest{})
		errc <- err
	}()
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want a deadline error", err)
	}
	if err := <-errc; status.Code(err) != codes.Unavailable {
		t.Errorf("cut-off call = %v, want Unavailable", err)
	}
}

// TestShutdownEndsWatchEvents: an unbounded WatchEvents stream ends with
// Unavailable at drain instead of holding the stop to its deadline.
func TestShutdownEndsWatchEvents(t *testing.T) {
	s := newServer(t, Config{Auth: true})
	conn := start(t, s)
	st, err := userpb.NewUserClient(conn).WatchEvents(ctxWith(t, u, "admin", p, "admin-password"), &userpb.WatchEventsRequest{IntervalMs: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	if err := s.Shutdown(ctxWith(t)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for {
		if _, err = st.Recv(); err != nil {
			break
		}
	}
	if status.Code(err) != codes.Unavailable {
		t.Errorf("stream end = %v, want Unavailable", err)
	}
}

func TestUserMethods(t *testing.T) {
	store, err := user.NewStore(user.DemoAccounts())
	if err != nil {
		t.Fatal(err)
	}
	conn := start(t, newServer(t, Config{Auth: true, Users: store}))
	users := userpb.NewUserClient(conn)
	admin := ctxWith(t, u, "admin", p, "admin-password")

	login, err := users.Login(ctxWith(t, u, "alice", p, "alice-password"), &userpb.LoginRequest{})
	if err != nil || login.GetProfile().GetUsername() != "alice" {
		t.Fatalf("alice Login = %v, %v", login, err)
	}
	prof, err := users.GetProfile(admin, &userpb.GetProfileRequest{Username: "alice"})
	if err != nil || prof.GetDisplayName() != "Alice" {
		t.Fatalf("GetProfile(alice) = %v, %v", prof, err)
	}
	if _, err := users.GetProfile(admin, &userpb.GetProfileRequest{Username: "nobody"}); status.Code(err) != codes.NotFound {
		t.Errorf("GetProfile(nobody) = %v, want NotFound", err)
	}
	if _, err := users.GetProfile(admin, &userpb.GetProfileRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("GetProfile(\"\") = %v, want InvalidArgument", err)
	}
	del, err := users.DeleteUser(admin, &userpb.DeleteUserRequest{Username: "alice"})
	if err != nil || !del.GetDeleted() {
		t.Fatalf("DeleteUser(alice) = %v, %v", del, err)
	}
	if _, err := users.Login(ctxWith(t, u, "alice", p, "alice-password"), &userpb.LoginRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("Login of deleted alice = %v, want Unauthenticated", err)
	}
}
