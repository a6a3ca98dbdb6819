package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// TestIngressNginx is the article's fortune-ingress end to end: TLS terminated with the
// wildcard.dev.mydomain.com secret for grpctest.dev.mydomain.com, backend-protocol GRPC to
// go-grpc-greeter-server port 80, and ssl-redirect on the plaintext port.
func TestIngressNginx(t *testing.T) {
	s := newScenario("ingress-nginx", "ingress").routes(
		route{name: "SayHello reaches go-grpc-greeter-server", entry: ingress, host: greeterHost, method: sayHello, code: codes.OK, servedBy: "greeter-"},
		route{name: "Login reaches go-grpc-greeter-server (path / Prefix routes every method)", entry: ingress, host: greeterHost, method: login, md: alice, code: codes.OK, servedBy: "greeter-"},
		route{name: "an unknown host fails the TLS handshake", entry: ingress, host: "nope.dev.mydomain.com", method: sayHello, handshakeFails: true},
	)
	s.add("ssl-redirect: the plaintext port answers 308 to https", func(ctx context.Context, t *testing.T, note func(string, ...any)) {
		lab.need(t, lab.target(ingressHTTP, greeterHost))
		lab.eventually(ctx, t, note, func(ctx context.Context) error {
			status, loc, err := plaintextPost(ctx, lab.ep.IngressHTTP.Address, greeterHost)
			if err != nil {
				return err
			}
			if status != http.StatusPermanentRedirect || !strings.HasPrefix(loc, "https://"+greeterHost) {
				return fmt.Errorf("got %d Location %q, want 308 to https://%s", status, loc, greeterHost)
			}
			return nil
		})
	})
	testenv.Test(t, s.feature().Feature())
}

// plaintextPost sends a gRPC call's request line over plaintext HTTP/1.1, as a client that
// forgot TLS does, and returns the status and Location; redirects are not followed.
func plaintextPost(ctx context.Context, addr, host string) (int, string, error) {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+sayHello, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	req.Header.Set("content-type", "application/grpc")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}
