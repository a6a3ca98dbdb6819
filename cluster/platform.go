// Package cluster holds the platforms grpclab runs on: kind (a real cluster) and local
// (processes and nginx). Scenarios and the CLI see only the Platform interface, and the small
// optional ones a platform may add (PodExec, PolicyLab, GatewayListeners, KubeAPI, Disruptor),
// which a suite asks for and skips without, saying why.
package cluster

import (
	"context"
	"errors"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/rest"

	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/netpol"
)

// Platform is one place the manifests can run.
type Platform interface {
	// Name is "kind" or "local".
	Name() string
	// Up provisions the platform and returns once it can take manifests.
	Up(ctx context.Context) error
	// Apply creates or replaces the objects (server-side apply on kind) and returns once the
	// workloads they define are ready and the entry points serve the new configuration.
	Apply(ctx context.Context, objs []manifests.Object) error
	// Delete removes the objects; objects that do not exist are not an error.
	Delete(ctx context.Context, objs []manifests.Object) error
	// Endpoints tells a client how to reach each entry point from this machine.
	Endpoints() Endpoints
	// Backends returns an address, reachable from this machine, for every ready pod behind
	// the Service port: the "direct to pod" path that bypasses the gateway.
	Backends(ctx context.Context, namespace, service string, port int32) ([]string, error)
	// Versions names every pinned component this platform runs, for reports.
	Versions() map[string]string
	// Limits lists what this platform cannot emulate; scenarios report these as skipped.
	Limits() []Limit
	// Down removes everything Up and Apply made.
	Down(ctx context.Context) error
}

// Endpoints is the contract written to .grpclab/env.json.
type Endpoints struct {
	// Platform is the name of the platform that wrote them.
	Platform string   `json:"platform"`
	Gateway  Endpoint `json:"gateway"`
	Ingress  Endpoint `json:"ingress"`
	// IngressHTTP is the Ingress's plaintext port, where ssl-redirect answers.
	IngressHTTP Endpoint `json:"ingressHTTP"`
	// CAFile signs every certificate the entry points serve.
	CAFile string `json:"caFile"`
	// IdleTimeout is the proxies' default idle (read) timeout, which a long-lived stream
	// must outlast only when its annotations raise it.
	IdleTimeout Duration `json:"idleTimeout"`
}

// Endpoint is one entry point. Clients dial Address with TLS ServerName and :authority set
// to the host they want.
type Endpoint struct {
	Address string `json:"address"`
}

// Limit is one thing a platform does not emulate.
type Limit struct {
	// Scenario and Case name what is skipped ("" Case: the whole scenario). Scenario also
	// covers the scenarios below it: "disruption" is "disruption/rollout" too.
	Scenario, Case string
	Reason         string
}

// Pod is a running pod of the server image, as the isolation suite models it.
type Pod struct {
	Namespace, Name string
	Labels          map[string]string
	NamespaceLabels map[string]string
	IP              string
	Ports           []corev1.ContainerPort
}

// PodExec is implemented by platforms whose own data plane enforces NetworkPolicy (kind
// with Calico): the isolation suite probes from inside the pods themselves.
type PodExec interface {
	// Pods lists the ready pods of the server image in the namespaces.
	Pods(ctx context.Context, namespaces ...string) ([]Pod, error)
	// Exec runs command in the pod's server container and returns its standard output.
	Exec(ctx context.Context, namespace, pod string, command ...string) ([]byte, error)
}

// PolicyLab is implemented by platforms that enforce NetworkPolicy in a data plane of their
// own rather than between the pods Apply runs (the local platform: one network namespace per
// workload, nftables on a node namespace, as Calico programs a node). The isolation suite
// proves its truth tables there. A platform whose CNI enforces policy between its pods (kind)
// offers PodExec instead.
type PolicyLab interface {
	// PolicyLabAvailable says why the data plane cannot run on this machine (it needs root,
	// ip and nft), or returns nil.
	PolicyLabAvailable() error
	// StartPolicyLab puts every workload in the data plane with a server on each of its ports
	// and returns once all answer; on failure it removes what it made. Close what it returns.
	StartPolicyLab(ctx context.Context, workloads []netpol.Workload) (PolicyPlane, error)
}

// PolicyPlane is one running data plane of a PolicyLab.
type PolicyPlane interface {
	// Prefix names everything this data plane made (its network namespaces and nftables
	// tables), so that a reader can find them, and whatever Close leaves behind.
	Prefix() string
	// Namespace is the network namespace a workload runs in, for the `ip netns exec` lines
	// a reader can run by hand.
	Namespace(workload string) (string, error)
	// Addr is host:port of a workload's first port, as the other workloads reach it.
	Addr(workload string) (string, error)
	// Apply replaces the enforced policies with these, at once.
	Apply(ctx context.Context, policies []*networkingv1.NetworkPolicy) error
	// Verify applies the policies, probes every workload port from every other workload and
	// compares with the model; a disagreement is in the Result, not the error.
	Verify(ctx context.Context, policies []*networkingv1.NetworkPolicy, probeTimeout time.Duration) (*netpol.Result, error)
	// Call makes one gRPC call from workload from to the first port of workload to, with md
	// as key, value pairs of metadata.
	Call(ctx context.Context, from, to, method string, md []string, timeout time.Duration) (netpol.CallResult, error)
	// Close stops every process and removes everything the data plane made; its error names
	// whatever is left behind.
	Close() error
}

