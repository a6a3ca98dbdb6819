package migrate

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/grpclab/grpclab/manifests"
)

const ann = annotationPrefix

var update = flag.Bool("update", false, "rewrite the wanted sections of testdata/convert*/*.txtar from the current output")

// TestConvert converts each case in testdata/convert (see goldenCase) and validates the
// output beside the input.
func TestConvert(t *testing.T) {
	convertGolden(t, "testdata/convert", false)
}

// TestConvertErrors: each case in testdata/convert-errors is an error, with no objects and
// only the warnings its file names.
func TestConvertErrors(t *testing.T) {
	convertGolden(t, "testdata/convert-errors", true)
}

// A golden case is a file in the txtar layout: a line that says what the case shows, then
// sections, each behind a line "-- name --":
//
//   - input.yaml: the documents converted beside the base variant, sources test.yaml#N;
//   - options.yaml (may be left out): the Options by field name, e.g. "gatewayName: edge";
//   - objects: the converted objects as summary renders them;
//   - warnings: the warnings, one Warning.String() a line;
//   - error: Convert's error.
//
// A wanted section that is left out wants none: no objects, no warnings or no error.
type goldenCase struct {
	description string
	sections    map[string]string
}

var (
	givenSections  = []string{"input.yaml", "options.yaml"}
	wantedSections = []string{"objects", "warnings", "error"}
)

func readGolden(t *testing.T, file string) goldenCase {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c := goldenCase{sections: map[string]string{}}
	section := "" // the one being read; "" while reading the description
	for line := range strings.Lines(string(data)) {
		if name, ok := strings.CutPrefix(line, "-- "); ok && strings.HasSuffix(name, " --\n") {
			section = strings.TrimSuffix(name, " --\n")
			if _, dup := c.sections[section]; dup || !slices.Contains(append(givenSections, wantedSections...), section) {
				t.Fatalf("%s: section %q is unknown or repeated", file, section)
			}
			c.sections[section] = ""
			continue
		}
		if section == "" {
			c.description += line
		} else {
			c.sections[section] += line
		}
	}
	c.description = strings.TrimSpace(c.description)
	return c
}

// rewrite writes the case back to file with got as its wanted sections.
func (c goldenCase) rewrite(file string, got map[string]string) error {
	b := []byte(c.description + "\n")
	for _, name := range givenSections {
		if s, ok := c.sections[name]; ok {
			b = fmt.Appendf(b, "-- %s --\n%s", name, s)
		}
	}
	for _, name := range wantedSections {
		if got[name] != "" {
			b = fmt.Appendf(b, "-- %s --\n%s", name, got[name])
		}
	}
	return os.WriteFile(file, b, 0o644)
}

// convertGolden runs the cases in dir, which all fail to convert when wantErr is set and
// all convert otherwise. Under -update it rewrites their wanted sections instead.
func convertGolden(t *testing.T, dir string, wantErr bool) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in %s: %v", dir, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			c := readGolden(t, file)
			var opts Options
			if err := yaml.UnmarshalStrict([]byte(c.sections["options.yaml"]), &opts); err != nil {
				t.Fatalf("%s: options.yaml: %v", file, err)
			}
			in := inputs(t, c.sections["input.yaml"])
			res, err := Convert(in, opts)
			if (err != nil) != wantErr {
				t.Fatalf("%s (%s): Convert error %v; the cases in %s want one: %v", file, c.description, err, dir, wantErr)
			}
			var warnings []string
			for _, w := range res.Warnings {
				warnings = append(warnings, w.String())
			}
			got := map[string]string{"objects": lines(summary(res.Objects)), "warnings": lines(warnings)}
			if err != nil {
				got["error"] = lines([]string{err.Error()})
			}
			if *update {
				if err := c.rewrite(file, got); err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, name := range wantedSections {
				if got[name] != c.sections[name] {
					t.Errorf("%s (%s): %s\n%swant\n%s", file, c.description, name, got[name], c.sections[name])
				}
			}
			if err == nil {
				if err := manifests.Validate(append(withoutIngresses(in), res.Objects...)); err != nil {
					t.Errorf("%s: output does not validate: %v", file, err)
				}
			}
		})
	}
}

