package manifests

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	runtimeschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// The Gateway API module ships its CRDs as YAML but no Go package embeds them, and `grpclab up -f DIR`
// must validate without a module cache, so hack/update-crds.sh copies them here (a test keeps the
// copies identical to the pinned module's).
//
//go:embed crds/*.yaml crds/VERSION
var crdFS embed.FS

// crdValidator checks one served version of a CRD the way the API server does on create:
// structural defaults, then the OpenAPI schema, list-type uniqueness and the CEL rules.
type crdValidator struct {
	structural *schema.Structural
	openapi    apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

var crdValidators = sync.OnceValues(loadCRDValidators)

// loadCRDValidators compiles every version of every embedded CRD once per process: compiling the
// CEL rules is the expensive part, so it is never repeated per object.
func loadCRDValidators() (map[runtimeschema.GroupVersionKind]*crdValidator, error) {
	files, err := fs.Glob(crdFS, "crds/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list embedded crds: %w", err)
	}
	out := map[runtimeschema.GroupVersionKind]*crdValidator{}
	for _, name := range files {
		data, err := crdFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		var probe struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(data, &probe); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		// The standard channel also holds a ValidatingAdmissionPolicy; only CRDs carry schemas.
		if probe.Kind != "CustomResourceDefinition" {
			continue
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			gvk := runtimeschema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
			val, err := newCRDValidator(v.Schema.OpenAPIV3Schema)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", path.Base(name), gvk.Version, err)
			}
			out[gvk] = val
		}
	}
	return out, nil
}

func newCRDValidator(v1props *apiextensionsv1.JSONSchemaProps) (*crdValidator, error) {
	var props apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1props, &props, nil); err != nil {
		return nil, fmt.Errorf("convert schema: %w", err)
	}
	structural, err := schema.NewStructural(&props)
	if err != nil {
		return nil, fmt.Errorf("structural schema: %w", err)
	}
	openapi, _, err := apiservervalidation.NewSchemaValidator(&props)
	if err != nil {
		return nil, fmt.Errorf("openapi schema: %w", err)
	}
	return &crdValidator{
		structural: structural,
		openapi:    openapi,
		cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
	}, nil
}

// validate checks u in place (defaults are applied to it, as the API server would before
// validating) and returns every violation with its field path.
func (v *crdValidator) validate(ctx context.Context, u map[string]any) field.ErrorList {
	defaulting.Default(u, v.structural)
	errs := apiservervalidation.ValidateCustomResource(nil, u, v.openapi)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, v.structural, u)...)
	if v.cel != nil {
		celErrs, _ := v.cel.Validate(ctx, nil, v.structural, u, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	return errs
}

// GatewayAPICRDs returns the embedded standard-channel Gateway API files (the CRDs and the
// safe-upgrades ValidatingAdmissionPolicy), keyed by file name, for installing on a cluster:
// the same YAML as the release's standard-install.yaml, without fetching it.
func GatewayAPICRDs() (map[string][]byte, error) {
	files, err := fs.Glob(crdFS, "crds/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list embedded crds: %w", err)
	}
	out := make(map[string][]byte, len(files))
	for _, name := range files {
		data, err := crdFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		out[name] = data
	}
	return out, nil
}
