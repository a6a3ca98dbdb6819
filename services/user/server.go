package user

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpclab/grpclab/services/interceptor"
	"github.com/grpclab/grpclab/services/userpb"
)

// DefaultWatchInterval is used when WatchEvents asks for interval_ms 0.
const DefaultWatchInterval = time.Second

var (
	errNoUser       = status.Error(codes.InvalidArgument, "username: must not be empty")
	errNotFound     = status.Error(codes.NotFound, "user not found")
	errShuttingDown = status.Error(codes.Unavailable, "server is shutting down")
)

// Server implements com.example.User over a Store.
type Server struct {
	userpb.UnimplementedUserServer

	store *Store
	name  string
	// draining is closed when the server begins a graceful stop, so that
	// unbounded WatchEvents streams end instead of holding the stop until
	// its deadline.
	draining <-chan struct{}
}

// NewServer returns the service. name is reported in every Event; draining,
// when closed, ends open WatchEvents streams with Unavailable (nil: never).
func NewServer(store *Store, name string, draining <-chan struct{}) *Server {
	return &Server{store: store, name: name, draining: draining}
}

// Login returns the caller's profile. The auth interceptor has checked the
// credentials; with --auth=false the username metadata is taken on trust.
func (s *Server) Login(ctx context.Context, _ *userpb.LoginRequest) (*userpb.LoginReply, error) {
	name := caller(ctx)
	if name == "" {
		return nil, status.Error(codes.Unauthenticated, "no username metadata")
	}
	p, ok := s.store.Profile(name)
	if !ok {
		return nil, errNotFound
	}
	return &userpb.LoginReply{Profile: toProto(p)}, nil
}

// GetProfile returns a stored profile.
func (s *Server) GetProfile(_ context.Context, req *userpb.GetProfileRequest) (*userpb.Profile, error) {
	if req.GetUsername() == "" {
		return nil, errNoUser
	}
	p, ok := s.store.Profile(req.GetUsername())
	if !ok {
		return nil, errNotFound
	}
	return toProto(p), nil
}

// DeleteUser removes a user. It is idempotent: deleting an absent user
// succeeds with deleted=false, so scenarios can exercise the permission
// check without destroying the demo accounts.
func (s *Server) DeleteUser(_ context.Context, req *userpb.DeleteUserRequest) (*userpb.DeleteUserReply, error) {
	if req.GetUsername() == "" {
		return nil, errNoUser
	}
	return &userpb.DeleteUserReply{Deleted: s.store.Delete(req.GetUsername())}, nil
}

// WatchEvents sends an event every interval_ms, count times (0: until the
// client cancels or the server drains).
func (s *Server) WatchEvents(req *userpb.WatchEventsRequest, stream grpc.ServerStreamingServer[userpb.Event]) error {
	interval := time.Duration(req.GetIntervalMs()) * time.Millisecond
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	ctx := stream.Context()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for seq := uint64(1); req.GetCount() == 0 || seq <= uint64(req.GetCount()); seq++ {
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-s.draining:
			return errShuttingDown
		case now := <-ticker.C:
			ev := &userpb.Event{Seq: seq, UnixMs: now.UnixMilli(), ServedBy: s.name}
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// caller is the authenticated username, or with auth off the single
// username metadata value.
func caller(ctx context.Context) string {
	if name, ok := interceptor.Username(ctx); ok {
		return name
	}
	if v := metadata.ValueFromIncomingContext(ctx, interceptor.MetadataUsername); len(v) == 1 {
		return v[0]
	}
	return ""
}

func toProto(p Profile) *userpb.Profile {
	return &userpb.Profile{Username: p.Username, DisplayName: p.DisplayName, Roles: p.Roles}
}
