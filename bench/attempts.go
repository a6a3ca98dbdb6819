package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/bojand/ghz/runner"

	"github.com/grpclab/grpclab/scenarios/call"
)

// GHZCounts is what ghz reports for a run: results by status code and by error message. ghz
// records one result per attempt (its stats handler reports every stats.End), so a call that
// grpc-go retried transparently counts as its failed attempt and its success: Codes["OK"] is
// the calls that succeeded, the other codes are attempts.
type GHZCounts struct {
	Codes  map[string]int
	Errors map[string]int
}

// CountGHZ runs total calls of m against target with ghz, at concurrency over conns
// connections, as fast as they go (the issue's `ghz -c 200 -n 20000 --connections 4`), and
// returns ghz's counts. The run is bounded by total and by timeout.
func CountGHZ(ctx context.Context, target call.Target, m Method, concurrency, conns, total int, timeout time.Duration) (GHZCounts, error) {
	c := newCase(Route{Method: m, Path: "count", Backend: target.Host, Target: target}, concurrency, Shared, ToolGHZ)
	pace := &boundedPacer{ctx: ctx, duration: timeout, max: uint64(total)}
	opts, err := ghzOptions(c, pace, 0)
	if err != nil {
		return GHZCounts{}, err
	}
	// Later options win: conns connections instead of ghzOptions' one shared connection.
	opts = append(opts, runner.WithConnections(uint(conns)), runner.WithTotalRequests(uint(total)))
	cfg, err := runner.NewConfig(m.Service+"."+m.Name, target.Address, opts...)
	if err != nil {
		return GHZCounts{}, fmt.Errorf("ghz: %w", err)
	}
	req, err := runner.NewRequester(cfg)
	if err != nil {
		return GHZCounts{}, fmt.Errorf("ghz: %w", err)
	}
	rep, err := req.Run()
	if err != nil {
		return GHZCounts{}, fmt.Errorf("ghz: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return GHZCounts{}, err
	}
	return GHZCounts{Codes: rep.StatusCodeDist, Errors: rep.ErrorDist}, nil
}