func lines(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.Join(s, "\n") + "\n"
}

// ingress is an Ingress for host a.example.com with these annotations (keys below
// nginx.ingress.kubernetes.io/) and paths, from prefixPath. It starts with "---", which
// decoding skips when it is the first.
func ingress(name string, annotations []string, paths ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %s\n  annotations:\n", name)
	for _, a := range annotations {
		fmt.Fprintf(&b, "    %s%s\n", ann, a)
	}
	b.WriteString("spec:\n  rules:\n    - host: a.example.com\n      http:\n        paths:\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "          - %s\n", p)
	}
	return b.String()
}

// prefixPath is a Prefix path p to port of service, in flow style.
func prefixPath(p, service string, port int) string {
	return fmt.Sprintf("{path: %s, pathType: Prefix, backend: {service: {name: %s, port: {number: %d}}}}", p, service, port)
}

// TestConvertUnsupportedAnnotations: each annotation that is not carried over is one warning
// pointing at the Ingress and the key, and changes nothing in the output.
func TestConvertUnsupportedAnnotations(t *testing.T) {
	const (
		gateway  = "gateway.networking.k8s.io/v1 Gateway default/migrated-gateway (test.yaml#1) class=grpclab"
		listener = "  listener http-a-example-com HTTP:80 host=a.example.com"
		route    = "gateway.networking.k8s.io/v1 GRPCRoute default/a (test.yaml#1) hosts=[a.example.com] parents=[migrated-gateway#http-a-example-com]"
	)
	plain := []string{gateway, listener, route, "  rule [*] → foo-svc:50051"}
	canary := []string{gateway, listener, route, "  rule [header Exact:env=canary] → bar-svc-canary:50051", "  rule [*] → bar-svc:50051"}
	tests := []struct {
		key, value string
		onCanary   bool
		contains   string
	}{
		{"canary-by-cookie", "canary", true, `"canary" not carried over: GRPCRoute matches headers, not cookies`},
		{"canary-by-header-pattern", "^(canary|beta)$", true, "RegularExpression header match is implementation-specific"},
		{"proxy-read-timeout", "3600", false, `"3600" not carried over: GRPCRoute has no timeouts field; the controller's own policy must set it`},
		{"proxy-send-timeout", "3600", false, `"3600" not carried over: GRPCRoute has no timeouts field`},
		{"proxy-connect-timeout", "5", false, `"5" not carried over: GRPCRoute has no timeouts field`},
		{"proxy-next-upstream-timeout", "10", false, `"10" not carried over: GRPCRoute has no timeouts field`},
		{"rewrite-target", "/$2", false, "not carried over"},
		{"made-up-annotation", "x", false, "not carried over"},
		{"canary-weight", "10", false, "the Ingress is not a canary"},
		{"proxy-read-timeout", "3600", true, "on a canary Ingress ingress-nginx applies the main Ingress's settings"},
	}
	for _, tc := range tests {
		name := tc.key
		if tc.onCanary {
			name += " on a canary"
		}
		t.Run(name, func(t *testing.T) {
			line := fmt.Sprintf("%s: %q", tc.key, tc.value)
			docs := ingress("a", []string{"backend-protocol: GRPC", line}, prefixPath("/", "foo-svc", 50051))
			want, w := plain, warning{"test.yaml#1", "Ingress default/a", ann + tc.key, tc.contains}
			if tc.onCanary {
				docs = ingress("a", []string{"backend-protocol: GRPC"}, prefixPath("/", "bar-svc", 50051)) +
					ingress("a-canary", []string{`canary: "true"`, "canary-by-header: env", "canary-by-header-value: canary", line}, prefixPath("/", "bar-svc-canary", 50051))
				want, w.source, w.object = canary, "test.yaml#2", "Ingress default/a-canary"
			}
			res, err := Convert(inputs(t, docs), Options{})
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			checkWarnings(t, res.Warnings, []warning{w})
			checkSummary(t, res.Objects, want)
			if len(res.Warnings) == 1 {
				if got, want := res.Warnings[0].String(), w.source+": "+w.object+": "+w.key+": "; !strings.HasPrefix(got, want) {
					t.Errorf("String() = %q, want it to start with %q", got, want)
				}
			}
		})
	}
}

