package scenarios

import (
	"context"
	_ "embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/apis/v1alpha2"
	"sigs.k8s.io/gateway-api/apis/v1alpha3"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
	"sigs.k8s.io/yaml"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/scenarios/report"
)

// conformanceScenario is the report's scenario name for the upstream conformance tests: each
// test is a case of it, so known findings, the exit status and compare treat them like ours.
const conformanceScenario = "conformance"

// ConformanceEnv asks for the upstream suite (make conformance sets it).
const ConformanceEnv = "CONFORMANCE"

// conformanceProfile is the profile the suite runs: the Gateway tests and the GRPCRoute ones
// (suite.GatewayGRPCConformanceProfile's features).
const conformanceProfile = suite.GatewayGRPCConformanceProfileName

// ConformanceReportFile is the suite's own ConformanceReport, in the artifacts directory.
const ConformanceReportFile = "conformance-report.yaml"

// coverageFile maps the upstream tests to the grpclab cases that check the same behaviour.
//
//go:embed conformance.yaml
var coverageFile []byte

// TestConformance runs the GATEWAY-GRPC profile of the upstream Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance, the version go.mod pins), unmodified and as a library,
// against the platform's cluster and controller, with the features the controller declares in
// its GatewayClass status. It runs on request (CONFORMANCE=1, make conformance) and on a
// platform with a Kubernetes API; elsewhere it is skipped, saying why. Its file sorts last so
// that it runs after grpclab's own scenarios, on the cluster they leave as they found it.
func TestConformance(t *testing.T) {
	rec.BeginTest(t)
	rec.BeginFeature(t, conformanceScenario)
	// The suite's parallel tests finish after this function returns, and its Report refuses
	// to run before they have: both wait for this cleanup, registered first so it runs last.
	var finish func()
	t.Cleanup(func() {
		if finish != nil {
			finish()
		}
		rec.EndFeature(t, conformanceScenario)
	})
	if os.Getenv(ConformanceEnv) != "1" {
		conformanceSkip(t, "not requested: make conformance, or "+ConformanceEnv+"=1 make e2e PLATFORM=kind, runs it")
	}
	kube, ok := lab.platform.(cluster.KubeAPI)
	if !ok {
		conformanceSkip(t, fmt.Sprintf("the %s platform runs no Kubernetes API; the upstream suite runs on kind (make conformance)", lab.platform.Name()))
	}
	target, err := kube.Conformance()
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	ctx := t.Context()
	images, err := conformanceImages()
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	if err := timed("provide the conformance suite's images ("+strings.Join(images, ", ")+")", func() error {
		return kube.ProvideImages(ctx, images...)
	}); err != nil {
		t.Fatal(err)
	}
	opts, declared, err := conformanceOptions(ctx, kube, target)
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	progress("conformance: %s %s (GatewayClass %s) declares %d features in its status; of them the run (profile %s, and GRPCRoute's extended features) tests %s",
		target.Project, target.Version, target.GatewayClass, len(declared), conformanceProfile, strings.Join(featureNames(opts.SupportedFeatures), ", "))
	rec.AddSectionFunc("Upstream conformance beside grpclab", conformanceSection)
	results := &conformanceResults{
		supported: sets.New(opts.SupportedFeatures...),
		inScope:   conformanceScope(),
		last:      time.Now(),
	}
	opts.Hook = results.record
	cs, err := suite.NewConformanceTestSuite(opts)
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	start := time.Now()
	// Setup applies the base manifests and waits for their pods and Gateways; it fails t
	// (FailNow) if they never get ready, which the report records outside the cases.
	cs.Setup(t, tests.ConformanceTests)
	progress("conformance: base manifests ready (%s)", time.Since(start).Round(time.Millisecond))
	finish = func() {
		p, f, s, outside := results.counts()
		progress("conformance: %d passed, %d failed, %d skipped (%s); %d tests of other profiles not in the run",
			p, f, s, time.Since(start).Round(time.Millisecond), outside)
		cr, err := cs.Report()
		if err != nil {
			t.Errorf("conformance report: %v", err)
			return
		}
		path := filepath.Join(artifactsDir(), ConformanceReportFile)
		if err := writeConformanceReport(path, cr); err != nil {
			t.Error(err)
			return
		}
		progress("conformance: ConformanceReport %s", path)
	}
	if err := cs.Run(t, tests.ConformanceTests); err != nil {
		t.Fatalf("conformance: %v", err)
	}
}

