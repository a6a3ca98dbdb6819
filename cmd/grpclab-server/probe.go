package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Verdicts in probe results.
const (
	verdictAllow = "allow"
	verdictDeny  = "deny"
)

// probeResult is one JSON line of "grpclab-server probe":
//
//	{"target":"10.0.0.5:6379","tcp":"allow|deny","grpc":"SERVING|deny|<code>","detail":"…","ms":12}
//
// "deny" means the attempt timed out or was refused, as a NetworkPolicy
// drop or reject looks. grpc is the health status (SERVING, NOT_SERVING…)
// when the Check answered, else "deny", else the gRPC code name.
//
// With --call METHOD the probe also invokes that method with the -H metadata and reports
// the answer's code in "call" (and its message in "callMessage"): the L7 half, where a
// connection the policy allows still meets the interceptor's per-method check.
type probeResult struct {
	Target      string `json:"target"`
	TCP         string `json:"tcp"`
	GRPC        string `json:"grpc"`
	Call        string `json:"call,omitempty"`
	CallMessage string `json:"callMessage,omitempty"`
	Detail      string `json:"detail"`
	MS          int64  `json:"ms"`
}

// metadataFlag collects repeated -H key=value pairs.
type metadataFlag []string

func (m *metadataFlag) String() string { return fmt.Sprint(*m) }

func (m *metadataFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	*m = append(*m, strings.ToLower(k), val)
	return nil
}

// call describes the optional --call invocation.
type call struct {
	method string
	md     metadataFlag
}

func runProbe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("grpclab-server probe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	timeout := fs.Duration("timeout", time.Second, "timeout of each TCP connect and each health check")
	var c call
	fs.StringVar(&c.method, "call", "", "also invoke this method (/pkg.Service/Method) with an empty request")
	fs.Var(&c.md, "H", "metadata key=value for --call (repeatable)")
	if err := fs.Parse(args); err != nil {
		return usagef("probe: %w", err)
	}
	if c.method != "" && (!strings.HasPrefix(c.method, "/") || strings.Count(c.method, "/") != 2) {
		return usagef("probe: --call %q: want /package.Service/Method", c.method)
	}
	if *timeout <= 0 {
		return usagef("probe: --timeout: must be positive, got %s", *timeout)
	}
	targets := fs.Args()
	if len(targets) == 0 {
		return usagef("probe: no TARGET given (want host:port...)")
	}
	for _, t := range targets {
		if _, _, err := net.SplitHostPort(t); err != nil {
			return usagef("probe: target %q: %w", t, err)
		}
	}
	results := make([]probeResult, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { results[i] = probe(ctx, t, *timeout, c) })
	}
	wg.Wait()
	enc := json.NewEncoder(stdout)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("probe: write result: %w", err)
		}
	}
	return nil
}

// probe runs the TCP connect and the health check of one target in parallel.
func probe(ctx context.Context, target string, timeout time.Duration, c call) probeResult {
	start := time.Now()
	var tcpVerdict, tcpDetail, grpcVerdict, grpcDetail string
	var r probeResult
	var wg sync.WaitGroup
	wg.Go(func() { tcpVerdict, tcpDetail = probeTCP(ctx, target, timeout) })
	wg.Go(func() { grpcVerdict, grpcDetail = probeGRPC(ctx, target, timeout) })
	if c.method != "" {
		wg.Go(func() { r.Call, r.CallMessage = probeCall(ctx, target, timeout, c) })
	}
	wg.Wait()
	r.Target, r.TCP, r.GRPC = target, tcpVerdict, grpcVerdict
	r.Detail = "tcp: " + tcpDetail + "; grpc: " + grpcDetail
	r.MS = time.Since(start).Milliseconds()
	return r
}

// probeCall invokes c.method on target and returns the code's name and message. An empty
// request is valid input for every method of the project's services.
func probeCall(ctx context.Context, target string, timeout time.Duration, c call) (code, message string) {
	return withConn(ctx, target, timeout, func(ctx context.Context, conn *grpc.ClientConn) (string, string) {
		ctx = metadata.AppendToOutgoingContext(ctx, c.md...)
		st := status.Convert(conn.Invoke(ctx, c.method, &emptypb.Empty{}, &emptypb.Empty{}))
		return st.Code().String(), st.Message()
	})
}

// withConn runs rpc on a new plaintext connection to target, within timeout, and returns
// its verdict and detail; a connection that cannot be set up is Internal.
func withConn(ctx context.Context, target string, timeout time.Duration, rpc func(context.Context, *grpc.ClientConn) (string, string)) (verdict, detail string) {
	conn, err := grpc.NewClient("passthrough:///"+target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return codes.Internal.String(), err.Error()
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return rpc(ctx, conn)
}

func probeTCP(ctx context.Context, target string, timeout time.Duration) (verdict, detail string) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return verdictDeny, tcpReason(err)
	}
	conn.Close()
	return verdictAllow, "connected"
}

func tcpReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	default:
		return err.Error()
	}
}

func probeGRPC(ctx context.Context, target string, timeout time.Duration) (verdict, detail string) {
	return withConn(ctx, target, timeout, func(ctx context.Context, conn *grpc.ClientConn) (string, string) {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil {
			return resp.GetStatus().String(), "health answered"
		}
		st := status.Convert(err)
		switch st.Code() {
		case codes.DeadlineExceeded, codes.Unavailable:
			return verdictDeny, st.Code().String() + ": " + st.Message()
		default:
			return st.Code().String(), st.Message()
		}
	})
}
