package netpol

import (
	"fmt"
	"strings"
	"time"
)

// Probe is one line of `grpclab-server probe`: one target's TCP verdict and gRPC health
// answer, and, where a data plane tied it to its cell, the source and the column.
type Probe struct {
	Source string `json:"source"`
	Dest   Target `json:"dest"`
	Target string `json:"target"`
	TCP    string `json:"tcp"`
	GRPC   string `json:"grpc"`
	Detail string `json:"detail"`
	MS     int64  `json:"ms"`
}

// CallResult is the part of a `grpclab-server probe --call` line that says what the L7 half
// answered: the TCP verdict, then the call's gRPC code and message.
type CallResult struct {
	TCP         string `json:"tcp"`
	Call        string `json:"call"`
	CallMessage string `json:"callMessage"`
}

// Result is one policy set checked on a data plane against the model.
type Result struct {
	Expected   *Table
	Observed   *Table
	Mismatches []Mismatch
	Probes     []Probe
	// ProbeErr is set when some probe gave no clean verdict; its cells stay Unknown and so
	// also appear in Mismatches.
	ProbeErr error
	Took     time.Duration // probing only
}

// OK reports whether every probe matched the model.
func (r *Result) OK() bool { return len(r.Mismatches) == 0 && r.ProbeErr == nil }

// String prints both tables side by side, then the mismatches.
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d cells probed in %s\n", len(r.Expected.Sources)*len(r.Expected.Targets), r.Took.Round(time.Millisecond))
	if err := Print(&b, r.Expected, r.Observed, Unicode); err != nil {
		fmt.Fprintf(&b, "(table: %v)\n", err)
	}
	for _, m := range r.Mismatches {
		fmt.Fprintf(&b, "mismatch: %s\n", m)
	}
	if r.ProbeErr != nil {
		fmt.Fprintf(&b, "probe problems: %v\n", r.ProbeErr)
	}
	return b.String()
}
