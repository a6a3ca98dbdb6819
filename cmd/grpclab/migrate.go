package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/grpclab/grpclab/manifests"
	"github.com/grpclab/grpclab/manifests/migrate"
)

// migrateIngresses converts the gRPC Ingresses of the -f directories into Gateway API objects
// and writes them as multi-document YAML; what does not carry over goes to stderr, a line each.
func migrateIngresses(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grpclab migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dirs listFlag
	fs.Var(&dirs, "f", "a manifest directory to read, recursively (repeatable); with the Services and Deployments the Ingresses reach")
	out := fs.String("o", "", "write the YAML to this file (default stdout)")
	gateway := fs.String("gateway", migrate.DefaultGatewayName, "the Gateway's name")
	namespace := fs.String("namespace", "", "the Gateway's namespace (default: the first converted Ingress's)")
	class := fs.String("gateway-class", migrate.DefaultGatewayClass, "the Gateway's gatewayClassName ("+migrate.DefaultGatewayClass+" is the placeholder grpclab up replaces)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: grpclab migrate -f DIR [-f DIR]... [-o FILE] [--gateway NAME] [--namespace NS] [--gateway-class CLASS]\n\n"+
			"converts the ingress-nginx Ingresses with backend-protocol GRPC or GRPCS into one Gateway,\n"+
			"GRPCRoutes, redirect HTTPRoutes and ReferenceGrants; prints what is not carried over to stderr")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("migrate: unexpected argument %q (directories go after -f)", fs.Arg(0))}
	}
	if len(dirs) == 0 {
		return usageError{errors.New("migrate: want at least one -f DIR")}
	}
	objs, err := manifests.Load(nil, dirs...)
	if err != nil {
		return usageError{fmt.Errorf("migrate: %w", err)}
	}
	res, err := migrate.Convert(objs, migrate.Options{GatewayName: *gateway, GatewayNamespace: *namespace, GatewayClass: *class})
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "warning: "+w.String())
	}
	if err != nil {
		return usageError{fmt.Errorf("migrate: %w", err)}
	}
	doc, err := renderYAML(res.Objects, objs)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if *out == "" {
		_, err := stdout.Write(doc)
		return err
	}
	if err := writeFileAtomic(*out, doc); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %d objects to %s (%d warnings)\n", len(res.Objects), *out, len(res.Warnings))
	return nil
}

// renderYAML writes the objects as documents separated by ---, each after a comment naming the
// Ingresses it came from, without the status and server-owned metadata a typed object carries.
func renderYAML(objs, loaded []manifests.Object) ([]byte, error) {
	ingresses := map[string]string{} // Source → "Ingress ns/name (Source)"
	for _, o := range loaded {
		if ing, ok := o.Object.(*networkingv1.Ingress); ok {
			ingresses[o.Source] = fmt.Sprintf("Ingress %s/%s (%s)", ing.Namespace, ing.Name, o.Source)
		}
	}
	var buf bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		var from []string
		for _, s := range strings.Split(o.Source, ", ") {
			from = append(from, cmp.Or(ingresses[s], s))
		}
		fmt.Fprintf(&buf, "# %s %s/%s, from %s\n", o.Object.GetObjectKind().GroupVersionKind().Kind,
			o.Object.GetNamespace(), o.Object.GetName(), strings.Join(from, ", "))
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Source, err)
		}
		delete(u, "status")
		if md, ok := u["metadata"].(map[string]any); ok {
			delete(md, "creationTimestamp")
		}
		b, err := yaml.Marshal(u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Source, err)
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// writeFileAtomic writes a temporary file beside path and renames it, so a failure leaves
// path as it was.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Chmod(0o644), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
