package kind

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/grpclab/grpclab/cluster"
)

var _ cluster.Disruptor = (*Platform)(nil)

// disruptPoll is how often the events below look at the cluster while they wait.
const disruptPoll = 200 * time.Millisecond

// RolloutRestart does what `kubectl rollout restart` does: it stamps the pod template with
// the kubectl.kubernetes.io/restartedAt annotation, so the Deployment controller rolls the
// pods by the Deployment's strategy (the default, maxSurge 25% and maxUnavailable 25%, is one
// at a time for two replicas). It returns once the rollout is complete, as `kubectl rollout
// status` sees it, and every old pod is gone. Unlike the local platform, the kubelet sends
// SIGTERM while the endpoint is being removed, not after: that race is the cluster's own.
func (p *Platform) RolloutRestart(ctx context.Context, namespace, deployment string) error {
	if p.fwd == nil {
		return errors.New("rollout restart: the kind platform is not up")
	}
	deployments := p.fwd.cs.AppsV1().Deployments(namespace)
	d, err := deployments.Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("rollout restart: %w", err)
	}
	old, err := p.deploymentPods(ctx, d)
	if err != nil {
		return fmt.Errorf("rollout restart: %w", err)
	}
	if len(old) == 0 {
		return fmt.Errorf("rollout restart %s/%s: no pods", namespace, deployment)
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{"kubectl.kubernetes.io/restartedAt": time.Now().Format(time.RFC3339Nano)}}}}})
	if err != nil {
		return err
	}
	d, err = deployments.Patch(ctx, deployment, types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "grpclab-rollout"})
	if err != nil {
		return fmt.Errorf("rollout restart %s/%s: %w", namespace, deployment, err)
	}
	if err := p.rolledOut(ctx, namespace, deployment, d.Generation); err != nil {
		return fmt.Errorf("rollout restart: %w", err)
	}
	var state string
	err = wait.PollUntilContextTimeout(ctx, disruptPoll, p.timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := p.deploymentPods(ctx, d)
		if err != nil {
			return false, err
		}
		for _, pod := range pods {
			if slices.ContainsFunc(old, func(o corev1.Pod) bool { return o.UID == pod.UID }) {
				state = "old pod " + pod.Name + " has not exited"
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("rollout restart %s/%s: %w (%s)", namespace, deployment, err, state)
	}
	return nil
}

// rolledOut waits until the Deployment's rollout is complete, as `kubectl rollout status`
// sees it: its generation (at least generation) observed, and every replica updated and
// available, none of an older template left.
func (p *Platform) rolledOut(ctx context.Context, namespace, deployment string, generation int64) error {
	var state string
	err := wait.PollUntilContextTimeout(ctx, disruptPoll, p.timeout, true, func(ctx context.Context) (bool, error) {
		d, err := p.fwd.cs.AppsV1().Deployments(namespace).Get(ctx, deployment, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		generation = max(generation, d.Generation)
		s := d.Status
		state = fmt.Sprintf("observed generation %d of %d, %d updated, %d available, %d in all, of %d", s.ObservedGeneration, generation, s.UpdatedReplicas, s.AvailableReplicas, s.Replicas, want)
		return s.ObservedGeneration >= generation && s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want, nil
	})
	if err != nil {
		return fmt.Errorf("deployment %s/%s rollout: %w (%s)", namespace, deployment, err, state)
	}
	return nil
}

// KillPod sends SIGKILL to the server container of one ready pod of the Deployment, through
// the node's container runtime (`crictl stop --timeout 0`, which skips the stop signal), as
// an OOM kill or a crash would end it. The pod stays in the endpoints until the kubelet sees
// the container exit; the kubelet then restarts it in place (restartPolicy Always), and
// KillPod returns the pod's name once it is ready and in the endpoints again. The victim is
// the ready pod restarted least, then the first by name, so that two kills in a row do not
// meet the kubelet's restart back-off.
func (p *Platform) KillPod(ctx context.Context, namespace, deployment string) (string, error) {
	if p.fwd == nil {
		return "", errors.New("kill pod: the kind platform is not up")
	}
	d, err := p.fwd.cs.AppsV1().Deployments(namespace).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("kill pod: %w", err)
	}
	pods, err := p.deploymentPods(ctx, d)
	if err != nil {
		return "", fmt.Errorf("kill pod: %w", err)
	}
	type candidate struct {
		pod      corev1.Pod
		status   corev1.ContainerStatus
		restarts int32
	}
	var ready []candidate
	for _, pod := range pods {
		c, ok := serverContainer(&pod)
		if !ok || !podReady(&pod) {
			continue
		}
		for _, st := range pod.Status.ContainerStatuses {
			if st.Name == c.Name && st.ContainerID != "" {
				ready = append(ready, candidate{pod: pod, status: st, restarts: st.RestartCount})
			}
		}
	}
	if len(ready) == 0 {
		return "", fmt.Errorf("kill pod: Deployment %s/%s has no ready pod of the server image", namespace, deployment)
	}
	slices.SortFunc(ready, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.restarts, b.restarts), strings.Compare(a.pod.Name, b.pod.Name))
	})
	victim := ready[0]
	_, id, ok := strings.Cut(victim.status.ContainerID, "://")
	if !ok {
		return "", fmt.Errorf("kill pod %s: container ID %q has no runtime prefix", victim.pod.Name, victim.status.ContainerID)
	}
	nodeList, err := p.provider.kind.ListInternalNodes(p.name)
	if err != nil {
		return "", fmt.Errorf("kill pod %s: %w", victim.pod.Name, err)
	}
	i := slices.IndexFunc(nodeList, func(n nodes.Node) bool { return n.String() == victim.pod.Spec.NodeName })
	if i < 0 {
		return "", fmt.Errorf("kill pod %s: node %s is not a node of kind cluster %s", victim.pod.Name, victim.pod.Spec.NodeName, p.name)
	}
	var out strings.Builder
	cmd := nodeList[i].CommandContext(ctx, "crictl", "stop", "--timeout", "0", id)
	cmd.SetStdout(&out)
	cmd.SetStderr(&out)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("kill pod %s: crictl stop --timeout 0 %s on node %s: %w: %s", victim.pod.Name, id, victim.pod.Spec.NodeName, err, strings.TrimSpace(out.String()))
	}
	var state string
	err = wait.PollUntilContextTimeout(ctx, disruptPoll, p.timeout, true, func(ctx context.Context) (bool, error) {
		pod, err := p.fwd.cs.CoreV1().Pods(namespace).Get(ctx, victim.pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		restarted := slices.ContainsFunc(pod.Status.ContainerStatuses, func(st corev1.ContainerStatus) bool {
			return st.Name == victim.status.Name && st.RestartCount > victim.restarts
		})
		if !restarted || !podReady(pod) {
			state = "the container has not restarted and turned ready"
			return false, nil
		}
		in, err := p.inEndpoints(ctx, namespace, pod.Name)
		state = "the restarted pod is not a ready endpoint yet"
		return in, err
	})
	if err != nil {
		return "", fmt.Errorf("kill pod %s: %w (%s)", victim.pod.Name, err, state)
	}
	return victim.pod.Name, nil
}

