package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpclab/grpclab/scenarios/call"
	"github.com/grpclab/grpclab/services/helloworldpb"
	"github.com/grpclab/grpclab/services/userpb"
)

// messages returns a fresh request and reply for a unary method the client knows. The
// client uses the generated types so that it is as plain as a grpc-go client gets: it is
// the yardstick ghz is checked against.
func messages(m Method) (req, reply proto.Message, err error) {
	switch m.FullMethod() {
	case SayHello.FullMethod():
		return &helloworldpb.HelloRequest{Name: "bench"}, &helloworldpb.HelloReply{}, nil
	case Login.FullMethod():
		return &userpb.LoginRequest{}, &userpb.LoginReply{}, nil
	default:
		return nil, nil, fmt.Errorf("the closed-loop client makes unary SayHello and Login calls only, not %s", m.FullMethod())
	}
}

// Window bounds one client run: calls made before Warmup is over are not counted, and the
// run ends after Duration or MaxCalls counted calls, whichever comes first.
type Window struct {
	Warmup   time.Duration
	Duration time.Duration
	MaxCalls int
}

// sample is what one worker measured.
type sample struct {
	ok      []time.Duration
	errs    map[string]int
	samples map[string]string
}

// runClient is a closed loop: Concurrency workers, each making its next call as soon as the
// last returns. Shared: every worker multiplexes on one connection. PerCall: every call
// dials, calls and closes its own connection, and its latency includes the handshake.
func runClient(ctx context.Context, c Case, w Window) (Stats, error) {
	if _, _, err := messages(c.method); err != nil {
		return Stats{}, fmt.Errorf("case %s: %w", c.Name(), err)
	}
	if c.Concurrency < 1 {
		return Stats{}, fmt.Errorf("case %s: concurrency %d: want at least 1", c.Name(), c.Concurrency)
	}
	if len(c.method.Metadata) > 0 {
		for k, v := range c.method.Metadata {
			ctx = metadata.AppendToOutgoingContext(ctx, k, v)
		}
	}
	var shared *grpc.ClientConn
	if c.Conn == Shared {
		conn, err := call.Dial(c.target)
		if err != nil {
			return Stats{}, fmt.Errorf("case %s: %w", c.Name(), err)
		}
		defer conn.Close()
		shared = conn
		// One untimed call connects, so the warm-up is not spent on the handshake. A failure
		// here is not returned: the same failure is counted by the run itself.
		req, reply, _ := messages(c.method)
		_, _ = invoke(ctx, shared, c, req, reply)
	}

	start := time.Now()
	measureFrom := start.Add(w.Warmup)
	deadline := measureFrom.Add(w.Duration)
	// counted hands out the call budget across workers.
	var mu sync.Mutex
	counted := 0
	take := func(at time.Time) bool {
		if at.Before(measureFrom) || w.MaxCalls <= 0 {
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		if counted >= w.MaxCalls {
			return false
		}
		counted++
		return true
	}

	samples := make([]sample, c.Concurrency)
	var wg sync.WaitGroup
	for i := range samples {
		s := &samples[i]
		s.errs, s.samples = map[string]int{}, map[string]string{}
		wg.Go(func() {
			req, reply, _ := messages(c.method)
			for ctx.Err() == nil {
				begin := time.Now()
				if !begin.Before(deadline) || !take(begin) {
					return
				}
				closeConn, err := invoke(ctx, shared, c, req, reply)
				took := time.Since(begin)
				// Closing is not part of the call a user waits for.
				closeConn()
				if begin.Before(measureFrom) {
					continue
				}
				if err != nil {
					if ctx.Err() != nil {
						return // cancelled by the caller, not a failure of the path
					}
					code := status.Code(err).String()
					s.errs[code]++
					if _, seen := s.samples[code]; !seen {
						s.samples[code] = err.Error()
					}
					continue
				}
				s.ok = append(s.ok, took)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Stats{}, fmt.Errorf("case %s: %w", c.Name(), err)
	}
	window := min(time.Since(measureFrom), w.Duration)
	var ok []time.Duration
	errs, firstMsg := map[string]int{}, map[string]string{}
	for _, s := range samples {
		ok = append(ok, s.ok...)
		for code, n := range s.errs {
			errs[code] += n
			if _, seen := firstMsg[code]; !seen {
				firstMsg[code] = s.samples[code]
			}
		}
	}
	return summarise(ok, errs, firstMsg, window), nil
}

// invoke makes one call, on conn or, when conn is nil, on a connection of its own that the
// returned function closes.
func invoke(ctx context.Context, conn *grpc.ClientConn, c Case, req, reply proto.Message) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	closeConn := func() {}
	if conn == nil {
		own, err := call.Dial(c.target)
		if err != nil {
			return closeConn, err
		}
		closeConn = func() { own.Close() }
		conn = own
	}
	return closeConn, conn.Invoke(ctx, c.method.FullMethod(), req, reply)
}
