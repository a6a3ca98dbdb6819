package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/grpclab/grpclab/cluster"
)

var _ cluster.PodExec = (*Platform)(nil)

// serverContainer finds the container of pod that runs the server image.
func serverContainer(pod *corev1.Pod) (corev1.Container, bool) {
	for _, c := range pod.Spec.Containers {
		if cluster.IsServerImage(c.Image) {
			return c, true
		}
	}
	return corev1.Container{}, false
}

// Pods lists the ready pods of the server image in the namespaces, with their namespaces'
// labels: what a NetworkPolicy selects on.
func (p *Platform) Pods(ctx context.Context, namespaces ...string) ([]cluster.Pod, error) {
	if p.fwd == nil {
		return nil, errors.New("kind platform: pods before up")
	}
	var out []cluster.Pod
	for _, ns := range namespaces {
		nsObj, err := p.fwd.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("pods in %s: %w", ns, err)
		}
		list, err := p.fwd.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("pods in %s: %w", ns, err)
		}
		for i := range list.Items {
			pod := &list.Items[i]
			c, ok := serverContainer(pod)
			if !ok || pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" || pod.DeletionTimestamp != nil {
				continue
			}
			out = append(out, cluster.Pod{
				Namespace: ns, Name: pod.Name,
				Labels: pod.Labels, NamespaceLabels: nsObj.Labels,
				IP: pod.Status.PodIP, Ports: c.Ports,
			})
		}
	}
	return out, nil
}

// Exec runs command in the pod's server container (the image has no shell: command[0] is
// the binary itself) and returns its standard output.
func (p *Platform) Exec(ctx context.Context, namespace, pod string, command ...string) ([]byte, error) {
	if p.fwd == nil {
		return nil, errors.New("kind platform: exec before up")
	}
	obj, err := p.fwd.cs.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("exec in %s/%s: %w", namespace, pod, err)
	}
	c, ok := serverContainer(obj)
	if !ok {
		return nil, fmt.Errorf("exec in %s/%s: no container runs %s", namespace, pod, ServerImage)
	}
	req := p.fwd.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: c.Name, Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	exec, err := remotecommand.NewSPDYExecutor(p.fwd.rest, "POST", req.URL())
	if err != nil {
		return nil, fmt.Errorf("exec in %s/%s: %w", namespace, pod, err)
	}
	var stdout, stderr bytes.Buffer
	if err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}); err != nil {
		return stdout.Bytes(), fmt.Errorf("exec %v in %s/%s: %w: %s", command, namespace, pod, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
