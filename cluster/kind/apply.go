package kind

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/cluster/kind/addon"
	"github.com/grpclab/grpclab/manifests"
)

// FieldManager owns every field grpclab applies.
const FieldManager = "grpclab"

// Applier server-side applies objects in dependency order and waits on their conditions.
type Applier struct {
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	// Poll is how often a wait re-reads the objects it waits on.
	Poll time.Duration
}

// NewApplier returns an Applier for the API server rc points at.
func NewApplier(rc *rest.Config) (*Applier, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("applier: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("applier: %w", err)
	}
	return &Applier{
		dynamic: dyn,
		mapper:  restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		Poll:    time.Second,
	}, nil
}

// Item is one object to apply and where it came from, for error messages.
type Item struct {
	Source string
	Object *unstructured.Unstructured
}

func (it Item) String() string {
	o := it.Object
	name := o.GetName()
	if o.GetNamespace() != "" {
		name = o.GetNamespace() + "/" + name
	}
	return fmt.Sprintf("%s %s (%s)", o.GetKind(), name, it.Source)
}

// Phase orders objects for apply: CRDs, then Namespaces, then Secrets (the generated
// certificates), then everything else, so nothing is applied before its type or its
// namespace exists and no workload starts before its Secret.
func Phase(o *unstructured.Unstructured) int {
	gvk := o.GroupVersionKind()
	switch {
	case gvk.Group == apiextensionsv1.GroupName && gvk.Kind == "CustomResourceDefinition":
		return 0
	case gvk.Group == "" && gvk.Kind == "Namespace":
		return 1
	case gvk.Group == "" && gvk.Kind == "Secret":
		return 2
	default:
		return 3
	}
}

// Order returns the items sorted by Phase, keeping the given order within a phase.
func Order(items []Item) []Item {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b Item) int { return Phase(a.Object) - Phase(b.Object) })
	return out
}

// Items converts manifests and generated Secrets into apply items. Typed objects whose
// TypeMeta is empty get it from the client-go and Gateway API schemes.
func Items(objs []manifests.Object, secrets []*corev1.Secret) ([]Item, error) {
	var out []Item
	for _, o := range objs {
		u, err := ToUnstructured(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Source, err)
		}
		out = append(out, Item{Source: o.Source, Object: u})
	}
	for _, s := range secrets {
		u, err := ToUnstructured(s)
		if err != nil {
			return nil, fmt.Errorf("generated secret %s/%s: %w", s.Namespace, s.Name, err)
		}
		out = append(out, Item{Source: "generated", Object: u})
	}
	return out, nil
}

var typeScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	// Both only register types; errors here would be programming errors caught by tests.
	_ = scheme.AddToScheme(s)
	_ = gatewayv1.Install(s)
	_ = apiextensionsv1.AddToScheme(s)
	return s
}()

// ToUnstructured turns a typed object into the body of an apply request: with apiVersion
// and kind, without status and server-owned metadata.
func ToUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u = u.DeepCopy()
		clean(u)
		return u, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %T: %w", obj, err)
	}
	u := &unstructured.Unstructured{Object: m}
	if u.GetKind() == "" {
		gvks, _, err := typeScheme.ObjectKinds(obj)
		if err != nil || len(gvks) == 0 {
			return nil, fmt.Errorf("object of type %T has no apiVersion/kind and no registered type", obj)
		}
		u.SetGroupVersionKind(gvks[0])
	}
	clean(u)
	return u, nil
}

func clean(u *unstructured.Unstructured) {
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
	unstructured.RemoveNestedField(u.Object, "metadata", "resourceVersion")
	unstructured.RemoveNestedField(u.Object, "metadata", "uid")
	unstructured.RemoveNestedField(u.Object, "metadata", "generation")
	// Pod templates carry an empty creationTimestamp after conversion; it is not ours.
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
}

// DecodeYAML reads every non-empty document of a multi-document YAML stream. Items are
// named source#N, N counting non-empty documents from 1.
func DecodeYAML(source string, data []byte) ([]Item, error) {
	var out []Item
	r := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for i := 1; ; i++ {
		var m map[string]any
		if err := r.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("decode %s#%d: %w", source, i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, fmt.Errorf("decode %s#%d: missing apiVersion or kind", source, i)
		}
		if u.GetName() == "" {
			return nil, fmt.Errorf("decode %s#%d: %s has no metadata.name", source, i, u.GetKind())
		}
		out = append(out, Item{Source: fmt.Sprintf("%s#%d", source, i), Object: u})
	}
}

// Apply server-side applies the items in Order with field manager "grpclab", forcing
// ownership of the fields it sets. CRDs are waited on (Established) before anything that
// may be of their types. Applying the same items again changes nothing on the server.
func (a *Applier) Apply(ctx context.Context, items []Item) error {
	ordered := Order(items)
	var crds []Item
	for i, it := range ordered {
		if Phase(it.Object) > 0 && len(crds) > 0 {
			if err := a.waitEstablished(ctx, crds); err != nil {
				return err
			}
			crds = nil
		}
		if err := a.applyOne(ctx, it); err != nil {
			return err
		}
		if Phase(it.Object) == 0 {
			crds = append(crds, it)
		}
		if i == len(ordered)-1 && len(crds) > 0 {
			return a.waitEstablished(ctx, crds)
		}
	}
	return nil
}

func (a *Applier) resource(it Item) (dynamic.ResourceInterface, error) {
	gvk := it.Object.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// A CRD applied moments ago: refresh discovery once.
		a.mapper.Reset()
		mapping, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("apply %s: resource type: %w", it, err)
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := it.Object.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		return a.dynamic.Resource(mapping.Resource).Namespace(ns), nil
	}
	return a.dynamic.Resource(mapping.Resource), nil
}

