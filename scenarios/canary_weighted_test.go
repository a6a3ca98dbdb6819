package scenarios

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/grpclab/grpclab/scenarios/call"
)

// TestWeightedCanary applies the weighted variant of bar-route (bar-svc 90, bar-svc-canary
// 10) and counts who answers. Over 400 calls the canary's share has a standard deviation of
// 1.5 points; a tolerance of 5 points (over 3 sigma) keeps the case honest and stable.
func TestWeightedCanary(t *testing.T) {
	const (
		calls     = 400
		want      = 0.10
		tolerance = 0.05
	)
	s := newScenario("canary/weighted", "canary")
	s.add(fmt.Sprintf("canary share %.0f%% ± %.0f over %d calls", want*100, tolerance*100, calls), func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		conn := lab.dial(t, lab.target(gateway, barHost))
		var last string
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			counts := map[string]int{}
			for range calls {
				// The header no longer matters: the weighted rule has no matches.
				r := call.Unary(ctx, conn, sayHello, "env", "canary")
				if r.Code != codes.OK {
					return fmt.Errorf("call %d: %s", counts["total"], r)
				}
				switch {
				case strings.HasPrefix(r.ServedBy, "bar-canary-"):
					counts["bar-canary"]++
				case strings.HasPrefix(r.ServedBy, "bar-stable-"):
					counts["bar-stable"]++
				}
				counts["total"]++
			}
			share := float64(counts["bar-canary"]) / calls
			last = fmt.Sprintf("canary %d, stable %d of %d (%.1f%%)", counts["bar-canary"], counts["bar-stable"], calls, share*100)
			if other := calls - counts["bar-canary"] - counts["bar-stable"]; other != 0 {
				return fmt.Errorf("%d calls answered by neither bar-stable nor bar-canary: %v", other, counts)
			}
			if math.Abs(share-want) > tolerance {
				return fmt.Errorf("%s: want %.0f%% ± %.0f", last, want*100, tolerance*100)
			}
			return nil
		})
		note("%s", last)
	})
	testenv.Test(t, s.feature().Setup(withVariants("gateway-api/weighted-canary")).Teardown(resetVariants).Feature())
}
