package serve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/grpclab/grpclab/services/helloworldpb"
	"github.com/grpclab/grpclab/services/userpb"
)

// benchConcurrency is the number of client goroutines sharing one
// connection in every benchmark here.
const benchConcurrency = 16

// benchServer serves s on loopback TCP and returns a client connection.
func benchServer(b *testing.B, full bool) *grpc.ClientConn {
	b.Helper()
	// Info level into io.Discard: what the binary does by default, minus
	// the terminal. Successful calls log at debug, so they cost a level
	// check only.
	c := Config{Name: "bench", Auth: true, Reflection: true,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	build := NewBare
	if full {
		build = New
	}
	s, err := build(c)
	if err != nil {
		b.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = s.GRPC.Serve(lis) }()
	b.Cleanup(s.GRPC.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return conn
}

type benchCall func(ctx context.Context, conn *grpc.ClientConn) error

var (
	sayHello benchCall = func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := helloworldpb.NewGreeterClient(conn).SayHello(ctx, &helloworldpb.HelloRequest{Name: "bench"})
		return err
	}
	login benchCall = func(ctx context.Context, conn *grpc.ClientConn) error {
		ctx = metadata.AppendToOutgoingContext(ctx, "username", "admin", "password", "admin-password")
		_, err := userpb.NewUserClient(conn).Login(ctx, &userpb.LoginRequest{})
		return err
	}
)

// runFixed runs n calls from exactly benchConcurrency goroutines and returns
// the wall time. RunParallel would scale with GOMAXPROCS instead.
func runFixed(b *testing.B, conn *grpc.ClientConn, call benchCall, n int) time.Duration {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for range benchConcurrency {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := call(ctx, conn); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("call failed: %v", *err)
	}
	return time.Since(start)
}

// BenchmarkUnary measures SayHello and Login at concurrency 16 over
// loopback TCP, through the full chain and on a bare grpc-go server.
func BenchmarkUnary(b *testing.B) {
	for _, m := range []struct {
		name string
		call benchCall
	}{{"SayHello", sayHello}, {"Login", login}} {
		for _, full := range []bool{true, false} {
			name := m.name + "/bare"
			if full {
				name = m.name + "/full"
			}
			b.Run(name, func(b *testing.B) {
				conn := benchServer(b, full)
				runFixed(b, conn, m.call, 100) // warm the connection
				b.ReportAllocs()
				b.ResetTimer()
				runFixed(b, conn, m.call, b.N)
			})
		}
	}
}

// BenchmarkChainOverhead runs the full and the bare server in alternating
// slices within one benchmark, so both see the same machine load, and
// reports the chain's cost as overhead-% of the bare time per call
// (the budget is 10%).
func BenchmarkChainOverhead(b *testing.B) {
	for _, m := range []struct {
		name string
		call benchCall
	}{{"SayHello", sayHello}, {"Login", login}} {
		b.Run(m.name, func(b *testing.B) {
			full, bare := benchServer(b, true), benchServer(b, false)
			runFixed(b, full, m.call, 100)
			runFixed(b, bare, m.call, 100)
			b.ResetTimer()
			var tFull, tBare time.Duration
			const slice = 500
			for done := 0; done < b.N; done += slice {
				n := min(slice, b.N-done)
				tBare += runFixed(b, bare, m.call, n)
				tFull += runFixed(b, full, m.call, n)
			}
			b.ReportMetric(float64(tFull.Nanoseconds())/float64(b.N), "full-ns/call")
			b.ReportMetric(float64(tBare.Nanoseconds())/float64(b.N), "bare-ns/call")
			b.ReportMetric(100*(float64(tFull)/float64(tBare)-1), "overhead-%")
		})
	}
}
