// Package bench measures what each hop costs a gRPC call and what HTTP/2 multiplexing buys:
// the same calls direct to a backend, through the Gateway and through the Ingress, with ghz
// as a library, plus a minimal closed-loop client that checks ghz and measures a new
// connection per call, which ghz cannot do.
package bench

import (
	"context"
	"fmt"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/scenarios/call"
)

// Path names.
const (
	Direct  = "direct"
	Gateway = "gateway"
	Ingress = "ingress"
)

// Tools that make the calls.
const (
	// ToolGHZ is ghz's runner, over one shared connection.
	ToolGHZ = "ghz"
	// ToolClient is this package's closed-loop grpc-go client.
	ToolClient = "client"
)

// ConnMode is how calls use connections.
type ConnMode string

const (
	// Shared multiplexes every call of a run over one HTTP/2 connection.
	Shared ConnMode = "shared"
	// PerCall dials a new connection (a TLS handshake on the TLS paths) for every call.
	PerCall ConnMode = "per-call"
)

// Method is one RPC the benchmark makes.
type Method struct {
	// Name is the short name used in reports ("SayHello").
	Name string
	// Service is the fully qualified service ("helloworld.Greeter").
	Service string
	// Data is the request message as JSON.
	Data string
	// Metadata is sent with every call.
	Metadata map[string]string
	// Stream is a bidi stream of StreamMessages request/reply pairs per call.
	Stream bool
}

// FullMethod is "/service/method", as grpc-go spells it.
func (m Method) FullMethod() string { return "/" + m.Service + "/" + m.Name }

// StreamMessages is how many messages one streaming call exchanges each way: a call's
// latency is the whole stream, open to close.
const StreamMessages = 10

// The project's methods the benchmark knows.
var (
	SayHello       = Method{Name: "SayHello", Service: "helloworld.Greeter", Data: `{"name":"bench"}`}
	SayHelloStream = Method{Name: "SayHelloStream", Service: "helloworld.Greeter", Data: `{"name":"bench"}`, Stream: true}
	// Login carries the article's credentials: the demo user alice may log in.
	Login = Method{Name: "Login", Service: "com.example.User", Data: `{}`,
		Metadata: map[string]string{"username": "alice", "password": "alice-password"}}
)

// Methods lists every method by name.
var Methods = map[string]Method{SayHello.Name: SayHello, SayHelloStream.Name: SayHelloStream, Login.Name: Login}

// Route is one method over one path to one backend Service.
type Route struct {
	Method  Method
	Path    string
	Backend string
	Target  call.Target
}

// Case is one thing measured: a route at a concurrency, with a connection mode and a tool.
type Case struct {
	Method      string   `json:"method"`
	Path        string   `json:"path"`
	Backend     string   `json:"backend"`
	Host        string   `json:"host,omitempty"`
	Address     string   `json:"address"`
	Concurrency int      `json:"concurrency"`
	Conn        ConnMode `json:"connection"`
	Tool        string   `json:"tool"`

	target call.Target
	method Method
}

// Name is a short unique label for progress lines and tables.
func (c Case) Name() string {
	return fmt.Sprintf("%s %s→%s c=%d %s %s", c.Method, c.Path, c.Backend, c.Concurrency, c.Conn, c.Tool)
}

// baselineKey names the direct case a hop is compared with: same method, backend,
// concurrency, connection mode and tool.
func (c Case) baselineKey() string {
	return fmt.Sprintf("%s|%s|%d|%s|%s", c.Method, c.Backend, c.Concurrency, c.Conn, c.Tool)
}

func newCase(r Route, concurrency int, conn ConnMode, tool string) Case {
	return Case{
		Method: r.Method.Name, Path: r.Path, Backend: r.Backend, Host: r.Target.Host,
		Address: r.Target.Address, Concurrency: concurrency, Conn: conn, Tool: tool,
		target: r.Target, method: r.Method,
	}
}

// Plan lists the cases for routes: every route with ghz over a shared connection at every
// concurrency and, for unary SayHello, the closed-loop client both shared and per-call,
// which is the multiplexing comparison and the instrument check. A route's cases run back
// to back, so that the figures compared with each other are measured close in time.
func Plan(routes []Route, concurrencies []int) []Case {
	var cases []Case
	for _, c := range concurrencies {
		for _, r := range routes {
			cases = append(cases, newCase(r, c, Shared, ToolGHZ))
			if r.Method.Name == SayHello.Name {
				cases = append(cases, newCase(r, c, Shared, ToolClient), newCase(r, c, PerCall, ToolClient))
			}
		}
	}
	return cases
}

// Routes resolves, on a running platform, every route the benchmark measures: each method
// through the Gateway host that routes it, through the Ingress, and direct (h2c) to the
// first pod of the Service behind each, so every hop has its own baseline. An entry point
// the platform does not serve (kind runs one controller: Gateway or Ingress) is skipped,
// and skipped says so.
func Routes(ctx context.Context, p cluster.Platform) (routes []Route, skipped []string, err error) {
	objs, err := manifests.Load(manifests.DefaultVariants())
	if err != nil {
		return nil, nil, err
	}
	methods, err := plan(objs)
	if err != nil {
		return nil, nil, err
	}
	ep := p.Endpoints()
	entries := map[string]string{Gateway: ep.Gateway.Address, Ingress: ep.Ingress.Address}
	pods := map[string]string{}
	for _, m := range methods {
		for _, b := range m.via {
			entry := entries[b.entry]
			if entry == "" {
				skipped = append(skipped, fmt.Sprintf("%s through the %s: platform %s serves no %s entry point", m.method.Name, b.entry, p.Name(), b.entry))
				continue
			}
			key := fmt.Sprintf("%s/%s port %d", b.namespace, b.service, b.port)
			pod, ok := pods[key]
			if !ok {
				addrs, err := p.Backends(ctx, b.namespace, b.service, b.port)
				if err != nil {
					return nil, nil, fmt.Errorf("backends of service %s: %w", key, err)
				}
				if len(addrs) == 0 {
					return nil, nil, fmt.Errorf("backends of service %s: no ready pod", key)
				}
				pod = addrs[0]
				pods[key] = pod
			}
			routes = append(routes,
				Route{Method: m.method, Path: Direct, Backend: b.service, Target: call.Target{Address: pod, Plaintext: true}},
				Route{Method: m.method, Path: b.entry, Backend: b.service, Target: call.Target{Address: entry, Host: b.host, CAFile: ep.CAFile}},
			)
		}
	}
	if len(routes) == 0 {
		return nil, skipped, fmt.Errorf("platform %s serves neither a Gateway nor an Ingress entry point", p.Name())
	}
	return routes, skipped, nil
}