// deploymentPods lists the pods the Deployment's selector matches, in name order.
func (p *Platform) deploymentPods(ctx context.Context, d *appsv1.Deployment) ([]corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s: spec.selector: %w", d.Namespace, d.Name, err)
	}
	list, err := p.fwd.cs.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("pods of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	slices.SortFunc(list.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return list.Items, nil
}

func podReady(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp == nil && slices.ContainsFunc(pod.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}

// inEndpoints reports whether an EndpointSlice of the namespace lists the pod as ready.
func (p *Platform) inEndpoints(ctx context.Context, namespace, pod string) (bool, error) {
	slices, err := p.fwd.cs.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" && ep.TargetRef.Name == pod && ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				return true, nil
			}
		}
	}
	return false, nil
}

// Recycling reads the limits of the controller's entry point behind address from the
// controller's own API: the effective configuration, defaults included, not the flags.
func (p *Platform) Recycling(ctx context.Context, address string) (cluster.Recycling, error) {
	api := p.controller.EntryPoints
	if api == nil {
		return cluster.Recycling{}, fmt.Errorf("kind platform: grpclab does not read the connection-recycling limits of %s: %w", p.controller.Name, errors.ErrUnsupported)
	}
	if p.fwd == nil {
		return cluster.Recycling{}, errors.New("recycling limits: the kind platform is not up")
	}
	ep := p.Endpoints()
	entryPoint := map[string]string{ep.Gateway.Address: api.Gateway, ep.Ingress.Address: api.Ingress, ep.IngressHTTP.Address: api.IngressHTTP}[address]
	if address == "" || entryPoint == "" {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: %s is none of the entry points of %s (%+v)", address, p.controller.Name, ep)
	}
	list, err := p.fwd.cs.CoreV1().Pods(api.Namespace).List(ctx, metav1.ListOptions{LabelSelector: api.Selector})
	if err != nil {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: pods %s in %s: %w", api.Selector, api.Namespace, err)
	}
	i := slices.IndexFunc(list.Items, func(pod corev1.Pod) bool { return podReady(&pod) })
	if i < 0 {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: no ready pod %s in %s", api.Selector, api.Namespace)
	}
	pod := list.Items[i]
	port := int32(0)
	for _, c := range pod.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == api.Port {
				port = cp.ContainerPort
			}
		}
	}
	if port == 0 {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: pod %s/%s has no container port named %s", pod.Namespace, pod.Name, api.Port)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel() // ends a port-forward
	addr, err := p.fwd.pod(ctx, pod.Namespace, pod.Name, pod.Status.PodIP, port)
	if err != nil {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: %w", err)
	}
	path := "/api/entrypoints/" + entryPoint
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return cluster.Recycling{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: GET %s on pod %s: %s: %s", path, pod.Name, resp.Status, strings.TrimSpace(string(body)))
	}
	r, err := parseEntryPoint(body)
	if err != nil {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: GET %s on pod %s: %w", path, pod.Name, err)
	}
	r.Source = fmt.Sprintf("%s API GET %s (pod %s)", p.controller.Name, path, pod.Name)
	if api.Knob != "" {
		r.Knob = fmt.Sprintf(api.Knob, entryPoint)
	}
	return r, nil
}