// TestGRPCRouteHasNoTimeouts keeps the timeout warnings honest: when the pinned Gateway API
// gives GRPCRoute timeouts, the conversion should carry them over instead.
func TestGRPCRouteHasNoTimeouts(t *testing.T) {
	for file, want := range map[string]bool{"gateway.networking.k8s.io_grpcroutes.yaml": false, "gateway.networking.k8s.io_httproutes.yaml": true} {
		crd, err := os.ReadFile("../crds/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(crd), "\n                    timeouts:\n"); got != want {
			t.Errorf("%s has a rule timeouts field: %v, want %v", file, got, want)
		}
	}
}

// TestConvertFortuneIngress converts the project's own Ingress beside the production manifests.
func TestConvertFortuneIngress(t *testing.T) {
	objs, res := convertVariants(t, "base", "gateway-api", "ingress-nginx")
	src := "ingress-nginx/fortune-ingress.yaml#1"
	checkSummary(t, res.Objects, []string{
		"gateway.networking.k8s.io/v1 Gateway default/migrated-gateway (" + src + ") class=grpclab",
		`  listener https-grpctest-dev-mydomain-com HTTPS:443 host=grpctest.dev.mydomain.com tls=Terminate cert=""/Secret:wildcard.dev.mydomain.com`,
		"  listener http-grpctest-dev-mydomain-com HTTP:80 host=grpctest.dev.mydomain.com",
		"gateway.networking.k8s.io/v1 GRPCRoute default/fortune-ingress (" + src + ") hosts=[grpctest.dev.mydomain.com] parents=[migrated-gateway#https-grpctest-dev-mydomain-com]",
		"  rule [*] → go-grpc-greeter-server:80",
		"gateway.networking.k8s.io/v1 HTTPRoute default/fortune-ingress-redirect (" + src + ") hosts=[grpctest.dev.mydomain.com] parents=[migrated-gateway#http-grpctest-dev-mydomain-com]",
		"  rule redirect scheme=https status=301 hostname=nil path=<nil> port=nil",
	})
	checkWarnings(t, res.Warnings, nil)
	all := append(slices.Clone(objs), res.Objects...)
	if err := manifests.Validate(all); err != nil {
		t.Errorf("the manifests with the converted objects do not validate: %v", err)
	}
	// The harness issues the certificate for what the listener names, as it does for the Ingress.
	i := slices.IndexFunc(manifests.TLSSecrets(all), func(s manifests.TLSSecret) bool { return s.Name == "wildcard.dev.mydomain.com" })
	if i < 0 || !slices.Equal(manifests.TLSSecrets(all)[i].Hosts, []string{"grpctest.dev.mydomain.com"}) {
		t.Errorf("TLS secrets = %+v, want default/wildcard.dev.mydomain.com for grpctest.dev.mydomain.com", manifests.TLSSecrets(all))
	}

	t.Run("stream-timeouts", func(t *testing.T) {
		_, res := convertVariants(t, "base", "gateway-api", "ingress-nginx", "ingress-nginx/stream-timeouts")
		src := "ingress-nginx/stream-timeouts/fortune-ingress.yaml#1"
		checkWarnings(t, res.Warnings, []warning{
			{src, "Ingress default/fortune-ingress", ann + "proxy-read-timeout", `"3600" not carried over`},
			{src, "Ingress default/fortune-ingress", ann + "proxy-send-timeout", `"3600" not carried over`},
		})
	})
}

