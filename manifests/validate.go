package manifests

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/grpclab/grpclab/gatewayapi"
)

// Validate checks the objects offline, the way the cluster and the controllers would:
// Gateway API objects against their CRD schemas and CEL rules, the core kinds the platforms
// read against the rules they rely on, and every reference between objects. The Gateway API
// references (parents, listeners, hostnames, backends, ReferenceGrants, namespace selectors) are
// the gatewayapi model's issues, with the spec's reasons, so the local renderer, which serves the
// same model, cannot disagree. Each error names the object's Source, kind, namespace/name and
// field path; all errors are joined.
func Validate(objs []Object) error {
	var errs []error
	report := func(o Object, fes field.ErrorList) {
		for _, fe := range fes {
			errs = append(errs, fmt.Errorf("%s: %s: %s", o.Source, describe(o.Object), fe.Error()))
		}
	}
	idx := newIndex(objs)
	for _, o := range objs {
		if o.Object == nil {
			errs = append(errs, fmt.Errorf("%s: no object", o.Source))
			continue
		}
		report(o, validateMeta(o.Object))
		fes, err := validateSchema(o.Object)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", o.Source, describe(o.Object), err))
		}
		report(o, fes)
		report(o, validateKind(o.Object))
		report(o, idx.validateRefs(o.Object))
	}
	return errors.Join(errs...)
}

// describe names an object in messages: "GRPCRoute default/foo-route".
func describe(o client.Object) string {
	kind := fmt.Sprintf("%T", o)
	if gvk, err := gvkOf(o); err == nil {
		kind = gvk.Kind
	}
	if o.GetNamespace() == "" {
		return kind + " " + o.GetName()
	}
	return kind + " " + o.GetNamespace() + "/" + o.GetName()
}

