package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/local/controller"
	"github.com/grpclab/grpclab/cluster/local/proc"
)

// KillNoticeDelay is how long a SIGKILLed replica stays in the endpoints before the platform
// notices, drops it and starts its replacement. On a cluster the kubelet sees the container
// exit and the pod turns NotReady within about a second; the emulator waits this long on
// purpose, so the proxy meets the dead address as it would there.
const KillNoticeDelay = time.Second

var _ cluster.Disruptor = (*Platform)(nil)

// template returns the pod template of a recorded Deployment.
func (p *Platform) template(namespace, deployment string) (*podTemplate, error) {
	for _, d := range sorted[*appsv1.Deployment](p) {
		if d.Namespace == namespace && d.Name == deployment {
			return templateOf(d)
		}
	}
	return nil, fmt.Errorf("no Deployment %s/%s applied", namespace, deployment)
}

// pods returns the recorded processes of a Deployment, in pod-name order.
func (p *Platform) pods(namespace, deployment string) []process {
	var out []process
	for _, pr := range p.st.Processes {
		if pr.Namespace == namespace && pr.Deployment == deployment {
			out = append(out, pr)
		}
	}
	slices.SortFunc(out, func(a, b process) int {
		switch {
		case a.Pod < b.Pod:
			return -1
		case a.Pod > b.Pod:
			return 1
		}
		return 0
	})
	return out
}

// render and reload the proxy for the processes as recorded now.
func (p *Platform) rerender(ctx context.Context) error {
	cfg, err := p.render()
	if err != nil {
		return err
	}
	return p.reload(ctx, cfg)
}

// RolloutRestart replaces the Deployment's replicas one at a time, in pod-name order: start
// the new replica (it keeps its pod name, so x-served-by prefixes stay), wait until it is
// SERVING, reload the proxy with both, then reload it without the old one and go on to the
// next replica while the old one terminates: its container's preStop sleep if it has one,
// then SIGTERM and a wait for it to exit (SIGKILL after 5 s, as stop does). That is the
// Deployment controller's default (maxSurge 1, maxUnavailable 0): a terminating pod no
// longer counts, so old pods terminate side by side. RolloutRestart returns once every old
// pod is gone. A cluster removes the endpoint and signals the pod concurrently; the
// emulator orders them, as a preStop sleep would, so what the suite measures is the proxy
// and the server, not that race.
func (p *Platform) RolloutRestart(ctx context.Context, namespace, deployment string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st == nil {
		return errors.New("rollout restart: the local platform is not up")
	}
	t, err := p.template(namespace, deployment)
	if err != nil {
		return fmt.Errorf("rollout restart: %w", err)
	}
	old := p.pods(namespace, deployment)
	if len(old) == 0 {
		return fmt.Errorf("rollout restart %s/%s: no running pods", namespace, deployment)
	}
	var terminating sync.WaitGroup
	defer terminating.Wait()
	errs := make([]error, len(old))
	for k, o := range old {
		i := -1
		for n := range t.replicas {
			if t.podName(n) == o.Pod {
				i = n
			}
		}
		if i < 0 {
			return fmt.Errorf("rollout restart %s/%s: pod %s is not one of its %d replicas", namespace, deployment, o.Pod, t.replicas)
		}
		// The new replica logs to a file of its own: the old one still writes its log.
		pr, err := p.launch(t, i, logPath(p.dir, fmt.Sprintf("%s_%s.gen%d", namespace, o.Pod, p.st.Generation)))
		if err != nil {
			return fmt.Errorf("rollout restart: %w", err)
		}
		p.st.Processes = append(p.st.Processes, pr)
		if err := p.st.write(p.dir); err != nil {
			return err
		}
		if err := waitReady(ctx, &p.st.Processes[len(p.st.Processes)-1]); err != nil {
			return fmt.Errorf("rollout restart: %w", err)
		}
		if err := p.rerender(ctx); err != nil {
			return fmt.Errorf("rollout restart: surge %s: %w", pr.Pod, err)
		}
		p.st.Processes = slices.DeleteFunc(p.st.Processes, func(x process) bool { return x.PID == o.PID })
		if err := p.rerender(ctx); err != nil {
			return fmt.Errorf("rollout restart: take %s (pid %d) out of the endpoints: %w", o.Pod, o.PID, err)
		}
		terminating.Go(func() { errs[k] = terminate(ctx, o, t.preStopSleep()) })
	}
	terminating.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rollout restart: %w", err)
	}
	return p.st.write(p.dir)
}

// terminate runs a replica's preStop sleep, if it has one, then stops it.
func terminate(ctx context.Context, o process, preStop time.Duration) error {
	if preStop > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("preStop sleep of %s: %w", o.Pod, ctx.Err())
		case <-time.After(preStop):
		}
	}
	return stop(ctx, o.PID, o.Binary)
}

// KillPod sends SIGKILL to the Deployment's first replica, leaves it in the endpoints for
// KillNoticeDelay, then reconciles: the replica is started again (same pod name) and the
// proxy reloaded once it is SERVING.
func (p *Platform) KillPod(ctx context.Context, namespace, deployment string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st == nil {
		return "", errors.New("kill pod: the local platform is not up")
	}
	pods := p.pods(namespace, deployment)
	if len(pods) == 0 {
		return "", fmt.Errorf("kill pod: Deployment %s/%s has no running pods", namespace, deployment)
	}
	victim := pods[0]
	if err := proc.Stop(ctx, victim.PID, func() bool { return alive(victim.PID, victim.Binary) }, proc.Kill); err != nil {
		return "", fmt.Errorf("kill pod %s: %w", victim.Pod, err)
	}
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("kill pod %s: %w", victim.Pod, ctx.Err())
	case <-time.After(KillNoticeDelay):
	}
	if err := p.reconcile(ctx); err != nil {
		return "", fmt.Errorf("kill pod %s: replace it: %w", victim.Pod, err)
	}
	return victim.Pod, nil
}

// Recycling reads the recycling directives of the nginx server blocks that listen on address.
func (p *Platform) Recycling(_ context.Context, address string) (cluster.Recycling, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	conf := filepath.Join(p.dir, "nginx.conf")
	text, err := os.ReadFile(conf)
	if err != nil {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: %w", err)
	}
	all, err := controller.ListenRecycling(string(text))
	if err != nil {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: %s: %w", conf, err)
	}
	r, ok := all[address]
	if !ok {
		return cluster.Recycling{}, fmt.Errorf("recycling limits: no nginx server block listens on %s", address)
	}
	return cluster.Recycling{Requests: r.Requests, MaxAge: r.MaxAge, Idle: r.Idle,
		Source: "nginx.conf, server blocks on " + address}, nil
}
