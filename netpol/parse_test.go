package netpol

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// parsePolicies decodes every NetworkPolicy document of a test's YAML and validates it; name
// is the file name used in errors. Documents of other kinds are an error. (The suites load
// policies through the manifests package, which validates them on its own.)
func parsePolicies(name string, data []byte) ([]*networkingv1.NetworkPolicy, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*networkingv1.NetworkPolicy
	for i := 0; ; i++ {
		np := &networkingv1.NetworkPolicy{}
		err := dec.Decode(np)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if np.Kind == "" && np.Name == "" {
			continue // an empty document between separators
		}
		if np.Kind != "NetworkPolicy" || np.APIVersion != networkingv1.SchemeGroupVersion.String() {
			return nil, fmt.Errorf("%s: document %d: kind %q apiVersion %q is not a networking.k8s.io/v1 NetworkPolicy", name, i, np.Kind, np.APIVersion)
		}
		if err := Validate(np); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, np)
	}
	return out, nil
}