func validateMeta(o client.Object) field.ErrorList {
	var fes field.ErrorList
	p := field.NewPath("metadata")
	for _, msg := range validation.IsDNS1123Subdomain(o.GetName()) {
		fes = append(fes, field.Invalid(p.Child("name"), o.GetName(), msg))
	}
	if ns := o.GetNamespace(); ns != "" {
		for _, msg := range validation.IsDNS1123Label(ns) {
			fes = append(fes, field.Invalid(p.Child("namespace"), ns, msg))
		}
	}
	lbls := o.GetLabels()
	for _, k := range slices.Sorted(maps.Keys(lbls)) {
		v := lbls[k]
		for _, msg := range validation.IsQualifiedName(k) {
			fes = append(fes, field.Invalid(p.Child("labels").Key(k), k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			fes = append(fes, field.Invalid(p.Child("labels").Key(k), v, msg))
		}
	}
	return fes
}

// validateSchema checks Gateway API objects against the embedded CRD for their version. Numbers
// come out of the converter as int64, which is what the schema validator expects.
func validateSchema(o client.Object) (field.ErrorList, error) {
	gvk, err := gvkOf(o)
	if err != nil {
		return nil, err
	}
	if gvk.Group != gatewayv1.GroupName {
		return nil, nil
	}
	validators, err := crdValidators()
	if err != nil {
		return nil, fmt.Errorf("load Gateway API CRDs: %w", err)
	}
	v, ok := validators[gvk]
	if !ok {
		return nil, fmt.Errorf("field apiVersion: no standard-channel CRD serves %s", gvk)
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, fmt.Errorf("convert to unstructured: %w", err)
	}
	u["apiVersion"], u["kind"] = gvk.GroupVersion().String(), gvk.Kind
	// Status is written by controllers, not manifests; the typed zero value would not validate.
	delete(u, "status")
	if md, ok := u["metadata"].(map[string]any); ok && md["creationTimestamp"] == nil {
		delete(md, "creationTimestamp")
	}
	return v.validate(context.Background(), u), nil
}

// validateKind checks the core kinds the platforms read, where no schema is at hand offline.
func validateKind(o client.Object) field.ErrorList {
	switch o := o.(type) {
	case *corev1.Service:
		return validateService(o)
	case *appsv1.Deployment:
		return validateDeployment(o)
	case *networkingv1.NetworkPolicy:
		return validateNetworkPolicy(o)
	case *networkingv1.Ingress:
		return validateIngress(o)
	case *corev1.ConfigMap:
		return validateConfigMap(o)
	}
	return nil
}

func validateService(s *corev1.Service) field.ErrorList {
	var fes field.ErrorList
	p := field.NewPath("spec")
	if len(s.Spec.Selector) == 0 {
		fes = append(fes, field.Required(p.Child("selector"), "the platforms route only to Deployment pods a selector picks"))
	}
	if len(s.Spec.Ports) == 0 {
		fes = append(fes, field.Required(p.Child("ports"), ""))
	}
	names := map[string]bool{}
	for i, port := range s.Spec.Ports {
		pp := p.Child("ports").Index(i)
		if port.Port < 1 || port.Port > 65535 {
			fes = append(fes, field.Invalid(pp.Child("port"), port.Port, "must be between 1 and 65535"))
		}
		if len(s.Spec.Ports) > 1 && port.Name == "" {
			fes = append(fes, field.Required(pp.Child("name"), "every port must be named when there are several"))
		}
		if names[port.Name] {
			fes = append(fes, field.Duplicate(pp.Child("name"), port.Name))
		}
		names[port.Name] = true
		fes = append(fes, validateProtocol(pp.Child("protocol"), port.Protocol)...)
		fes = append(fes, validatePortRef(pp.Child("targetPort"), port.TargetPort, true)...)
	}
	return fes
}

func validateProtocol(p *field.Path, proto corev1.Protocol) field.ErrorList {
	switch proto {
	case "", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return nil
	}
	return field.ErrorList{field.NotSupported(p, proto, []string{"TCP", "UDP", "SCTP"})}
}

// validatePortRef checks a number-or-name port; zero means unset.
func validatePortRef(p *field.Path, port intstr.IntOrString, optional bool) field.ErrorList {
	if port.Type == intstr.String {
		if msgs := validation.IsValidPortName(port.StrVal); len(msgs) > 0 {
			return field.ErrorList{field.Invalid(p, port.StrVal, msgs[0])}
		}
		return nil
	}
	if port.IntVal == 0 && optional {
		return nil
	}
	if port.IntVal < 1 || port.IntVal > 65535 {
		return field.ErrorList{field.Invalid(p, port.IntVal, "must be between 1 and 65535")}
	}
	return nil
}

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	var fes field.ErrorList
	p := field.NewPath("spec")
	if d.Spec.Replicas != nil && *d.Spec.Replicas < 0 {
		fes = append(fes, field.Invalid(p.Child("replicas"), *d.Spec.Replicas, "must be non-negative"))
	}
	sel, err := selectorOf(p.Child("selector"), d.Spec.Selector)
	switch {
	case err != nil:
		fes = append(fes, err)
	case d.Spec.Selector == nil || sel.Empty():
		fes = append(fes, field.Required(p.Child("selector"), ""))
	case !sel.Matches(labels.Set(d.Spec.Template.Labels)):
		fes = append(fes, field.Invalid(p.Child("template", "metadata", "labels"), d.Spec.Template.Labels,
			"`selector` does not match template `labels`"))
	}
	cp := p.Child("template", "spec", "containers")
	if len(d.Spec.Template.Spec.Containers) == 0 {
		fes = append(fes, field.Required(cp, ""))
	}
	for i, c := range d.Spec.Template.Spec.Containers {
		if c.Image == "" {
			fes = append(fes, field.Required(cp.Index(i).Child("image"), ""))
		}
		for j, port := range c.Ports {
			pp := cp.Index(i).Child("ports").Index(j)
			if port.ContainerPort < 1 || port.ContainerPort > 65535 {
				fes = append(fes, field.Invalid(pp.Child("containerPort"), port.ContainerPort, "must be between 1 and 65535"))
			}
			if port.Name != "" {
				for _, msg := range validation.IsValidPortName(port.Name) {
					fes = append(fes, field.Invalid(pp.Child("name"), port.Name, msg))
				}
			}
			fes = append(fes, validateProtocol(pp.Child("protocol"), port.Protocol)...)
		}
	}
	return fes
}

func selectorOf(p *field.Path, s *metav1.LabelSelector) (labels.Selector, *field.Error) {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return nil, field.Invalid(p, s, err.Error())
	}
	return sel, nil
}

func validateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	var fes field.ErrorList
	p := field.NewPath("spec")
	if _, err := selectorOf(p.Child("podSelector"), &np.Spec.PodSelector); err != nil {
		fes = append(fes, err)
	}
	for i, t := range np.Spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			fes = append(fes, field.NotSupported(p.Child("policyTypes").Index(i), t, []string{"Ingress", "Egress"}))
		}
	}
	peers := func(pp *field.Path, list []networkingv1.NetworkPolicyPeer) {
		for i, peer := range list {
			ip := pp.Index(i)
			if peer.PodSelector != nil {
				if _, err := selectorOf(ip.Child("podSelector"), peer.PodSelector); err != nil {
					fes = append(fes, err)
				}
			}
			if peer.NamespaceSelector != nil {
				if _, err := selectorOf(ip.Child("namespaceSelector"), peer.NamespaceSelector); err != nil {
					fes = append(fes, err)
				}
			}
			if peer.IPBlock != nil {
				if peer.PodSelector != nil || peer.NamespaceSelector != nil {
					fes = append(fes, field.Forbidden(ip, "ipBlock cannot be combined with a selector in one peer"))
				}
				fes = append(fes, validateIPBlock(ip.Child("ipBlock"), peer.IPBlock)...)
			}
		}
	}
	ports := func(pp *field.Path, list []networkingv1.NetworkPolicyPort) {
		for i, port := range list {
			if port.Protocol != nil {
				fes = append(fes, validateProtocol(pp.Index(i).Child("protocol"), *port.Protocol)...)
			}
			if port.Port != nil {
				fes = append(fes, validatePortRef(pp.Index(i).Child("port"), *port.Port, false)...)
			}
		}
	}
	for i, r := range np.Spec.Ingress {
		peers(p.Child("ingress").Index(i).Child("from"), r.From)
		ports(p.Child("ingress").Index(i).Child("ports"), r.Ports)
	}
	for i, r := range np.Spec.Egress {
		peers(p.Child("egress").Index(i).Child("to"), r.To)
		ports(p.Child("egress").Index(i).Child("ports"), r.Ports)
	}
	return fes
}

// validateIPBlock catches the article's "172.1s.0.0/16" erratum: a CIDR must parse, and every
// exception must lie inside it.
func validateIPBlock(p *field.Path, b *networkingv1.IPBlock) field.ErrorList {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return field.ErrorList{field.Invalid(p.Child("cidr"), b.CIDR, "must be a valid CIDR such as 172.17.0.0/16")}
	}
	var fes field.ErrorList
	for i, e := range b.Except {
		ex, err := netip.ParsePrefix(e)
		switch {
		case err != nil:
			fes = append(fes, field.Invalid(p.Child("except").Index(i), e, "must be a valid CIDR such as 172.17.1.0/24"))
		case !cidr.Contains(ex.Addr()) || ex.Bits() <= cidr.Bits():
			fes = append(fes, field.Invalid(p.Child("except").Index(i), e, "must be a strict subset of "+b.CIDR))
		}
	}
	return fes
}

func validateIngress(ing *networkingv1.Ingress) field.ErrorList {
	var fes field.ErrorList
	p := field.NewPath("spec")
	for i, r := range ing.Spec.Rules {
		rp := p.Child("rules").Index(i)
		if r.HTTP == nil {
			fes = append(fes, field.Required(rp.Child("http"), ""))
			continue
		}
		for j, path := range r.HTTP.Paths {
			pp := rp.Child("http", "paths").Index(j)
			if path.PathType == nil {
				fes = append(fes, field.Required(pp.Child("pathType"), ""))
			} else if !slices.Contains([]networkingv1.PathType{networkingv1.PathTypeExact, networkingv1.PathTypePrefix,
				networkingv1.PathTypeImplementationSpecific}, *path.PathType) {
				fes = append(fes, field.NotSupported(pp.Child("pathType"), *path.PathType, []string{"Exact", "Prefix", "ImplementationSpecific"}))
			}
		}
	}
	for i, t := range ing.Spec.TLS {
		tp := p.Child("tls").Index(i)
		if t.SecretName == "" {
			fes = append(fes, field.Required(tp.Child("secretName"), "the harness signs a certificate into this Secret"))
		}
		if len(t.Hosts) == 0 {
			fes = append(fes, field.Required(tp.Child("hosts"), "the harness's certificate is issued for these hosts"))
		}
	}
	return fes
}

