package controller

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Recycling is how long and for how many requests the proxy keeps a connection: the client
// side (keepalive_requests: after that many requests nginx sends GOAWAY; keepalive_time: the
// connection's maximum age; keepalive_timeout: how long an idle one stays open) and the
// upstream side (the cached connections to the backends).
type Recycling struct {
	Requests int
	MaxAge   time.Duration
	Idle     time.Duration

	UpstreamConnections int
	UpstreamRequests    int
	UpstreamMaxAge      time.Duration
	UpstreamIdle        time.Duration
}

// IngressNginxDefaults are ingress-nginx's controller defaults (internal/ingress/controller/
// config/config.go, NewDefault): keep-alive 75, keep-alive-requests 1000,
// upstream-keepalive-connections 320, upstream-keepalive-time 1h, upstream-keepalive-timeout 60,
// upstream-keepalive-requests 10000. nginx's own keepalive_time default (1h) is the client
// connection's maximum age; ingress-nginx does not change it. Both emulated proxies start from
// these, on purpose: they are what the most deployed gRPC proxy on Kubernetes does.
func IngressNginxDefaults() Recycling {
	return Recycling{
		Requests:            1000,
		MaxAge:              time.Hour,
		Idle:                75 * time.Second,
		UpstreamConnections: 320,
		UpstreamRequests:    10000,
		UpstreamMaxAge:      time.Hour,
		UpstreamIdle:        60 * time.Second,
	}
}

// orDefaults fills the zero fields of r from IngressNginxDefaults.
func (r Recycling) orDefaults() Recycling {
	d := IngressNginxDefaults()
	pick := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	pickD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	pick(&r.Requests, d.Requests)
	pickD(&r.MaxAge, d.MaxAge)
	pickD(&r.Idle, d.Idle)
	pick(&r.UpstreamConnections, d.UpstreamConnections)
	pick(&r.UpstreamRequests, d.UpstreamRequests)
	pickD(&r.UpstreamMaxAge, d.UpstreamMaxAge)
	pickD(&r.UpstreamIdle, d.UpstreamIdle)
	return r
}

// clientDirectives are the client-side recycling directives of a server block.
func (r Recycling) clientDirectives(indent string) string {
	return fmt.Sprintf("%skeepalive_requests %d;\n%skeepalive_time %s;\n%skeepalive_timeout %s;\n",
		indent, r.Requests, indent, seconds(r.MaxAge), indent, seconds(r.Idle))
}

// upstreamDirectives are the keepalive directives of an upstream block.
func (r Recycling) upstreamDirectives(indent string) string {
	return fmt.Sprintf("%skeepalive %d;\n%skeepalive_requests %d;\n%skeepalive_time %s;\n%skeepalive_timeout %s;\n",
		indent, r.UpstreamConnections, indent, r.UpstreamRequests, indent, seconds(r.UpstreamMaxAge), indent, seconds(r.UpstreamIdle))
}

// ListenRecycling reads a rendered configuration back: the client-side recycling directives
// (keepalive_requests, keepalive_time, keepalive_timeout) of the server blocks on each listen
// address, so a report states what nginx was told, not what the renderer meant to tell it. A
// directive a server block does not set takes the http block's value.
func ListenRecycling(text string) (map[string]Recycling, error) {
	var http Recycling
	out := map[string]Recycling{}
	depth := 0
	var inServer bool
	var cur Recycling
	var listens []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case strings.HasSuffix(line, "{"):
			depth++
			if depth == 2 && strings.HasPrefix(line, "server") {
				inServer, cur, listens = true, Recycling{}, nil
			}
			continue
		case line == "}":
			if depth == 2 && inServer {
				for _, l := range listens {
					merged := cur
					if merged.Requests == 0 {
						merged.Requests = http.Requests
					}
					if merged.MaxAge == 0 {
						merged.MaxAge = http.MaxAge
					}
					if merged.Idle == 0 {
						merged.Idle = http.Idle
					}
					out[l] = merged
				}
				inServer = false
			}
			depth--
			continue
		}
		target := &http
		switch {
		case inServer && depth == 2:
			target = &cur
		case depth != 1:
			continue // upstream, location, map and event blocks
		}
		fields := strings.Fields(strings.TrimSuffix(line, ";"))
		if len(fields) < 2 {
			continue
		}
		var err error
		switch fields[0] {
		case "listen":
			if target == &cur {
				listens = append(listens, fields[1])
			}
		case "keepalive_requests":
			target.Requests, err = strconv.Atoi(fields[1])
		case "keepalive_time":
			target.MaxAge, err = time.ParseDuration(fields[1])
		case "keepalive_timeout":
			target.Idle, err = time.ParseDuration(fields[1])
		}
		if err != nil {
			return nil, fmt.Errorf("rendered configuration line %d %q: %w", n, line, err)
		}
	}
	return out, sc.Err()
}
