package kind

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/kind/addon"
	"github.com/grpclab/grpclab/internal/expect"
)

// TestParseEntryPoint reads Traefik's entry point JSON, where zero values are omitted: no
// transport limits means no request limit and no maximum age, not an error.
func TestParseEntryPoint(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       cluster.Recycling
		err        string
	}{
		{
			name: "Traefik's defaults",
			body: `{"address":":50051","transport":{"lifeCycle":{"graceTimeOut":"10s"},"respondingTimeouts":{"readTimeout":"1m0s","idleTimeout":"3m0s"}},"http2":{"maxConcurrentStreams":250},"name":"gateway"}`,
			want: cluster.Recycling{Idle: 3 * time.Minute},
		},
		{
			name: "limits set",
			body: `{"transport":{"keepAliveMaxRequests":1000,"keepAliveMaxTime":"1h0m0s","respondingTimeouts":{"idleTimeout":"1m15s"}}}`,
			want: cluster.Recycling{Requests: 1000, MaxAge: time.Hour, Idle: 75 * time.Second},
		},
		{name: "not JSON", body: `<html>`, err: "entry point JSON"},
		{name: "bad duration", body: `{"transport":{"keepAliveMaxTime":"soon"}}`, err: "transport.keepAliveMaxTime"},
		{name: "negative limit", body: `{"transport":{"keepAliveMaxRequests":-1}}`, err: "transport.keepAliveMaxRequests"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseEntryPoint([]byte(c.body))
			if expect.Error(t, err, c.err) {
				return
			}
			if got != c.want {
				t.Fatalf("parseEntryPoint = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// TestRecyclingUnsupported: a controller whose limits grpclab does not read says so with
// errors.ErrUnsupported, which the disruption suite reports as a skip, never as a limit of 0.
func TestRecyclingUnsupported(t *testing.T) {
	p := Platform{controller: addon.Addon{Name: "some-controller"}}
	_, err := p.Recycling(context.Background(), "127.0.0.1:50051")
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "some-controller") {
		t.Fatalf("Recycling = %v, want errors.ErrUnsupported naming the controller", err)
	}
	if _, err := (&Platform{controller: addon.Traefik}).Recycling(context.Background(), "127.0.0.1:50051"); err == nil || errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Traefik before up: %v, want an error that is not ErrUnsupported", err)
	}
}

// TestDisruptionNotLimited: the kind platform causes the disruption suite's events itself,
// so no limit may skip that suite.
func TestDisruptionNotLimited(t *testing.T) {
	var p Platform
	for _, l := range p.Limits() {
		if strings.HasPrefix(l.Scenario, "disruption") {
			t.Fatalf("Limits() skips %+v, but the kind platform is a cluster.Disruptor", l)
		}
	}
}