// index holds what the reference checks look up. The Gateway API references (parents,
// listeners, backends, grants, certificates) are the model's: its issues, by object.
type index struct {
	services    map[string]*corev1.Service
	deployments []*appsv1.Deployment
	tlsSecrets  map[string]bool
	model       *gatewayapi.Model
	issues      map[client.Object][]gatewayapi.Issue
}

func nsName(ns, name string) string { return ns + "/" + name }

func newIndex(objs []Object) *index {
	idx := &index{
		services:   map[string]*corev1.Service{},
		tlsSecrets: map[string]bool{},
		model:      Model(objs),
		issues:     map[client.Object][]gatewayapi.Issue{},
	}
	for _, o := range objs {
		switch v := o.Object.(type) {
		case *corev1.Service:
			idx.services[nsName(v.Namespace, v.Name)] = v
		case *appsv1.Deployment:
			idx.deployments = append(idx.deployments, v)
		}
	}
	for _, is := range idx.model.Issues {
		idx.issues[is.Object] = append(idx.issues[is.Object], is)
	}
	for _, s := range tlsSecrets(objs, idx.model) {
		idx.tlsSecrets[nsName(s.Namespace, s.Name)] = true
	}
	return idx
}

// Model resolves the loaded Gateway API objects into the one model (package gatewayapi)
// that validation, the local renderer and the suites read.
func Model(objs []Object) *gatewayapi.Model {
	cos := make([]client.Object, 0, len(objs))
	for _, o := range objs {
		if o.Object != nil {
			cos = append(cos, o.Object)
		}
	}
	return gatewayapi.Build(gatewayapi.Collect(cos))
}

func (idx *index) validateRefs(o client.Object) field.ErrorList {
	switch o := o.(type) {
	case *gatewayv1.GRPCRoute, *gatewayv1.HTTPRoute:
		return idx.modelIssues(o)
	case *gatewayv1.Gateway:
		return append(idx.modelIssues(o), idx.checkCertificateHosts(o)...)
	case *networkingv1.Ingress:
		return idx.checkIngress(o)
	case *corev1.Service:
		return idx.checkSelector(o)
	case *corev1.Secret:
		if idx.tlsSecrets[nsName(o.Namespace, o.Name)] {
			return field.ErrorList{field.Forbidden(field.NewPath("metadata", "name"),
				"this Secret is a TLS certificate the harness generates from its own CA; remove it from the manifests")}
		}
	}
	return nil
}

// issueTypes words the model's reasons as field errors.
var issueTypes = map[string]field.ErrorType{
	string(gatewayv1.RouteReasonBackendNotFound):          field.ErrorTypeNotFound,
	string(gatewayv1.RouteReasonNoMatchingParent):         field.ErrorTypeNotFound,
	string(gatewayv1.RouteReasonRefNotPermitted):          field.ErrorTypeForbidden,
	string(gatewayv1.RouteReasonNotAllowedByListeners):    field.ErrorTypeForbidden,
	string(gatewayv1.RouteReasonInvalidKind):              field.ErrorTypeNotSupported,
	string(gatewayv1.ListenerReasonInvalidCertificateRef): field.ErrorTypeNotSupported,
	string(gatewayv1.ListenerReasonInvalidRouteKinds):     field.ErrorTypeNotSupported,
}

