// Package manifests holds the Kubernetes YAML every platform applies (the single source of truth:
// routes, policies and Ingresses are never re-typed as Go), and loads it into typed, validated objects.
package manifests

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	runtimeschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	"sigs.k8s.io/yaml"
)

// The variants. A new top-level variant directory must be added to this list.
//
//go:embed base gateway-api ingress-nginx networkpolicy
var tree embed.FS

// crdDir holds the Gateway API CRDs, not a variant.
const crdDir = "crds"

// Scheme knows every kind the manifests may hold: the core Kubernetes API and Gateway API v1 and
// v1beta1. Anything else is rejected as an unknown kind.
var Scheme = newScheme()

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(gatewayv1.Install(s))
	utilruntime.Must(gatewayv1beta1.Install(s))
	return s
}

// strictYAML rejects unknown and duplicated fields, which the default decoder drops silently.
var strictYAML = json.NewSerializerWithOptions(json.DefaultMetaFactory, Scheme, Scheme,
	json.SerializerOptions{Yaml: true, Strict: true})

// DefaultVariants is the combination everything starts from, with extra variants on top: the
// production Gateway API routes (no reflection) and the article's Ingress over the base
// workloads. `grpclab up`, the demo, the benchmarks and every scenario load it.
func DefaultVariants(extra ...string) []string {
	return append([]string{"base", "gateway-api", "ingress-nginx"}, extra...)
}

// Variants returns every variant name (a directory under manifests/ holding .yaml files), sorted.
func Variants() []string {
	var out []string
	// Walking an embed.FS cannot fail except on a bad root, which is a constant here.
	_ = fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == "." {
			return err
		}
		if files, _ := yamlFilesIn(tree, p); len(files) > 0 {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// Load decodes the named variants in order, then every .yaml/.yml file under each extra directory
// (recursively), and validates the result. An object with the same group, kind, namespace and name
// as one loaded earlier replaces it in place: that is how a variant overrides a route. Namespaced
// objects without a namespace go to "default". On any error no objects are returned, so nothing
// is applied from bad input.
//
// Source names the file and the object's 1-based position among the file's documents:
// "gateway-api/routes.yaml#2" for the embedded tree, an absolute path for an extra directory.
func Load(variants []string, extraDirs ...string) ([]Object, error) {
	known := Variants()
	var set objectSet
	for _, v := range variants {
		if !slices.Contains(known, v) {
			return nil, fmt.Errorf("load variant %q: no such variant (known: %s)", v, strings.Join(known, ", "))
		}
		files, err := yamlFilesIn(tree, v)
		if err != nil {
			return nil, fmt.Errorf("load variant %q: %w", v, err)
		}
		unit, err := decodeFiles(files, tree.ReadFile, fmt.Sprintf("load variant %q", v))
		if err != nil {
			return nil, err
		}
		if err := set.overlay(unit); err != nil {
			return nil, err
		}
	}
	for _, dir := range extraDirs {
		unit, err := loadDir(dir)
		if err != nil {
			return nil, err
		}
		if err := set.overlay(unit); err != nil {
			return nil, err
		}
	}
	if err := Validate(set.objs); err != nil {
		return nil, err
	}
	return set.objs, nil
}

// yamlFilesIn lists the .yaml/.yml files directly in dir, sorted; subdirectories are other variants.
func yamlFilesIn(fsys fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && isYAML(e.Name()) {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out, nil
}

func isYAML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// loadDir decodes every manifest file under a user's directory.
func loadDir(dir string) ([]Object, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load directory %s: %w", dir, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("load directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("load directory %s: not a directory", abs)
	}
	var files []string
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Hidden folders (.git, .github) hold YAML that is not Kubernetes manifests.
		if d.IsDir() && p != abs && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && isYAML(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load directory %s: %w", abs, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load directory %s: no .yaml or .yml files", abs)
	}
	return decodeFiles(files, os.ReadFile, "load directory "+abs)
}

// decodeFiles reads and decodes files in order; what prefixes read errors
// (decode errors already name their file).
func decodeFiles(files []string, read func(string) ([]byte, error), what string) ([]Object, error) {
	var out []Object
	for _, f := range files {
		data, err := read(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		objs, err := decodeFile(f, data)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// decodeFile strictly decodes every non-empty document of a multi-document YAML file.
func decodeFile(name string, data []byte) ([]Object, error) {
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: split documents: %w", name, err)
		}
		if isBlank(doc) {
			continue
		}
		source := fmt.Sprintf("%s#%d", name, len(out)+1)
		obj, err := decodeDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		out = append(out, Object{Source: source, Object: obj})
	}
}

// isBlank reports whether a document holds only comments and whitespace.
func isBlank(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' && string(line) != "---" {
			return false
		}
	}
	return true
}

// header is what an error message needs to name an object before it is known to decode.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

func (h header) String() string {
	kind := h.Kind
	if kind == "" {
		kind = "<no kind>"
	}
	name := h.Metadata.Name
	if name == "" {
		name = "<no name>"
	}
	if h.Metadata.Namespace != "" {
		name = h.Metadata.Namespace + "/" + name
	}
	return kind + " " + name
}

