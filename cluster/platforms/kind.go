package platforms

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/certs"
	"github.com/grpclab/grpclab/cluster/kind"
	"github.com/grpclab/grpclab/manifests"
)

// newKind builds the kind platform: the selected controller, the service image built from
// the repository's Dockerfile, and TLS Secrets signed by a CA kept in the state directory so
// clients can trust it.
func newKind(ctx context.Context, o Options) (cluster.Platform, error) {
	choice, err := kind.ChooseImages(ctx, os.Getenv(kind.ImagesEnv), o.Controller)
	if err != nil {
		return nil, fmt.Errorf("kind platform: %w", err)
	}
	if o.Logger != nil {
		o.Logger.Info("images: " + choice.Why + "; controller " + choice.Controller)
	}
	ca, err := certs.NewCA()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(o.StateDir, "certs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kind certificates: %w", err)
	}
	caFile := filepath.Join(dir, certs.CAFile)
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		return nil, fmt.Errorf("kind certificates: %w", err)
	}
	secrets := func(objs []manifests.Object) ([]*corev1.Secret, error) {
		b, err := certs.GenerateWithCA(ca, objs)
		if err != nil {
			return nil, err
		}
		return b.Secrets(), nil
	}
	opts := []kind.Option{
		kind.WithKeepCluster(os.Getenv("KEEP_CLUSTER") != ""),
		kind.WithCertificates(caFile, secrets),
		kind.WithImages(choice.Images),
		kind.WithController(choice.Controller),
	}
	if name := os.Getenv("GRPCLAB_KIND_CLUSTER"); name != "" {
		opts = append(opts, kind.WithClusterName(name))
	}
	if v := os.Getenv("GRPCLAB_KIND_WAIT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("kind platform: GRPCLAB_KIND_WAIT_TIMEOUT=%q: %w", v, err)
		}
		opts = append(opts, kind.WithTimeout(d))
	}
	if choice.Images == kind.Pulled {
		opts = append(opts, kind.WithImageBuild(o.RepoRoot))
	}
	if o.Artifacts != "" {
		opts = append(opts, kind.WithArtifacts(o.Artifacts))
	}
	if o.Logger != nil {
		opts = append(opts, kind.WithLogger(o.Logger))
	}
	return kind.New(opts...)
}

// DirectThroughTunnel reports whether the platform's "direct to a pod" path is itself a hop:
// on kind where the host does not route the pod IPs, a port-forward through the API server.
func DirectThroughTunnel(p cluster.Platform) bool {
	return p.Name() == Kind && p.Versions()["direct to a pod"] != string(kind.DirectRouted)
}
