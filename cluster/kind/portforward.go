package kind

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// forwarder reaches the pods from this machine: at their own IPs where the host routes to
// them (routePods), else through client-go port-forwards kept open until ctx ends.
type forwarder struct {
	rest *rest.Config
	cs   kubernetes.Interface
	// routed: the host routes to the pod IPs (routePods), so a backend is the pod's own
	// address and no forward is needed.
	routed bool
}

// backends opens one local port per ready endpoint of the Service port and returns the
// 127.0.0.1 addresses; the forwards last until ctx is done.
func (f *forwarder) backends(ctx context.Context, namespace, service string, port int32) ([]string, error) {
	svc, err := f.cs.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("backends of service %s/%s: %w", namespace, service, err)
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return nil, fmt.Errorf("backends of service %s/%s: no port %d", namespace, service, port)
	}
	slices, err := f.cs.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return nil, fmt.Errorf("backends of service %s/%s: %w", namespace, service, err)
	}
	var addrs []string
	for _, s := range slices.Items {
		target := targetPort(s, sp)
		if target == 0 {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || !*ep.Conditions.Ready || ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" {
				continue
			}
			ip := ""
			if len(ep.Addresses) > 0 {
				ip = ep.Addresses[0]
			}
			addr, err := f.pod(ctx, namespace, ep.TargetRef.Name, ip, target)
			if err != nil {
				return nil, err
			}
			addrs = append(addrs, addr)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("backends of service %s/%s port %d: no ready pod", namespace, service, port)
	}
	return addrs, nil
}

// pod is where this machine reaches the pod's port: its own IP where the host routes pod
// IPs, else a port-forward that lasts until ctx is done.
func (f *forwarder) pod(ctx context.Context, namespace, pod, ip string, port int32) (string, error) {
	if f.routed && ip != "" {
		return net.JoinHostPort(ip, strconv.Itoa(int(port))), nil
	}
	return f.forward(ctx, namespace, pod, port)
}

// targetPort is the container port an EndpointSlice lists for the Service port.
func targetPort(s discoveryv1.EndpointSlice, sp *corev1.ServicePort) int32 {
	for _, p := range s.Ports {
		if p.Port != nil && (p.Name == nil && sp.Name == "" || p.Name != nil && *p.Name == sp.Name) {
			return *p.Port
		}
	}
	if sp.TargetPort.Type == intstr.Int {
		return sp.TargetPort.IntVal
	}
	return 0
}

func (f *forwarder) forward(ctx context.Context, namespace, pod string, port int32) (string, error) {
	rt, upgrader, err := spdy.RoundTripperFor(f.rest)
	if err != nil {
		return "", fmt.Errorf("port-forward %s/%s: %w", namespace, pod, err)
	}
	u := f.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	ready := make(chan struct{})
	pf, err := portforward.NewOnAddressesWithContext(ctx, dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(int(port))}, ready, io.Discard, io.Discard)
	if err != nil {
		return "", fmt.Errorf("port-forward %s/%s:%d: %w", namespace, pod, port, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- pf.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-errc:
		return "", fmt.Errorf("port-forward %s/%s:%d: %w", namespace, pod, port, err)
	case <-ctx.Done():
		return "", fmt.Errorf("port-forward %s/%s:%d: %w", namespace, pod, port, ctx.Err())
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) == 0 {
		return "", fmt.Errorf("port-forward %s/%s:%d: no local port: %v", namespace, pod, port, err)
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0].Local), nil
}