// parseCoverage reads conformance.yaml against the tests of the pinned suite.
func parseCoverage() (report.Coverage, error) {
	return report.ParseCoverage("scenarios/conformance.yaml", coverageFile, func(name string) bool {
		return describeTest(name) != ""
	})
}

// describeTest is the upstream test's description, "" for a test the suite does not have.
func describeTest(name string) string {
	for _, t := range tests.ConformanceTests {
		if t.ShortName == name {
			return t.Description
		}
	}
	return ""
}

// conformanceSection is the report's section on the upstream tests beside grpclab's cases; an
// overlap whose verdicts disagree with no explanation in conformance.yaml gets a line here too.
func conformanceSection(cases []report.Case) string {
	body, unexplained := coverage.Section(cases, conformanceScenario, describeTest)
	if len(unexplained) > 0 {
		progress("conformance: upstream and grpclab disagree on %s, and scenarios/conformance.yaml does not say which is right", strings.Join(unexplained, ", "))
	}
	return body
}

// conformanceSkip records the whole suite as one skipped case, with the reason, and skips.
func conformanceSkip(t *testing.T, reason string) {
	t.Helper()
	rec.Add(report.Case{Scenario: conformanceScenario, Name: "upstream " + string(conformanceProfile) + " suite", Result: report.Skipped, Detail: reason})
	t.Skip(reason)
}

// conformanceImages are the images the suite's base manifests run, from the module's own
// YAML: on the hermetic cluster they are loaded under exactly these names
// (hack/images/conformance.sh builds them), so the manifests run unmodified.
func conformanceImages() ([]string, error) {
	const file = "base/manifests.yaml"
	data, err := conformance.Manifests.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s in the conformance module: %w", file, err)
	}
	var refs []string
	for i, doc := range strings.Split(string(data), "\n---") {
		var d appsv1.Deployment
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
			return nil, fmt.Errorf("%s in the conformance module, document %d: %w", file, i+1, err)
		}
		if d.Kind != "Deployment" {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Image == "" {
				return nil, fmt.Errorf("%s in the conformance module: Deployment %s/%s, container %s: no image", file, d.Namespace, d.Name, c.Name)
			}
			refs = append(refs, c.Image)
		}
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%s in the conformance module: no Deployment images", file)
	}
	slices.Sort(refs)
	return slices.Compact(refs), nil
}

// conformanceOptions builds the suite's options: the clients, the controller's GatewayClass,
// the profile, and the features the controller declares in that GatewayClass's status that
// are in conformanceScope (the suite itself would run every declared feature's tests,
// HTTPRoute's among them). It returns the declared features too, for the progress line.
func conformanceOptions(ctx context.Context, kube cluster.KubeAPI, target cluster.ConformanceTarget) (suite.ConformanceOptions, []features.FeatureName, error) {
	// controller-runtime warns, with a stack, when nothing set its logger.
	ctrllog.SetLogger(logr.Discard())
	rc := kube.RESTConfig()
	if rc == nil {
		return suite.ConformanceOptions{}, nil, fmt.Errorf("the %s platform gave no API server config", lab.platform.Name())
	}
	c, err := client.New(rc, client.Options{})
	if err != nil {
		return suite.ConformanceOptions{}, nil, err
	}
	// The API groups the suite's tests and its CRD version check read, as its DefaultOptions
	// installs them.
	for _, install := range []func(*runtime.Scheme) error{gatewayv1.Install, v1alpha2.Install, v1alpha3.Install, xv1alpha1.Install, apiextensionsv1.AddToScheme} {
		if err := install(c.Scheme()); err != nil {
			return suite.ConformanceOptions{}, nil, err
		}
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return suite.ConformanceOptions{}, nil, err
	}
	var gc gatewayv1.GatewayClass
	if err := c.Get(ctx, client.ObjectKey{Name: target.GatewayClass}, &gc); err != nil {
		return suite.ConformanceOptions{}, nil, fmt.Errorf("GatewayClass %s: %w", target.GatewayClass, err)
	}
	if len(gc.Status.SupportedFeatures) == 0 {
		return suite.ConformanceOptions{}, nil, fmt.Errorf("GatewayClass %s: status.supportedFeatures is empty: %s declares no features", target.GatewayClass, target.Project)
	}
	declared := make([]features.FeatureName, len(gc.Status.SupportedFeatures))
	for i, f := range gc.Status.SupportedFeatures {
		declared[i] = features.FeatureName(f.Name)
	}
	supported := sets.New(declared...).Intersection(conformanceScope())
	return suite.ConformanceOptions{
		ConfigurableOptions: suite.ConfigurableOptions{
			GatewayClassName: target.GatewayClass,
			// The suite's namespaces go at the end, so a kept cluster (KEEP_CLUSTER=1) holds
			// grpclab's objects only.
			CleanupBaseResources: true,
			CleanupTestResources: true,
			SupportedFeatures:    supported.UnsortedList(),
			TimeoutConfig:        config.DefaultTimeoutConfig(),
			Mode:                 "default",
			Implementation: confv1.Implementation{
				Organization: target.Organization,
				Project:      target.Project,
				URL:          target.URL,
				Version:      target.Version,
				Contact:      target.Contact,
			},
			ConformanceProfiles: []suite.ConformanceProfileName{conformanceProfile},
		},
		Client:     c,
		Clientset:  cs,
		RestConfig: rc,
		ManifestFS: []fs.FS{&conformance.Manifests},
	}, declared, nil
}

