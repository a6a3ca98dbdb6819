package migrate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/grpclab/grpclab/manifests"
)

// The helpers the tests share: the objects Ingresses are converted beside, a decoder for a
// row's YAML, and a one-line-per-fact summary of the output that rows compare exactly.

// base is the project's base variant: the Services foo-svc, bar-svc, bar-svc-canary
// (50051, port name grpc) and go-grpc-greeter-server (80) in default, with their Deployments.
var base = sync.OnceValues(func() ([]manifests.Object, error) { return manifests.Load([]string{"base"}) })

// decode reads a row's documents without manifests.Load's validation, so a row may hold an
// Ingress whose backend does not resolve. Sources are "test.yaml#N".
func decode(t *testing.T, data string) []manifests.Object {
	t.Helper()
	codec := serializer.NewCodecFactory(manifests.Scheme).UniversalDeserializer()
	r := k8syaml.NewYAMLReader(bufio.NewReader(strings.NewReader(data)))
	var out []manifests.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("split YAML: %v", err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := codec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("decode document %d: %v\n%s", len(out)+1, err, doc)
		}
		cobj := obj.(client.Object)
		if cobj.GetNamespace() == "" {
			cobj.SetNamespace("default")
		}
		out = append(out, manifests.Object{Source: fmt.Sprintf("test.yaml#%d", len(out)+1), Object: cobj})
	}
}

// inputs are base plus the row's objects.
func inputs(t *testing.T, data string) []manifests.Object {
	t.Helper()
	objs, err := base()
	if err != nil {
		t.Fatalf("load base: %v", err)
	}
	return append(slices.Clone(objs), decode(t, data)...)
}

// withoutIngresses is what the output replaces the Ingresses beside.
func withoutIngresses(objs []manifests.Object) []manifests.Object {
	return slices.DeleteFunc(slices.Clone(objs), func(o manifests.Object) bool {
		_, ok := o.Object.(*networkingv1.Ingress)
		return ok
	})
}

// summary renders the output one fact per line, every field the conversion sets, so that a
// row's expectation is exact and reads like the YAML it stands for.
func summary(objs []manifests.Object) []string {
	var out []string
	for _, o := range objs {
		head := fmt.Sprintf("%s %s (%s)", o.Object.GetObjectKind().GroupVersionKind().GroupVersion(), describe(o.Object), o.Source)
		switch v := o.Object.(type) {
		case *gatewayv1.Gateway:
			out = append(out, fmt.Sprintf("%s class=%s", head, v.Spec.GatewayClassName))
			for _, l := range v.Spec.Listeners {
				out = append(out, "  listener "+listener(l))
			}
		case *gatewayv1.GRPCRoute:
			out = append(out, fmt.Sprintf("%s hosts=%v parents=%s", head, v.Spec.Hostnames, parents(v.Spec.ParentRefs)))
			for _, r := range v.Spec.Rules {
				out = append(out, "  rule "+grpcRule(r))
			}
		case *gatewayv1.HTTPRoute:
			out = append(out, fmt.Sprintf("%s hosts=%v parents=%s", head, v.Spec.Hostnames, parents(v.Spec.ParentRefs)))
			for _, r := range v.Spec.Rules {
				out = append(out, "  rule "+httpRule(r))
			}
		case *gatewayv1beta1.ReferenceGrant:
			var from, to []string
			for _, f := range v.Spec.From {
				from = append(from, fmt.Sprintf("%s/%s in %s", f.Group, f.Kind, f.Namespace))
			}
			for _, t := range v.Spec.To {
				to = append(to, fmt.Sprintf("%q/%s %s", t.Group, t.Kind, str(t.Name)))
			}
			out = append(out, fmt.Sprintf("%s from=%s to=%s", head, from, to))
		default:
			out = append(out, fmt.Sprintf("%s unexpected %T", head, v))
		}
	}
	return out
}

func listener(l gatewayv1.Listener) string {
	s := fmt.Sprintf("%s %s:%d", l.Name, l.Protocol, l.Port)
	if l.Hostname != nil {
		s += " host=" + string(*l.Hostname)
	}
	if l.TLS != nil {
		s += " tls=" + str(l.TLS.Mode)
		for _, c := range l.TLS.CertificateRefs {
			s += fmt.Sprintf(" cert=%s/%s:%s", quoted(c.Group), str(c.Kind), nsName(c.Namespace, c.Name))
		}
	}
	if a := l.AllowedRoutes; a != nil {
		s += " allowedRoutes="
		if a.Namespaces != nil {
			s += str(a.Namespaces.From)
			if a.Namespaces.Selector != nil {
				s += fmt.Sprintf("(%v)", a.Namespaces.Selector)
			}
		}
		if len(a.Kinds) > 0 {
			s += fmt.Sprintf(" kinds=%v", a.Kinds)
		}
	}
	return s
}

