package kind

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/grpclab/grpclab/cluster/kind/addon"
)

// podSpecPaths are where a workload's pod spec lives, by kind.
var podSpecPaths = map[string][]string{
	"Deployment":  {"spec", "template", "spec"},
	"DaemonSet":   {"spec", "template", "spec"},
	"StatefulSet": {"spec", "template", "spec"},
	"Job":         {"spec", "template", "spec"},
	"Pod":         {"spec"},
}

// RewriteImages points every container (and init container) that runs an image's Upstream
// reference at its Built copy and sets imagePullPolicy Never, so the hermetic cluster runs
// what was loaded into its nodes and never tries a registry. A workload whose container
// runs an image the addon does not list is an error: it would wait forever for a pull.
func RewriteImages(items []Item, imgs []addon.Image) error {
	built := map[string]string{}
	for _, im := range imgs {
		built[im.Upstream] = im.Built
	}
	for _, it := range items {
		path, ok := podSpecPaths[it.Object.GetKind()]
		if !ok {
			continue
		}
		spec, found, err := unstructured.NestedMap(it.Object.Object, path...)
		if err != nil || !found {
			continue
		}
		for _, field := range []string{"initContainers", "containers"} {
			list, _, _ := unstructured.NestedSlice(spec, field)
			for i, c := range list {
				cm, ok := c.(map[string]any)
				if !ok {
					continue
				}
				image, _ := cm["image"].(string)
				to, ok := built[image]
				if !ok || to == "" {
					return fmt.Errorf("%s: %s %s runs %s, which has no locally built copy", it.Source, it.Object.GetKind(), it.Object.GetName(), image)
				}
				cm["image"] = to
				cm["imagePullPolicy"] = "Never"
				list[i] = cm
			}
			if list != nil {
				if err := unstructured.SetNestedSlice(spec, list, field); err != nil {
					return err
				}
			}
		}
		if err := unstructured.SetNestedMap(it.Object.Object, spec, path...); err != nil {
			return err
		}
	}
	return nil
}
