package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/services"
)

// ServerImage is the repository of the project's server image; only its containers are emulated.
const ServerImage = cluster.ServerRepository

// podTemplate is what the local platform takes from a Deployment: how to run each replica.
type podTemplate struct {
	namespace, deployment string
	replicas              int
	container             corev1.Container
	labels                map[string]string
}

// templateOf finds the server container of d, or says why d is not emulated.
func templateOf(d *appsv1.Deployment) (*podTemplate, error) {
	var found []corev1.Container
	for _, c := range d.Spec.Template.Spec.Containers {
		if cluster.IsServerImage(c.Image) {
			found = append(found, c)
		}
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("deployment %s/%s: no container runs %s; the local platform runs only that image", d.Namespace, d.Name, ServerImage)
	case len(found) > 1:
		return nil, fmt.Errorf("deployment %s/%s: %d containers run %s; the local platform runs one per pod", d.Namespace, d.Name, len(found), ServerImage)
	}
	replicas := 1
	if d.Spec.Replicas != nil {
		replicas = int(*d.Spec.Replicas)
	}
	return &podTemplate{
		namespace:  d.Namespace,
		deployment: d.Name,
		replicas:   replicas,
		container:  found[0],
		labels:     d.Spec.Template.Labels,
	}, nil
}

// hash identifies the template, so a changed Deployment restarts its processes.
func (t *podTemplate) hash() string {
	b, _ := json.Marshal(struct {
		C corev1.Container
		L map[string]string
	}{t.container, t.labels})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (t *podTemplate) podName(i int) string { return fmt.Sprintf("%s-%d", t.deployment, i) }

// command returns the arguments and environment of replica i. The container's args pass
// through; a last --addr puts the replica on a free loopback port (the flag package keeps the
// last value), which it then prints.
func (t *podTemplate) command(i int, stateDir string) (args, env []string, err error) {
	c := t.container
	if len(c.Command) > 0 && !strings.HasSuffix(c.Command[0], "grpclab-server") {
		return nil, nil, fmt.Errorf("deployment %s/%s container %s: command %q is not grpclab-server", t.namespace, t.deployment, c.Name, c.Command[0])
	}
	if len(c.Command) > 1 {
		args = append(args, c.Command[1:]...)
	}
	args = append(args, c.Args...)
	args = append(args, "--addr=127.0.0.1:0")

	pod := t.podName(i)
	env = []string{"PATH=/usr/bin:/bin", "POD_NAME=" + pod, "POD_NAMESPACE=" + t.namespace, stateEnv + "=" + stateDir}
	for j, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.FieldRef != nil:
			var v string
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.name":
				v = pod
			case "metadata.namespace":
				v = t.namespace
			case "status.podIP", "status.hostIP":
				v = "127.0.0.1"
			default:
				return nil, nil, fmt.Errorf("deployment %s/%s container %s: spec.template.spec.containers.env[%d].valueFrom.fieldRef.fieldPath %q is not emulated", t.namespace, t.deployment, c.Name, j, e.ValueFrom.FieldRef.FieldPath)
			}
			env = append(env, e.Name+"="+v)
		default:
			return nil, nil, fmt.Errorf("deployment %s/%s container %s: spec.template.spec.containers.env[%d] (%s): only value and fieldRef are emulated", t.namespace, t.deployment, c.Name, j, e.Name)
		}
	}
	return args, env, nil
}

// serves reports whether the template's pods answer on the container port a Service's
// targetPort names. Each replica listens on one address, so every port of the server
// container maps to it.
func (t *podTemplate) serves(target string, number int32) bool {
	for _, p := range t.container.Ports {
		if (target != "" && p.Name == target) || (target == "" && p.ContainerPort == number) {
			return true
		}
	}
	// A container without declared ports still listens on the server's default port.
	return len(t.container.Ports) == 0 && target == "" && number == services.DefaultPort
}