func (a *Applier) applyOne(ctx context.Context, it Item) error {
	ri, err := a.resource(it)
	if err != nil {
		return err
	}
	body, err := json.Marshal(it.Object.Object)
	if err != nil {
		return fmt.Errorf("apply %s: %w", it, err)
	}
	force := true
	_, err = ri.Patch(ctx, it.Object.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
	if err != nil {
		return fmt.Errorf("apply %s: %w", it, err)
	}
	return nil
}

func (a *Applier) waitEstablished(ctx context.Context, crds []Item) error {
	crdResource := schema.GroupVersionResource{Group: apiextensionsv1.GroupName, Version: "v1", Resource: "customresourcedefinitions"}
	for _, c := range crds {
		w := addon.Wait{Resource: crdResource, Name: c.Object.GetName(), Condition: "Established"}
		if err := a.Wait(ctx, w, 2*time.Minute); err != nil {
			return err
		}
	}
	a.mapper.Reset()
	return nil
}

// Delete removes the items in reverse Order; objects already gone are not an error.
func (a *Applier) Delete(ctx context.Context, items []Item) error {
	ordered := Order(items)
	slices.Reverse(ordered)
	for _, it := range ordered {
		ri, err := a.resource(it)
		if err != nil {
			if meta.IsNoMatchError(errors.Unwrap(err)) {
				continue // its CRD is gone, so is it
			}
			return err
		}
		if err := ri.Delete(ctx, it.Object.GetName(), metav1.DeleteOptions{}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete %s: %w", it, err)
		}
	}
	return nil
}

// WaitGone waits until every item is gone from the API server, each within timeout: a
// Namespace stays Terminating until its contents are deleted, and applying into it fails
// until then.
func (a *Applier) WaitGone(ctx context.Context, items []Item, timeout time.Duration) error {
	for _, it := range items {
		ri, err := a.resource(it)
		if err != nil {
			if meta.IsNoMatchError(errors.Unwrap(err)) {
				continue
			}
			return err
		}
		var last error
		err = wait.PollUntilContextTimeout(ctx, a.Poll, timeout, true, func(ctx context.Context) (bool, error) {
			_, last = ri.Get(ctx, it.Object.GetName(), metav1.GetOptions{})
			return isNotFound(last), nil
		})
		if err != nil {
			return fmt.Errorf("wait for %s to be deleted: %w (last: %v)", it, err, last)
		}
	}
	return nil
}

// Readiness lists what Platform.Apply waits for after applying: Deployments Available and
// Gateways Programmed.
func Readiness(items []Item) []addon.Wait {
	var out []addon.Wait
	for _, it := range items {
		gvk := it.Object.GroupVersionKind()
		switch {
		case gvk.Group == "apps" && gvk.Kind == "Deployment":
			out = append(out, addon.Wait{
				Resource:  schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
				Namespace: namespaceOf(it.Object), Name: it.Object.GetName(), Condition: "Available",
			})
		case gvk.Group == gatewayv1.GroupName && gvk.Kind == "Gateway":
			out = append(out, addon.Wait{
				Resource:  gatewayv1.SchemeGroupVersion.WithResource("gateways"),
				Namespace: namespaceOf(it.Object), Name: it.Object.GetName(), Condition: "Programmed",
			})
		}
	}
	return out
}

func namespaceOf(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return ns
	}
	return metav1.NamespaceDefault
}

// WaitAll waits for every wait in turn, each within timeout.
func (a *Applier) WaitAll(ctx context.Context, waits []addon.Wait, timeout time.Duration) error {
	for _, w := range waits {
		if err := a.Wait(ctx, w, timeout); err != nil {
			return err
		}
	}
	return nil
}

// Wait re-reads the objects w names until each reports condition w.Condition "True", or
// fails after timeout naming the objects still waited for and their last condition.
// A selector that matches nothing yet keeps waiting: the objects may not exist yet.
func (a *Applier) Wait(ctx context.Context, w addon.Wait, timeout time.Duration) error {
	ri := dynamic.NamespaceableResourceInterface(a.dynamic.Resource(w.Resource))
	var res dynamic.ResourceInterface = ri
	if w.Namespace != "" {
		res = ri.Namespace(w.Namespace)
	}
	var pending string
	err := wait.PollUntilContextTimeout(ctx, a.Poll, timeout, true, func(ctx context.Context) (bool, error) {
		var objs []unstructured.Unstructured
		if w.Name != "" {
			o, err := res.Get(ctx, w.Name, metav1.GetOptions{})
			if err != nil {
				pending = err.Error()
				return false, nil
			}
			objs = []unstructured.Unstructured{*o}
		} else {
			l, err := res.List(ctx, metav1.ListOptions{LabelSelector: w.Selector})
			if err != nil {
				pending = err.Error()
				return false, nil
			}
			objs = l.Items
		}
		if len(objs) == 0 {
			pending = "no object matches yet"
			return false, nil
		}
		var notYet []string
		for i := range objs {
			if status, reason := observedCondition(&objs[i], w.Condition); status != "True" {
				notYet = append(notYet, fmt.Sprintf("%s %s=%s %s", objs[i].GetName(), w.Condition, status, reason))
			}
		}
		pending = strings.Join(notYet, "; ")
		return len(notYet) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("wait for %s: %w (%s)", w, err, pending)
	}
	return nil
}

// condition returns the status and reason of .status.conditions[type=t], or "Unknown".
func condition(u *unstructured.Unstructured, t string) (status, reason string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != t {
			continue
		}
		s, _ := m["status"].(string)
		r, _ := m["reason"].(string)
		return s, r
	}
	return "Unknown", "(no such condition reported)"
}
