package kind

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/grpclab/grpclab/cluster"
)

var _ cluster.PodReporter = (*Platform)(nil)

// PodStates lists the server's pods in the platform's kind cluster, found by name as `grpclab
// status` finds it from saved state: it asks the API server through the cluster's kubeconfig,
// so it needs no bring-up in this process.
func (p *Platform) PodStates(ctx context.Context) ([]cluster.PodState, error) {
	if err := CheckDocker(ctx); err != nil {
		return nil, err
	}
	cfg, err := p.provider.kind.KubeConfig(p.name, false)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of kind cluster %s: %w", p.name, err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig([]byte(cfg))
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of kind cluster %s: %w", p.name, err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kind cluster %s: %w", p.name, err)
	}
	return podStates(ctx, cs)
}

// podStates lists the pods of every namespace that run the server image: where each serves
// (the pod IP and the server container's first port) and whether it runs; a pod that does
// not names the kubectl command that shows its logs.
func podStates(ctx context.Context, cs kubernetes.Interface) ([]cluster.PodState, error) {
	list, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var out []cluster.PodState
	for i := range list.Items {
		pod := &list.Items[i]
		c, ok := serverContainer(pod)
		if !ok {
			continue
		}
		s := cluster.PodState{
			Namespace: pod.Namespace,
			Name:      pod.Name,
			Running:   pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil,
		}
		if pod.Status.PodIP != "" && len(c.Ports) > 0 {
			s.Address = net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(int(c.Ports[0].ContainerPort)))
		}
		if !s.Running {
			s.Log = "kubectl logs -n " + pod.Namespace + " " + pod.Name
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b cluster.PodState) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}
