package controller

import (
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestRecyclingRendered: the Gateway listeners get ingress-nginx's defaults, the ingress ports
// the input's own limits, and ListenRecycling reads both back from the text nginx accepts.
func TestRecyclingRendered(t *testing.T) {
	in := baseInput(t)
	in.Services = append(in.Services, service("default", "ing"))
	in.Endpoints[EndpointKey("default", "ing", 50051)] = []string{"127.0.0.1:3"}
	in.Certs["default/ing-tls"] = newTestCA(t).issue(t, "i", "grpc.example.org")
	in.Ingresses = []*networkingv1.Ingress{ingress("ing", "grpc.example.org", "ing-tls", nil, networkingv1.ServiceBackendPort{Number: 50051})}
	in.IngressRecycling = Recycling{Requests: 5000, UpstreamRequests: 7000}
	cfg, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	checkSyntax(t, in.StateDir, cfg)
	got, err := ListenRecycling(cfg.Text)
	if err != nil {
		t.Fatal(err)
	}
	def := IngressNginxDefaults()
	for addr, want := range map[string]Recycling{
		"127.0.0.1:1443": {Requests: def.Requests, MaxAge: def.MaxAge, Idle: def.Idle},
		"127.0.0.1:2443": {Requests: 5000, MaxAge: def.MaxAge, Idle: def.Idle},
		"127.0.0.1:2080": {Requests: 5000, MaxAge: def.MaxAge, Idle: def.Idle},
	} {
		if got[addr] != want {
			t.Errorf("%s: read back %+v, want %+v", addr, got[addr], want)
		}
	}
	if want := "keepalive_requests 7000;"; !strings.Contains(upstreamBlock(cfg.Text, "ing.default.50051.svc"), want) {
		t.Errorf("the Ingress's upstream lacks %q:\n%s", want, cfg.Text)
	}
	if def.MaxAge != time.Hour {
		t.Errorf("keepalive_time default %s, want nginx's 1h", def.MaxAge)
	}
}

// upstreamBlock returns the text of the upstream block whose name contains name.
func upstreamBlock(text, name string) string {
	for _, part := range strings.Split(text, "upstream ")[1:] {
		head, _, _ := strings.Cut(part, "{")
		if strings.Contains(head, name) {
			body, _, _ := strings.Cut(part, "}")
			return body
		}
	}
	return ""
}
