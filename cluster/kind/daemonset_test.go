package kind

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestDaemonSetReady(t *testing.T) {
	ds := func(generation int64, status map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"status": status}}
		u.SetAPIVersion("apps/v1")
		u.SetKind("DaemonSet")
		u.SetName("kube-network-policies")
		u.SetGeneration(generation)
		return u
	}
	counts := func(observed, desired, updated, available int64) map[string]any {
		return map[string]any{
			"observedGeneration":     observed,
			"desiredNumberScheduled": desired,
			"updatedNumberScheduled": updated,
			"numberAvailable":        available,
		}
	}
	tests := []struct {
		name         string
		obj          *unstructured.Unstructured
		cond         string
		status, want string
	}{
		{"just created, no status", ds(1, nil), DaemonSetReady, "False", "generation 1 not yet observed by the DaemonSet controller"},
		{"new spec not observed", ds(2, counts(1, 1, 1, 1)), DaemonSetReady, "False", "generation 2 not yet observed by the DaemonSet controller"},
		{"no node yet", ds(1, counts(1, 0, 0, 0)), DaemonSetReady, "False", "no node scheduled yet"},
		{"rolling", ds(2, counts(2, 2, 1, 2)), DaemonSetReady, "False", "1 of 2 pods updated"},
		{"starting", ds(1, counts(1, 1, 1, 0)), DaemonSetReady, "False", "0 of 1 pods available"},
		{"ready", ds(1, counts(1, 1, 1, 1)), DaemonSetReady, "True", "1 of 1 pods available"},
		// Other conditions of a DaemonSet, and Ready of other kinds, read .status.conditions.
		{"other condition", ds(1, counts(1, 1, 1, 1)), "Available", "Unknown", "(no such condition reported)"},
		{"node Ready", func() *unstructured.Unstructured {
			u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{
				"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "KubeletReady"}},
			}}}
			u.SetAPIVersion("v1")
			u.SetKind("Node")
			return u
		}(), "Ready", "True", "KubeletReady"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, reason := observedCondition(tt.obj, tt.cond)
			if status != tt.status || reason != tt.want {
				t.Errorf("observedCondition = %s %q, want %s %q", status, reason, tt.status, tt.want)
			}
		})
	}
}