// modelIssues reports the model's issues of one object, each with its field and the spec's
// reason.
func (idx *index) modelIssues(o client.Object) field.ErrorList {
	var fes field.ErrorList
	for _, is := range idx.issues[o] {
		t, ok := issueTypes[is.Reason]
		if !ok {
			t = field.ErrorTypeInvalid
		}
		fes = append(fes, &field.Error{Type: t, Field: is.Field, BadValue: field.OmitValueType{},
			Detail: fmt.Sprintf("%s (%s)", is.Message, is.Reason)})
	}
	return fes
}

func servicePorts(svc *corev1.Service) string {
	var s []string
	for _, p := range svc.Spec.Ports {
		s = append(s, strconv.Itoa(int(p.Port)))
	}
	if len(s) == 0 {
		return "none"
	}
	return fmt.Sprint(s)
}

// checkCertificateHosts requires a host for every certificate the harness must issue.
func (idx *index) checkCertificateHosts(gw *gatewayv1.Gateway) field.ErrorList {
	var fes field.ErrorList
	for _, l := range idx.model.Listeners {
		if l.Gateway != gw {
			continue
		}
		for _, c := range l.Certificates {
			if c.Resolved && !idx.tlsSecrets[nsName(c.Namespace, c.Name)] {
				fes = append(fes, &field.Error{Type: field.ErrorTypeInvalid, Field: c.Field + ".name", BadValue: c.Name,
					Detail: fmt.Sprintf("no host to issue the certificate for: listener %q has no hostname and no attached route names one", l.Spec.Name)})
			}
		}
	}
	return fes
}

func (idx *index) checkIngress(ing *networkingv1.Ingress) field.ErrorList {
	var fes field.ErrorList
	p := field.NewPath("spec")
	check := func(bp *field.Path, b networkingv1.IngressBackend) {
		if b.Resource != nil {
			fes = append(fes, field.NotSupported(bp.Child("resource"), b.Resource.Kind, []string{"service backends only"}))
			return
		}
		if b.Service == nil {
			fes = append(fes, field.Required(bp.Child("service"), ""))
			return
		}
		sp := bp.Child("service")
		svc, ok := idx.services[nsName(ing.Namespace, b.Service.Name)]
		if !ok {
			fes = append(fes, field.NotFound(sp.Child("name"), fmt.Sprintf("Service %s/%s", ing.Namespace, b.Service.Name)))
			return
		}
		port := b.Service.Port
		switch {
		case port.Name != "" && port.Number != 0:
			fes = append(fes, field.Invalid(sp.Child("port"), port, "set name or number, not both"))
		case port.Name != "":
			if !slices.ContainsFunc(svc.Spec.Ports, func(s corev1.ServicePort) bool { return s.Name == port.Name }) {
				fes = append(fes, field.NotFound(sp.Child("port", "name"), fmt.Sprintf("port %q on Service %s/%s", port.Name, ing.Namespace, svc.Name)))
			}
		case port.Number != 0:
			if !slices.ContainsFunc(svc.Spec.Ports, func(s corev1.ServicePort) bool { return s.Port == port.Number }) {
				fes = append(fes, field.NotFound(sp.Child("port", "number"), fmt.Sprintf("port %d on Service %s/%s (has %s)", port.Number, ing.Namespace, svc.Name, servicePorts(svc))))
			}
		default:
			fes = append(fes, field.Required(sp.Child("port"), "name or number"))
		}
	}
	if ing.Spec.DefaultBackend != nil {
		check(p.Child("defaultBackend"), *ing.Spec.DefaultBackend)
	}
	for i, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for j, path := range r.HTTP.Paths {
			check(p.Child("rules").Index(i).Child("http", "paths").Index(j).Child("backend"), path.Backend)
		}
	}
	return fes
}

// checkSelector requires a Deployment in the Service's namespace whose pods the selector picks:
// both platforms route a Service only to Deployment pods.
func (idx *index) checkSelector(svc *corev1.Service) field.ErrorList {
	if len(svc.Spec.Selector) == 0 {
		return nil // reported by validateService
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	for _, d := range idx.deployments {
		if d.Namespace == svc.Namespace && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			return nil
		}
	}
	return field.ErrorList{field.NotFound(field.NewPath("spec", "selector"),
		fmt.Sprintf("a Deployment in namespace %q whose pod labels match %s", svc.Namespace, sel))}
}
