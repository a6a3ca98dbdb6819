package local

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestTemplateLifecycle: the preStop sleep is emulated (the disruption suite's rolling
// update waits it out before SIGTERM); any other hook is refused, naming the field, never
// silently skipped.
func TestTemplateLifecycle(t *testing.T) {
	deployment := func(lc *corev1.Lifecycle) *appsv1.Deployment {
		d := &appsv1.Deployment{}
		d.Namespace, d.Name = "default", "bar-stable"
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "server", Image: ServerImage + ":dev", Lifecycle: lc}}
		return d
	}
	for _, c := range []struct {
		name string
		lc   *corev1.Lifecycle
		want time.Duration
		err  string
	}{
		{"no hooks", nil, 0, ""},
		{"preStop sleep", &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}}, 5 * time.Second, ""},
		{"preStop exec", &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}}}, 0, "lifecycle.preStop: only sleep is emulated"},
		{"postStart", &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}}, 0, "lifecycle.postStart is not emulated"},
	} {
		tpl, err := templateOf(deployment(c.lc))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "default/bar-stable") {
				t.Errorf("%s: err = %v, want one naming the Deployment and %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		} else if got := tpl.preStopSleep(); got != c.want {
			t.Errorf("%s: preStop sleep %s, want %s", c.name, got, c.want)
		}
	}
}