// conformanceScope is what the run tests: the features of the GATEWAY-GRPC profile (the
// Gateway's core and extended ones, GRPCRoute, ReferenceGrant) and GRPCRoute's extended
// features, which no profile of v1.6.3 lists (GRPCRouteNamedRouteRule).
func conformanceScope() sets.Set[features.FeatureName] {
	p := suite.GatewayGRPCConformanceProfile
	return p.CoreFeatures.Union(p.ExtendedFeatures).Union(features.SetsToNamesSet(features.GRPCRouteExtendedFeatures))
}

// conformanceResults records each upstream test as a case when it ends (the suite's Hook).
// A test outside the scope (one needing a feature of another profile, HTTPRoute's say) is
// counted, not recorded: the suite lists every test it has.
type conformanceResults struct {
	supported, inScope sets.Set[features.FeatureName]
	mu                 sync.Mutex
	last               time.Time
	passed             int
	failed             int
	skipped            int
	outside            int
}

func (r *conformanceResults) record(t *testing.T, test suite.ConformanceTest, _ *suite.ConformanceTestSuite) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.inScope.HasAll(test.Features...) && !t.Failed() {
		r.outside++
		return
	}
	now := time.Now()
	c := report.Case{Scenario: conformanceScenario, Name: test.ShortName, Duration: now.Sub(r.last)}
	r.last = now
	switch missing := sets.New(test.Features...).Difference(r.supported); {
	case t.Failed():
		c.Result = report.Failed
		c.Detail = test.Description + " The log of " + t.Name() + " (scenarios.log) says how."
		r.failed++
	case missing.Len() > 0:
		c.Result = report.Skipped
		// The test is in the scope, so what it lacks is what the controller does not declare.
		c.Detail = "needs " + strings.Join(featureNames(missing.UnsortedList()), ", ") + ", which the GatewayClass status does not declare"
		r.skipped++
	case t.Skipped():
		c.Result = report.Skipped
		c.Detail = "skipped by the suite: see the log of " + t.Name()
		r.skipped++
	default:
		c.Result = report.Passed
		r.passed++
	}
	rec.Add(c)
	progress("conformance %s: %s (%s)", test.ShortName, c.Result, c.Duration.Round(time.Millisecond))
}

func (r *conformanceResults) counts() (passed, failed, skipped, outside int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.passed, r.failed, r.skipped, r.outside
}

func featureNames(names []features.FeatureName) []string {
	out := make([]string, len(names))
	for i, f := range names {
		out[i] = string(f)
	}
	slices.Sort(out)
	return out
}

// writeConformanceReport writes the suite's ConformanceReport as YAML.
func writeConformanceReport(path string, cr *confv1.ConformanceReport) error {
	data, err := yaml.Marshal(cr)
	if err != nil {
		return fmt.Errorf("conformance report: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("conformance report: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("conformance report: %w", err)
	}
	return nil
}
