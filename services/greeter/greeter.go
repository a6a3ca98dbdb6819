// Package greeter implements the public helloworld.Greeter service.
package greeter

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"

	"github.com/grpclab/grpclab/services/helloworldpb"
)

// Server implements helloworld.Greeter. Replies name the serving instance so
// that a client without access to headers can still tell backends apart.
type Server struct {
	helloworldpb.UnimplementedGreeterServer

	name string
}

// New returns a greeter that signs its replies with name.
func New(name string) *Server { return &Server{name: name} }

// SayHello answers "Hello <name> from <server>".
func (s *Server) SayHello(_ context.Context, req *helloworldpb.HelloRequest) (*helloworldpb.HelloReply, error) {
	return &helloworldpb.HelloReply{Message: s.greet(req.GetName())}, nil
}

// SayHelloStream answers each request in order until the client closes.
func (s *Server) SayHelloStream(stream grpc.BidiStreamingServer[helloworldpb.HelloRequest, helloworldpb.HelloReply]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&helloworldpb.HelloReply{Message: s.greet(req.GetName())}); err != nil {
			return err
		}
	}
}

func (s *Server) greet(name string) string {
	return "Hello " + name + " from " + s.name
}
