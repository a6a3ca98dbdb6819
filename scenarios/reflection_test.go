package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fullstorydev/grpcurl"
	"github.com/jhump/protoreflect/grpcreflect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	"github.com/grpclab/grpclab/scenarios/call"
)

// reflectionAPI picks which reflection protocol a grpcurl client speaks.
type reflectionAPI int

const (
	autoAPI    reflectionAPI = iota // v1, falling back to v1alpha, as grpcurl does
	v1Only                          // grpc.reflection.v1.ServerReflection
	v1alphaAPI                      // grpc.reflection.v1alpha.ServerReflection
)

func reflectionClient(ctx context.Context, conn *grpc.ClientConn, api reflectionAPI) *grpcreflect.Client {
	switch api {
	case v1Only:
		return grpcreflect.NewClientV1(ctx, reflectionv1.NewServerReflectionClient(conn))
	case v1alphaAPI:
		return grpcreflect.NewClientV1Alpha(ctx, reflectionv1alpha.NewServerReflectionClient(conn))
	}
	return grpcreflect.NewClientAuto(ctx, conn)
}

// listServices is `grpcurl list` as a library.
func listServices(ctx context.Context, conn *grpc.ClientConn, api reflectionAPI) ([]string, error) {
	if api == v1Only {
		// protoreflect v1.19.0's v1-only client dereferences its absent v1alpha stub when the
		// server answers v1 with Unimplemented (grpcreflect/client.go initStreamLocked), as a
		// gateway does until it serves the route: ask v1 once by hand first.
		if err := v1Answers(ctx, conn); err != nil {
			return nil, err
		}
	}
	rc := reflectionClient(ctx, conn, api)
	defer rc.Reset()
	return grpcurl.ListServices(grpcurl.DescriptorSourceFromServer(ctx, rc))
}

// wantServices checks that reflection lists the project's services.
func wantServices(services []string, err error) error {
	return wantAll("list services", services, err, "com.example.User", "helloworld.Greeter", "grpc.health.v1.Health")
}

// wantAll checks that an answer of reflection, named by what, holds every one of wants.
func wantAll(what string, got []string, err error, wants ...string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, w := range wants {
		if !slices.Contains(got, w) {
			return fmt.Errorf("%s: %v lacks %s", what, got, w)
		}
	}
	return nil
}

// describe is `grpcurl describe symbol` as a library: the text grpcurl prints.
func describe(ctx context.Context, conn *grpc.ClientConn, symbol string) (string, error) {
	rc := reflectionClient(ctx, conn, autoAPI)
	defer rc.Reset()
	d, err := grpcurl.DescriptorSourceFromServer(ctx, rc).FindSymbol(symbol)
	if err != nil {
		return "", err
	}
	return grpcurl.GetDescriptorText(d, nil)
}

// rpcs lists the methods that the described text of a service declares.
func rpcs(text string) []string {
	var names []string
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "rpc "); ok {
			name, _, _ := strings.Cut(rest, " ")
			names = append(names, strings.TrimSuffix(name, "("))
		}
	}
	return names
}

// TestReflectionProduction: the production routes have no reflection rule, so reflection
// through the gateway is refused (Unimplemented, by the gateway) while the pods themselves
// still serve it: the leak the article warns about is closed at the edge only.
func TestReflectionProduction(t *testing.T) {
	s := newScenario("reflection/production", "reflection")
	s.add("reflection through the gateway is Unimplemented", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		conn := lab.dial(t, lab.target(gateway, fooHost))
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			services, err := listServices(ctx, conn, autoAPI)
			if err == nil {
				return fmt.Errorf("reflection answered through the gateway: %v", services)
			}
			if c := status.Code(err); c != codes.Unimplemented && !strings.Contains(err.Error(), "does not support the reflection API") {
				return fmt.Errorf("reflection refused with %v, want Unimplemented", err)
			}
			return nil
		})
	})
	s.add("reflection direct to a foo-svc pod lists the services", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		pods, err := lab.platform.Backends(ctx, "default", "foo-svc", 50051)
		if err != nil {
			t.Fatal(err)
		}
		conn := lab.dial(t, call.Target{Address: pods[0], Plaintext: true})
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			return wantServices(listServices(ctx, conn, autoAPI))
		})
	})
	testenv.Test(t, s.feature().Feature())
}

// TestReflectionDevelopment applies the development variant of foo-route, which routes both
// reflection services: grpcurl lists, describes and invokes through the gateway.
func TestReflectionDevelopment(t *testing.T) {
	s := newScenario("reflection/development", "reflection")
	for _, c := range []struct {
		name string
		api  reflectionAPI
	}{
		{"grpcurl list through the gateway (v1)", v1Only},
		{"grpcurl list through the gateway (v1alpha, grpcurl's fallback)", v1alphaAPI},
	} {
		s.add(c.name, func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			conn := lab.dial(t, lab.target(gateway, fooHost))
			lab.eventually(ctx, t, note, func(ctx context.Context) error {
				return wantServices(listServices(ctx, conn, c.api))
			})
		})
	}
	s.add("grpcurl describe com.example.User through the gateway", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		conn := lab.dial(t, lab.target(gateway, fooHost))
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			text, err := describe(ctx, conn, "com.example.User")
			return wantAll("describe com.example.User", rpcs(text), err, "Login", "DeleteUser", "WatchEvents")
		})
	})
	s.add("grpcurl invoke Login through the gateway from reflected descriptors", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		conn := lab.dial(t, lab.target(gateway, fooHost))
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			rc := reflectionClient(ctx, conn, autoAPI)
			defer rc.Reset()
			src := grpcurl.DescriptorSourceFromServer(ctx, rc)
			var out bytes.Buffer
			parser, formatter, err := grpcurl.RequestParserAndFormatter(grpcurl.FormatJSON, src, strings.NewReader("{}"), grpcurl.FormatOptions{})
			if err != nil {
				return err
			}
			h := &grpcurl.DefaultEventHandler{Out: &out, Formatter: formatter, VerbosityLevel: 1}
			err = grpcurl.InvokeRPC(ctx, src, conn, "com.example.User/Login", []string{"username: alice", "password: alice-password"}, h, parser.Next)
			if err != nil {
				return fmt.Errorf("invoke: %w", err)
			}
			if h.Status.Code() != codes.OK {
				return fmt.Errorf("invoke Login: %v", h.Status.Err())
			}
			if !strings.Contains(out.String(), "x-served-by: foo-") {
				return fmt.Errorf("invoke Login: response headers lack x-served-by: foo-…:\n%s", out.String())
			}
			return nil
		})
	})
	testenv.Test(t, s.feature().Setup(withVariants("gateway-api/reflection")).Teardown(resetVariants).Feature())
}

// v1Answers sends one v1 ListServices request and returns the error that answered it, if any.
func v1Answers(ctx context.Context, conn *grpc.ClientConn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return fmt.Errorf("reflection v1: %w", err)
	}
	if err := stream.Send(&reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{ListServices: "*"},
	}); err != nil {
		return fmt.Errorf("reflection v1: %w", err)
	}
	if _, err := stream.Recv(); err != nil {
		return fmt.Errorf("reflection v1: %w", err)
	}
	return nil
}
