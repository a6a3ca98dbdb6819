package greeter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/grpclab/grpclab/services/helloworldpb"
)

func client(t *testing.T) helloworldpb.GreeterClient {
	t.Helper()
	lis := bufconn.Listen(1 << 16)
	s := grpc.NewServer()
	helloworldpb.RegisterGreeterServer(s, New("g-0"))
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return helloworldpb.NewGreeterClient(conn)
}

func TestSayHello(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := client(t).SayHello(ctx, &helloworldpb.HelloRequest{Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetMessage() != "Hello bob from g-0" {
		t.Errorf("message = %q", resp.GetMessage())
	}
}

// TestSayHelloStream: one reply per request, in order, then a clean end
// when the client closes its side.
func TestSayHelloStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := client(t).SayHelloStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := st.Send(&helloworldpb.HelloRequest{Name: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		resp, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("Hello %d from g-0", i); resp.GetMessage() != want {
			t.Errorf("reply %d = %q, want %q", i, resp.GetMessage(), want)
		}
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after CloseSend: %v, want io.EOF", err)
	}
}
