package kind

import (
	"testing"

	"github.com/grpclab/grpclab/cluster"
)

// TestLimitsSkipDisruption: the kind platform causes no disruption events, so its limits must
// skip the whole disruption suite, with a reason, rather than let it report nothing as passed.
func TestLimitsSkipDisruption(t *testing.T) {
	var p Platform
	if _, ok := any(&p).(cluster.Disruptor); ok {
		t.Skip("the kind platform implements cluster.Disruptor now: drop its disruption limit")
	}
	for _, l := range p.Limits() {
		if l.Scenario == "disruption" && l.Case == "" && l.Reason != "" {
			return
		}
	}
	t.Fatalf("Limits() = %+v, want one for the whole disruption suite with a reason", p.Limits())
}