func decodeDocument(doc []byte) (client.Object, error) {
	var h header
	if err := yaml.Unmarshal(doc, &h); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if h.APIVersion == "" {
		return nil, fmt.Errorf("%s: field apiVersion: Required", h)
	}
	if h.Kind == "" {
		return nil, fmt.Errorf("%s: field kind: Required", h)
	}
	gv, err := runtimeschema.ParseGroupVersion(h.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("%s: field apiVersion: %w", h, err)
	}
	gvk := gv.WithKind(h.Kind)
	if !Scheme.Recognizes(gvk) {
		if versions := Scheme.VersionsForGroupKind(gvk.GroupKind()); len(versions) > 0 {
			return nil, fmt.Errorf("%s: field apiVersion: unsupported value %q for kind %s (known: %s)",
				h, h.APIVersion, h.Kind, joinVersions(versions))
		}
		if hint := apiVersionFor(h.Kind); hint != "" {
			return nil, fmt.Errorf("%s: field apiVersion: unknown value %q (kind %s is %s)", h, h.APIVersion, h.Kind, hint)
		}
		return nil, fmt.Errorf("%s: field kind: unknown kind %q in apiVersion %q", h, h.Kind, h.APIVersion)
	}
	obj, _, err := strictYAML.Decode(doc, nil, nil)
	if err != nil {
		// Strict errors already carry the field path ("unknown field \"spec.foo\"").
		return nil, fmt.Errorf("%s: %w", h, err)
	}
	cobj, ok := obj.(client.Object)
	if !ok {
		return nil, fmt.Errorf("%s: field kind: %s is not a single object (lists are not supported; use --- between documents)", h, h.Kind)
	}
	if cobj.GetName() == "" {
		return nil, fmt.Errorf("%s: field metadata.name: Required", h)
	}
	namespaced := !clusterScoped[gvk.GroupKind()]
	switch {
	case namespaced && cobj.GetNamespace() == "":
		cobj.SetNamespace("default")
	case !namespaced && cobj.GetNamespace() != "":
		return nil, fmt.Errorf("%s: field metadata.namespace: Forbidden: %s is cluster-scoped", h, h.Kind)
	}
	return cobj, nil
}

func joinVersions(vs []runtimeschema.GroupVersion) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return strings.Join(s, ", ")
}

// apiVersionFor names the group versions that serve a kind, to turn a typo'd group
// (the article's "gateway.intnetworking.k8s.io") into a useful hint.
func apiVersionFor(kind string) string {
	var gvs []string
	for gvk := range Scheme.AllKnownTypes() {
		if gvk.Kind == kind && gvk.Version != runtime.APIVersionInternal {
			gvs = append(gvs, gvk.GroupVersion().String())
		}
	}
	slices.Sort(gvs)
	if len(gvs) == 0 {
		return ""
	}
	return "served by " + strings.Join(gvs, ", ")
}

// clusterScoped lists the cluster-scoped kinds a manifest is likely to hold; every other kind is
// namespaced.
var clusterScoped = map[runtimeschema.GroupKind]bool{
	{Kind: "Namespace"}:        true,
	{Kind: "Node"}:             true,
	{Kind: "PersistentVolume"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                       true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                 true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                             true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                              true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:   true,
	{Group: gatewayv1.GroupName, Kind: "GatewayClass"}:                              true,
}

// objectSet keeps objects in load order, keyed by group/kind/namespace/name.
type objectSet struct {
	objs  []Object
	index map[objectKey]int
}

type objectKey struct {
	group, kind, namespace, name string
}

func keyOf(o client.Object) (objectKey, error) {
	gvk, err := gvkOf(o)
	if err != nil {
		return objectKey{}, err
	}
	return objectKey{gvk.Group, gvk.Kind, o.GetNamespace(), o.GetName()}, nil
}

// overlay adds one variant's (or directory's) objects: an object may replace one from an earlier
// unit, but the same object twice in one unit is a mistake.
func (s *objectSet) overlay(unit []Object) error {
	if s.index == nil {
		s.index = map[objectKey]int{}
	}
	seen := map[objectKey]string{}
	for _, o := range unit {
		k, err := keyOf(o.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", o.Source, err)
		}
		if prev, dup := seen[k]; dup {
			return fmt.Errorf("%s: %s %s/%s is already defined in %s", o.Source, k.kind, k.namespace, k.name, prev)
		}
		seen[k] = o.Source
		if i, ok := s.index[k]; ok {
			s.objs[i] = o
			continue
		}
		s.index[k] = len(s.objs)
		s.objs = append(s.objs, o)
	}
	return nil
}

// gvkOf asks the scheme rather than TypeMeta, which decoding may leave empty.
func gvkOf(o runtime.Object) (runtimeschema.GroupVersionKind, error) {
	gvks, _, err := Scheme.ObjectKinds(o)
	if err != nil {
		return runtimeschema.GroupVersionKind{}, fmt.Errorf("type %T: %w", o, err)
	}
	return gvks[0], nil
}