// traefikEntryPoint is the part of Traefik's entry point JSON (its static EntryPoint
// configuration) that says when a client connection ends; a zero is omitted there.
type traefikEntryPoint struct {
	Transport struct {
		KeepAliveMaxRequests int    `json:"keepAliveMaxRequests"`
		KeepAliveMaxTime     string `json:"keepAliveMaxTime"`
		RespondingTimeouts   struct {
			IdleTimeout string `json:"idleTimeout"`
		} `json:"respondingTimeouts"`
	} `json:"transport"`
}

// parseEntryPoint reads the limits from an entry point's JSON.
func parseEntryPoint(body []byte) (cluster.Recycling, error) {
	var ep traefikEntryPoint
	if err := json.Unmarshal(body, &ep); err != nil {
		return cluster.Recycling{}, fmt.Errorf("entry point JSON: %w", err)
	}
	r := cluster.Recycling{Requests: ep.Transport.KeepAliveMaxRequests}
	for _, d := range []struct {
		field, value string
		into         *time.Duration
	}{
		{"transport.keepAliveMaxTime", ep.Transport.KeepAliveMaxTime, &r.MaxAge},
		{"transport.respondingTimeouts.idleTimeout", ep.Transport.RespondingTimeouts.IdleTimeout, &r.Idle},
	} {
		if d.value == "" {
			continue
		}
		v, err := time.ParseDuration(d.value)
		if err != nil {
			return cluster.Recycling{}, fmt.Errorf("entry point JSON: %s: %w", d.field, err)
		}
		*d.into = v
	}
	if r.Requests < 0 {
		return cluster.Recycling{}, fmt.Errorf("entry point JSON: transport.keepAliveMaxRequests: %d is negative", r.Requests)
	}
	return r, nil
}