// GatewayListeners is implemented by platforms that can reach every Gateway listener from
// this machine, not only the one Endpoints names (the local platform gives each listener its
// own port): suites that compare two Gateways, such as the migration scenario, need it.
type GatewayListeners interface {
	// ListenerAddress is where the listener of the Gateway answers, or an error saying why
	// it does not (no such Gateway or listener, not programmed). An error that wraps
	// ErrUnreachable means this platform cannot reach such listeners from here at all.
	ListenerAddress(ctx context.Context, namespace, gateway, listener string) (string, error)
}

// ErrUnreachable says a platform cannot reach an entry point from this machine.
var ErrUnreachable = errors.New("not reachable from this machine")

// KubeAPI is implemented by platforms that run a real Kubernetes API server (kind): suites
// written against the API itself, such as the upstream Gateway API conformance suite, run
// there.
type KubeAPI interface {
	// RESTConfig reaches the API server from this machine; valid once Up has returned.
	RESTConfig() *rest.Config
	// Conformance describes the Gateway API controller for the conformance suite, or says
	// why the suite cannot run against it here.
	Conformance() (ConformanceTarget, error)
	// ProvideImages makes the images available to the nodes under these references: loaded
	// from this machine's Docker where the platform runs images built here, pulled by the
	// nodes themselves otherwise.
	ProvideImages(ctx context.Context, refs ...string) error
}

// ConformanceTarget is the controller as the conformance suite and its report name it.
type ConformanceTarget struct {
	// GatewayClass is the class the controller serves.
	GatewayClass string
	// Organization, Project, URL, Version and Contact fill the ConformanceReport's
	// implementation.
	Organization, Project, URL, Version string
	Contact                             []string
}

// ServerRepository is the repository of the project's server image: the containers both
// platforms run as grpclab-server (the local platform as processes), with any tag.
const ServerRepository = "grpclab/grpclab-server"

// IsServerImage reports whether an image reference names ServerRepository, with or without a
// registry (a port included), a tag or a digest: "grpclab/grpclab-server:dev",
// "localhost:5000/grpclab/grpclab-server@sha256:…".
func IsServerImage(image string) bool {
	name, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	return name == ServerRepository || strings.HasSuffix(name, "/"+ServerRepository)
}

// Disruptor is implemented by platforms that can cause the events of the disruption suite
// on demand; the suite skips, visibly, where a platform does not.
type Disruptor interface {
	// RolloutRestart replaces the Deployment's pods one at a time, as a rolling update with
	// maxSurge 1 and maxUnavailable 0 does: a new pod, ready, in the endpoints, then the old
	// one out of the endpoints and sent SIGTERM. It returns once every old pod has exited.
	RolloutRestart(ctx context.Context, namespace, deployment string) error
	// KillPod sends SIGKILL to one pod of the Deployment and returns its name once the
	// platform has replaced it, as its ReplicaSet would, with a ready pod in the endpoints.
	KillPod(ctx context.Context, namespace, deployment string) (string, error)
	// Recycling reads the connection-recycling limits the proxy behind an entry point address
	// applies, from its rendered or effective configuration. An error that wraps
	// errors.ErrUnsupported means the platform cannot read this proxy's limits.
	Recycling(ctx context.Context, address string) (Recycling, error)
}

// Recycling is when a proxy ends a client's connection: after Requests requests (nginx then
// sends GOAWAY), at MaxAge, or when idle for Idle. Zero is no limit.
type Recycling struct {
	Requests     int
	MaxAge, Idle time.Duration
	// Source says where the values were read.
	Source string
	// Knob names the settings that change them on this proxy ("": the suite's own words).
	Knob string
}

// ErrAlreadyUp says a platform already runs from the same state: a second bring-up touches
// nothing and says so.
var ErrAlreadyUp = errors.New("the platform is already up")

// Runner is implemented by platforms that can tell whether anything a bring-up from the same
// state started still runs, also one made by another process or one that crashed half way:
// `grpclab status` and `grpclab down` ask it of a platform built from saved state.
type Runner interface {
	Running(ctx context.Context) (bool, error)
}

// PodReporter is implemented by platforms that can list, from saved state, the pods a
// bring-up started and whether each still runs: `grpclab status` prints them.
type PodReporter interface {
	PodStates(ctx context.Context) ([]PodState, error)
}

// PodState is one pod as `grpclab status` shows it.
type PodState struct {
	Namespace, Name string
	// Address is where the pod serves, "" until it said so.
	Address string
	// PID is the pod's process on this machine (the local platform), else 0.
	PID int
	// Running is false once the pod has exited; Log then says where its output went.
	Running bool
	Log     string
}