// convertVariants converts the project's manifests of these variants with the default
// options, and returns them with the result.
func convertVariants(t *testing.T, variants ...string) ([]manifests.Object, Result) {
	t.Helper()
	objs, err := manifests.Load(variants)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert(objs, Options{})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return objs, res
}

// TestConvertSplitsLargeRoutes keeps routes within the GRPCRoute limits: 64 matches a rule,
// 16 rules a route.
func TestConvertSplitsLargeRoutes(t *testing.T) {
	// many is the Ingress a with n service paths to Service many, on the ports port gives.
	many := func(n int, port func(i int) int) string {
		paths := make([]string, n)
		for i := range paths {
			paths[i] = prefixPath(fmt.Sprintf("/pkg.S%d/", i), "many", port(i))
		}
		return ingress("a", []string{"backend-protocol: GRPC"}, paths...)
	}
	service := `
---
apiVersion: v1
kind: Service
metadata: {name: many}
spec:
  selector: {app: foo}
  ports:
`
	for i := range 17 {
		service += fmt.Sprintf("    - {name: p%d, port: %d, targetPort: 50051}\n", i, 50000+i)
	}

	t.Run("17 backends: 16 rules and a second route", func(t *testing.T) {
		res, err := Convert(inputs(t, many(17, func(i int) int { return 50000 + i })+service), Options{})
		if err != nil {
			t.Fatalf("Convert: %v", err)
		}
		var got []string
		for _, r := range manifests.Of[*gatewayv1.GRPCRoute](res.Objects) {
			got = append(got, fmt.Sprintf("%s %d rules, last %s", r.Name, len(r.Spec.Rules), grpcRule(r.Spec.Rules[len(r.Spec.Rules)-1])))
		}
		want := []string{"a 16 rules, last [Exact pkg.S15/nil] → many:50015", "a-2 1 rules, last [Exact pkg.S16/nil] → many:50016"}
		if !slices.Equal(got, want) {
			t.Errorf("routes = %q, want %q", got, want)
		}
	})
	t.Run("70 services to one backend: rules of 64 matches", func(t *testing.T) {
		res, err := Convert(inputs(t, many(70, func(int) int { return 50000 })+service), Options{})
		if err != nil {
			t.Fatalf("Convert: %v", err)
		}
		var got []int
		for _, r := range manifests.Of[*gatewayv1.GRPCRoute](res.Objects) {
			for _, rule := range r.Spec.Rules {
				got = append(got, len(rule.Matches))
			}
		}
		if !slices.Equal(got, []int{64, 6}) {
			t.Errorf("matches per rule = %v, want [64 6] in one route", got)
		}
	})
}

func TestNames(t *testing.T) {
	for host, want := range map[string]string{
		"grpctest.dev.mydomain.com": "grpctest-dev-mydomain-com",
		"*.dev.mydomain.com":        "wildcard-dev-mydomain-com",
		"a--b.example.com":          "a-b-example-com",
		"":                          "any-host",
	} {
		if got := hostLabel(host); got != want {
			t.Errorf("hostLabel(%q) = %q, want %q", host, got, want)
		}
	}
	long := "https-" + hostLabel(strings.Repeat("abcdefghij.", 6)+"example.com")
	got := capName(long, maxLabel)
	if len(got) != maxLabel || !strings.HasPrefix(got, long[:50]) || got == capName(long+"x", maxLabel) {
		t.Errorf("capName(%q) = %q: want %d characters, the start kept and a hash of the whole", long, got, maxLabel)
	}
	b := &builder{names: map[string]bool{}}
	if a, c := b.unique("listener/", "http-a", maxLabel), b.unique("listener/", "http-a", maxLabel); a != "http-a" || c != "http-a-2" {
		t.Errorf("unique names = %q, %q, want http-a, http-a-2", a, c)
	}
}
