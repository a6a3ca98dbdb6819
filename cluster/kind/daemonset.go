package kind

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DaemonSetReady is the condition a Wait names for a DaemonSet. DaemonSets report no
// conditions, so it is computed from their status counts (daemonSetReady).
const DaemonSetReady = "Ready"

var daemonSetKind = schema.GroupKind{Group: "apps", Kind: "DaemonSet"}

// observedCondition is condition, except for a DaemonSet's DaemonSetReady, which it computes.
func observedCondition(u *unstructured.Unstructured, t string) (status, reason string) {
	if t == DaemonSetReady && u.GroupVersionKind().GroupKind() == daemonSetKind {
		return daemonSetReady(u)
	}
	return condition(u, t)
}

// daemonSetReady is "True" once the controller has seen the current spec and every node it
// schedules the DaemonSet on runs an updated, available pod: what `kubectl rollout status`
// checks. Unlike kubectl it waits while no node is scheduled, since every DaemonSet the
// platform installs must run on the cluster's nodes.
func daemonSetReady(u *unstructured.Unstructured) (status, reason string) {
	count := func(field string) int64 {
		n, _, _ := unstructured.NestedInt64(u.Object, "status", field)
		return n
	}
	desired, updated, available := count("desiredNumberScheduled"), count("updatedNumberScheduled"), count("numberAvailable")
	switch {
	case count("observedGeneration") < u.GetGeneration():
		return "False", fmt.Sprintf("generation %d not yet observed by the DaemonSet controller", u.GetGeneration())
	case desired == 0:
		return "False", "no node scheduled yet"
	case updated < desired:
		return "False", fmt.Sprintf("%d of %d pods updated", updated, desired)
	case available < desired:
		return "False", fmt.Sprintf("%d of %d pods available", available, desired)
	}
	return "True", fmt.Sprintf("%d of %d pods available", available, desired)
}
