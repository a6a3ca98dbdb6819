package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bojand/ghz/load"
	"github.com/bojand/ghz/runner"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpclab/grpclab/services/helloworldpb"
	"github.com/grpclab/grpclab/services/userpb"
)

// protoset is the FileDescriptorSet of the project's services, built once from the
// generated Go packages, so ghz needs neither .proto files nor reflection (which the
// Gateway does not route).
var protoset = sync.OnceValues(func() ([]byte, error) {
	set := &descriptorpb.FileDescriptorSet{}
	for _, f := range []protoreflect.FileDescriptor{helloworldpb.File_helloworld_helloworld_proto, userpb.File_user_user_proto} {
		set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
	}
	b, err := proto.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("marshal the services' descriptor set: %w", err)
	}
	return b, nil
})

// ghzOptions are the runner options for c. The run ends when pace says so.
func ghzOptions(c Case, pace load.Pacer, skipFirst int) ([]runner.Option, error) {
	set, err := protoset()
	if err != nil {
		return nil, err
	}
	opts := []runner.Option{
		runner.WithProtosetBinary(set),
		runner.WithDataFromJSON(c.method.Data),
		runner.WithConcurrency(uint(c.Concurrency)),
		runner.WithConnections(1),
		runner.WithPacer(pace),
		runner.WithTimeout(10 * time.Second),
		runner.WithDialTimeout(10 * time.Second),
		runner.WithSkipFirst(uint(skipFirst)),
		runner.WithWorkerTicker(newStartTicker(c.Concurrency)),
	}
	if len(c.method.Metadata) > 0 {
		opts = append(opts, runner.WithMetadata(c.method.Metadata))
	}
	if c.method.Stream {
		opts = append(opts, runner.WithStreamCallCount(StreamMessages))
	}
	if c.target.Plaintext {
		opts = append(opts, runner.WithInsecure(true))
	} else {
		opts = append(opts, runner.WithRootCertificate(c.target.CAFile))
		if c.target.Host != "" {
			opts = append(opts, runner.WithServerNameOverride(c.target.Host), runner.WithAuthority(c.target.Host))
		}
	}
	return opts, nil
}

// runGHZ runs ghz for c over one shared connection for d or maxCalls calls, whichever
// ends first, or until ctx ends. Each worker's first call carries the connection's
// handshake, so the first Concurrency results are skipped.
//
// It drives ghz's Requester itself rather than runner.Run: Run registers a SIGINT handler
// per call that is never removed, so one Ctrl-C makes every earlier run's handler Stop a
// finished requester, which panics on its closed channel; and Stop races with a run
// ending on its own the same way. Here nothing calls Stop: the pacer ends the run.
func runGHZ(ctx context.Context, c Case, d time.Duration, maxCalls int) (Stats, error) {
	if c.Conn != Shared {
		return Stats{}, fmt.Errorf("case %s: ghz opens its connections before the run, so it cannot measure %s connections", c.Name(), c.Conn)
	}
	skip := c.Concurrency
	pace := &boundedPacer{ctx: ctx, duration: d, max: uint64(maxCalls + skip)}
	opts, err := ghzOptions(c, pace, skip)
	if err != nil {
		return Stats{}, fmt.Errorf("case %s: %w", c.Name(), err)
	}
	// Total requests is the pacer's bound too; ghz sizes its buffers from it.
	opts = append(opts, runner.WithTotalRequests(uint(maxCalls+skip)))
	cfg, err := runner.NewConfig(c.method.Service+"."+c.method.Name, c.target.Address, opts...)
	if err != nil {
		return Stats{}, fmt.Errorf("case %s: ghz: %w", c.Name(), err)
	}
	req, err := runner.NewRequester(cfg)
	if err != nil {
		return Stats{}, fmt.Errorf("case %s: ghz: %w", c.Name(), err)
	}
	rep, err := req.Run()
	if err != nil {
		return Stats{}, fmt.Errorf("case %s: ghz: %w", c.Name(), err)
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, fmt.Errorf("case %s: %w", c.Name(), err)
	}
	return FromGHZ(rep), nil
}

// boundedPacer lets a closed loop run as fast as it goes until the duration has passed,
// max calls have started or ctx has ended. Calls in flight then finish and are counted.
type boundedPacer struct {
	ctx      context.Context
	duration time.Duration
	max      uint64
}

func (p *boundedPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return 0, elapsed >= p.duration || hits >= p.max || p.ctx.Err() != nil
}

func (p *boundedPacer) Rate(time.Duration) float64 { return 0 }

// startTicker starts n workers and never changes them. It replaces ghz's constant worker
// ticker, whose Run sends on a channel that a run stopped early has already closed
// (a panic, seen with short warm-ups on a busy machine): here the one value is queued
// before the run starts, Run does nothing and Finish closes once.
type startTicker struct {
	c     chan load.TickValue
	close func()
}

func newStartTicker(n int) *startTicker {
	c := make(chan load.TickValue, 1)
	c <- load.TickValue{Delta: n, Done: true}
	return &startTicker{c: c, close: sync.OnceFunc(func() { close(c) })}
}

func (t *startTicker) Ticker() <-chan load.TickValue { return t.c }
func (t *startTicker) Run()                          {}
func (t *startTicker) Finish()                       { t.close() }
