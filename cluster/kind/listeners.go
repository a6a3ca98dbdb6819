package kind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/cluster"
)

var _ cluster.GatewayListeners = (*Platform)(nil)

var gatewayResource = schema.GroupVersionResource{Group: gatewayv1.GroupVersion.Group, Version: gatewayv1.GroupVersion.Version, Resource: "gateways"}

// listenerWait bounds how long ListenerAddress waits for the controller to publish the
// Gateway's address.
const listenerWait = 90 * time.Second

// ListenerAddress is the Gateway's first published address (status.addresses) with the
// listener's port: where the spec says a client reaches the listener. Only a controller that
// publishes an address this machine routes to (Traefik, its pod's IP on the hermetic pod
// network) can be reached this way; for the others the error wraps cluster.ErrUnreachable.
func (p *Platform) ListenerAddress(ctx context.Context, namespace, gateway, listener string) (string, error) {
	c := p.controller.Conformance
	switch {
	case p.applier == nil:
		return "", errors.New("the kind platform is not up")
	case c == nil || !c.PodAddress:
		return "", fmt.Errorf("%w: controller %s: grpclab does not know how this machine reaches the addresses its Gateways publish", cluster.ErrUnreachable, p.controller.Name)
	case p.direct != DirectRouted:
		return "", fmt.Errorf("%w: controller %s publishes its pod's IP, and this machine routes no pod IPs here (%s)", cluster.ErrUnreachable, p.controller.Name, p.direct)
	}
	ctx, cancel := context.WithTimeout(ctx, listenerWait)
	defer cancel()
	for {
		addr, err := p.listenerAddress(ctx, namespace, gateway, listener)
		if err == nil || ctx.Err() != nil {
			return addr, err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("Gateway %s/%s listener %q after %s: %w", namespace, gateway, listener, listenerWait, err)
		case <-time.After(time.Second):
		}
	}
}

func (p *Platform) listenerAddress(ctx context.Context, namespace, name, listener string) (string, error) {
	u, err := p.applier.dynamic.Resource(gatewayResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	var gw gatewayv1.Gateway
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &gw); err != nil {
		return "", fmt.Errorf("Gateway %s/%s: %w", namespace, name, err)
	}
	var port gatewayv1.PortNumber
	for _, l := range gw.Spec.Listeners {
		if string(l.Name) == listener {
			port = l.Port
		}
	}
	if port == 0 {
		return "", fmt.Errorf("Gateway %s/%s has no listener %q", namespace, name, listener)
	}
	for _, a := range gw.Status.Addresses {
		if a.Type == nil || *a.Type == gatewayv1.IPAddressType {
			return net.JoinHostPort(a.Value, strconv.Itoa(int(port))), nil
		}
	}
	return "", fmt.Errorf("Gateway %s/%s publishes no IP address in status.addresses yet", namespace, name)
}