func parents(refs []gatewayv1.ParentReference) string {
	var s []string
	for _, r := range refs {
		p := nsName(r.Namespace, r.Name) + "#" + str(r.SectionName)
		if r.Group != nil || r.Kind != nil || r.Port != nil {
			p += fmt.Sprintf(" group=%s kind=%s port=%s", str(r.Group), str(r.Kind), str(r.Port))
		}
		s = append(s, p)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// grpcRule: "[Exact com.example.User/Login & header Exact:env=canary | …] → bar-svc:50051@90, …".
func grpcRule(r gatewayv1.GRPCRouteRule) string {
	var matches []string
	for _, m := range r.Matches {
		var parts []string
		if m.Method != nil {
			parts = append(parts, fmt.Sprintf("%s %s/%s", str(m.Method.Type), str(m.Method.Service), str(m.Method.Method)))
		}
		for _, h := range m.Headers {
			parts = append(parts, fmt.Sprintf("header %s:%s=%s", str(h.Type), h.Name, h.Value))
		}
		matches = append(matches, strings.Join(parts, " & "))
	}
	if len(matches) == 0 {
		matches = []string{"*"}
	}
	var refs []string
	for _, b := range r.BackendRefs {
		ref := nsName(b.Namespace, b.Name) + ":" + str(b.Port)
		if b.Weight != nil {
			ref += fmt.Sprintf("@%d", *b.Weight)
		}
		if b.Group != nil || b.Kind != nil || len(b.Filters) > 0 {
			ref += fmt.Sprintf(" group=%s kind=%s filters=%v", str(b.Group), str(b.Kind), b.Filters)
		}
		refs = append(refs, ref)
	}
	s := "[" + strings.Join(matches, " | ") + "] → " + strings.Join(refs, ", ")
	if r.Name != nil || len(r.Filters) > 0 || r.SessionPersistence != nil {
		s += fmt.Sprintf(" name=%s filters=%v session=%v", str(r.Name), r.Filters, r.SessionPersistence)
	}
	return s
}

func httpRule(r gatewayv1.HTTPRouteRule) string {
	var s []string
	if len(r.Matches) > 0 {
		s = append(s, fmt.Sprintf("matches=%v", r.Matches))
	}
	for _, f := range r.Filters {
		if f.Type == gatewayv1.HTTPRouteFilterRequestRedirect && f.RequestRedirect != nil {
			rr := f.RequestRedirect
			s = append(s, fmt.Sprintf("redirect scheme=%s status=%s hostname=%s path=%v port=%s", str(rr.Scheme), str(rr.StatusCode), str(rr.Hostname), rr.Path, str(rr.Port)))
			continue
		}
		s = append(s, fmt.Sprintf("filter %s", f.Type))
	}
	if len(r.BackendRefs) > 0 {
		s = append(s, fmt.Sprintf("backendRefs=%v", r.BackendRefs))
	}
	return strings.Join(s, " ")
}

func nsName[N ~string, M ~string](ns *N, name M) string {
	if ns == nil {
		return string(name)
	}
	return string(*ns) + "/" + string(name)
}

func str[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func quoted[T ~string](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", string(*p))
}

// warning is what a row expects of one Warning: where it points exactly, and a part of its message.
type warning struct {
	source, object, key, contains string
}

func checkWarnings(t *testing.T, got []Warning, want []warning) {
	t.Helper()
	var g, w []string
	for _, x := range got {
		g = append(g, x.Source+": "+x.Object+": "+x.Key)
	}
	for _, x := range want {
		w = append(w, x.source+": "+x.object+": "+x.key)
	}
	if !slices.Equal(g, w) {
		t.Errorf("warnings point at\n  %s\nwant\n  %s\nall:\n%s", strings.Join(g, "\n  "), strings.Join(w, "\n  "), warningLines(got))
		return
	}
	for i, x := range want {
		if !strings.Contains(got[i].Message, x.contains) {
			t.Errorf("warning %s: message %q lacks %q", g[i], got[i].Message, x.contains)
		}
	}
}

func warningLines(ws []Warning) string {
	var s []string
	for _, w := range ws {
		s = append(s, "  "+w.String())
	}
	return strings.Join(s, "\n")
}

func checkSummary(t *testing.T, objs []manifests.Object, want []string) {
	t.Helper()
	if got := summary(objs); !slices.Equal(got, want) {
		t.Errorf("objects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
