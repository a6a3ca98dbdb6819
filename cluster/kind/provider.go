package kind

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/support"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
)

// Provider is an e2e-framework cluster provider over the kind Go library, so suites keep
// the framework's lifecycle (envfuncs.CreateClusterWithConfig, ExportClusterLogs,
// DestroyCluster) without e2e-framework's kind support, which shells out to the kind CLI.
type Provider struct {
	name       string
	nodeImage  string
	config     *v1alpha4.Cluster
	kubeconfig string
	dir        string // where kubeconfig files are written
	kind       *kindcluster.Provider
	rest       *rest.Config
}

var (
	_ support.E2EClusterProvider                = (*Provider)(nil)
	_ support.E2EClusterProviderWithImageLoader = (*Provider)(nil)
)

// NewProvider returns a provider that runs nodes on Docker.
func NewProvider() *Provider {
	return &Provider{kind: kindcluster.NewProvider(kindcluster.ProviderWithDocker())}
}

// WithConfig sets the kind config Create uses (see Config).
func WithConfig(c *v1alpha4.Cluster) support.ClusterOpts {
	return func(p support.E2EClusterProvider) {
		if kp, ok := p.(*Provider); ok {
			kp.config = c
		}
	}
}

// WithKubeconfigDir sets where kubeconfig files are written (default: the temp dir).
func WithKubeconfigDir(dir string) support.ClusterOpts {
	return func(p support.E2EClusterProvider) {
		if kp, ok := p.(*Provider); ok {
			kp.dir = dir
		}
	}
}

func (p *Provider) SetDefaults() support.E2EClusterProvider {
	if p.kind == nil {
		p.kind = kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	}
	if p.dir == "" {
		p.dir = os.TempDir()
	}
	return p
}

func (p *Provider) WithName(name string) support.E2EClusterProvider { p.name = name; return p }

// WithVersion takes a Kubernetes version ("v1.35.1", pulls kindest/node at that tag) or a
// full node image reference.
func (p *Provider) WithVersion(version string) support.E2EClusterProvider {
	if strings.Contains(version, ":") {
		p.nodeImage = version
	} else {
		p.nodeImage = "kindest/node:" + version
	}
	return p
}

// WithPath is part of the interface for CLI-backed providers; the kind library needs no
// binary, so the path is ignored.
func (p *Provider) WithPath(string) support.E2EClusterProvider { return p }

func (p *Provider) WithOpts(opts ...support.ClusterOpts) support.E2EClusterProvider {
	for _, o := range opts {
		o(p)
	}
	return p
}

// Create creates the cluster from the config set with WithConfig (or kind's defaults),
// or reuses a cluster of the same name that already exists. It returns the kubeconfig path.
func (p *Provider) Create(ctx context.Context, _ ...string) (string, error) {
	var opts []kindcluster.CreateOption
	if p.config != nil {
		opts = append(opts, kindcluster.CreateWithV1Alpha4Config(p.config))
	}
	return p.create(ctx, opts...)
}

// CreateWithConfig creates the cluster from a kind config file, or reuses it.
func (p *Provider) CreateWithConfig(ctx context.Context, configFile string) (string, error) {
	return p.create(ctx, kindcluster.CreateWithConfigFile(configFile))
}

func (p *Provider) create(ctx context.Context, opts ...kindcluster.CreateOption) (string, error) {
	p.SetDefaults()
	if p.name == "" {
		return "", fmt.Errorf("create kind cluster: no name (WithName)")
	}
	if err := CheckDocker(ctx); err != nil {
		return "", err
	}
	existing, err := p.kind.List()
	if err != nil {
		return "", fmt.Errorf("list kind clusters: %w", err)
	}
	if !slices.Contains(existing, p.name) {
		if p.nodeImage != "" {
			opts = append(opts, kindcluster.CreateWithNodeImage(p.nodeImage))
		}
		// kind's own wait is skipped: with its CNI disabled the node turns Ready only
		// once Calico runs, which the Calico addon waits for.
		opts = append(opts, kindcluster.CreateWithDisplayUsage(false), kindcluster.CreateWithDisplaySalutation(false))
		if err := p.kind.Create(p.name, opts...); err != nil {
			return "", fmt.Errorf("create kind cluster %s: %w", p.name, err)
		}
	}
	return p.GenerateKubeconfig()
}

// GenerateKubeconfig writes the cluster's external kubeconfig to a file and returns its path.
func (p *Provider) GenerateKubeconfig(...string) (string, error) {
	p.SetDefaults()
	cfg, err := p.kind.KubeConfig(p.name, false)
	if err != nil {
		return "", fmt.Errorf("kubeconfig of kind cluster %s: %w", p.name, err)
	}
	path := filepath.Join(p.dir, "kind-"+p.name+".kubeconfig")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", fmt.Errorf("write kubeconfig: %w", err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig([]byte(cfg))
	if err != nil {
		return "", fmt.Errorf("kubeconfig of kind cluster %s: %w", p.name, err)
	}
	// client-go's default 5 requests/s throttles the isolation suite's parallel probes (one
	// exec per pod pair) and fills the log with throttling notices; one local cluster takes more.
	rc.QPS, rc.Burst = 50, 100
	p.kubeconfig, p.rest = path, rc
	return path, nil
}

func (p *Provider) GetKubeconfig() string              { return p.kubeconfig }
func (p *Provider) GetKubectlContext() string          { return "kind-" + p.name }
func (p *Provider) KubernetesRestConfig() *rest.Config { return p.rest }

// WaitForControlPlane waits until the API server reports itself ready. Nodes are not
// waited for here: without a CNI they turn Ready only after Calico is installed.
func (p *Provider) WaitForControlPlane(ctx context.Context, client klient.Client) error {
	cs, err := kubernetes.NewForConfig(client.RESTConfig())
	if err != nil {
		return fmt.Errorf("wait for control plane of %s: %w", p.name, err)
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, last = cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("wait for control plane of %s /readyz: %w (last: %v)", p.name, err, last)
	}
	return nil
}

// ExportLogs collects node logs, container logs and kind's version into dest.
func (p *Provider) ExportLogs(_ context.Context, dest string) error {
	p.SetDefaults()
	if err := p.kind.CollectLogs(p.name, dest); err != nil {
		return fmt.Errorf("export logs of kind cluster %s to %s: %w", p.name, dest, err)
	}
	return nil
}

// Destroy deletes the cluster and its kubeconfig entry.
func (p *Provider) Destroy(_ context.Context) error {
	p.SetDefaults()
	if err := p.kind.Delete(p.name, p.kubeconfig); err != nil {
		return fmt.Errorf("delete kind cluster %s: %w", p.name, err)
	}
	return nil
}

// LoadImage loads a local Docker image into every node of the cluster.
func (p *Provider) LoadImage(ctx context.Context, image string, _ ...string) error {
	nodeList, err := p.kind.ListInternalNodes(p.name)
	if err != nil {
		return fmt.Errorf("list nodes of kind cluster %s: %w", p.name, err)
	}
	return LoadImage(ctx, image, nodeList)
}

// LoadImageArchive loads an image archive into every node of the cluster.
func (p *Provider) LoadImageArchive(_ context.Context, archive string, _ ...string) error {
	nodeList, err := p.kind.ListInternalNodes(p.name)
	if err != nil {
		return fmt.Errorf("list nodes of kind cluster %s: %w", p.name, err)
	}
	return LoadImageArchive(archive, nodeList)
}
