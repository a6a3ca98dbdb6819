package scenarios

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/grpclab/grpclab/scenarios/call"
)

// The methods the suites call, and the demo users' credentials as metadata pairs.
const (
	sayHello   = call.SayHello
	login      = call.Login
	getProfile = call.GetProfile
	deleteUser = call.DeleteUser
)

var (
	admin     = call.Admin()
	alice     = call.Alice()
	wrongPass = call.WrongPassword()
)

// with appends metadata pairs to credentials.
func with(creds []string, pairs ...string) []string {
	return append(append([]string(nil), creds...), pairs...)
}

// route is the common case: one unary call through an entry point as a host, expecting a
// code and an x-served-by prefix ("" when no backend answers), or a failed TLS handshake.
type route struct {
	name           string
	entry          entry
	host           string
	method         string
	md             []string
	code           codes.Code
	servedBy       string
	handshakeFails bool // the entry point has no certificate for host
}

func (s *scenario) routes(cases ...route) *scenario {
	for _, c := range cases {
		s.add(c.name, func(ctx context.Context, t *testing.T, note func(string, ...any)) {
			conn := lab.dial(t, lab.target(c.entry, c.host))
			lab.eventually(ctx, t, note, func(ctx context.Context) error {
				r := call.Unary(ctx, conn, c.method, c.md...)
				if c.handshakeFails {
					return r.ExpectHandshakeFailure()
				}
				return r.Expect(c.code, c.servedBy)
			})
		})
	}
	return s
}
