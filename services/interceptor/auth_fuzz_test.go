package interceptor_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpclab/grpclab/services/interceptor"
	"github.com/grpclab/grpclab/services/user"
)

// FuzzAuth feeds arbitrary metadata to the auth path. It must never panic
// and must accept exactly the calls an independent oracle accepts: one
// username and one password value that are a demo pair allowed the method.
func FuzzAuth(f *testing.F) {
	store, err := user.NewStore(user.DemoAccounts())
	if err != nil {
		f.Fatal(err)
	}
	auth := interceptor.NewAuth(store, "com.example.User")
	passwords := map[string]string{user.DemoAdmin: user.DemoAdminPassword, user.DemoAlice: user.DemoAlicePassword}
	allowed := func(u, m string) bool { return u == user.DemoAdmin || (u == user.DemoAlice && m != "DeleteUser") }

	// The seeds are the files of testdata/fuzz/FuzzAuth, one a case, named for what
	// they cover: the right pairs, near misses, duplicates, absent values. Their
	// values are the arguments of the function below, in order.
	// shape bit 0: send username, bit 1: send password, bit 2: duplicate
	// username with extraU, bit 3: duplicate password with extraP.
	f.Fuzz(func(t *testing.T, username, password, extraU, extraP string, shape uint8, method string) {
		md := metadata.MD{}
		if shape&1 != 0 {
			md.Append(interceptor.MetadataUsername, username)
		}
		if shape&2 != 0 {
			md.Append(interceptor.MetadataPassword, password)
		}
		if shape&4 != 0 {
			md.Append(interceptor.MetadataUsername, extraU)
		}
		if shape&8 != 0 {
			md.Append(interceptor.MetadataPassword, extraP)
		}
		ctx := metadata.NewIncomingContext(context.Background(), md)
		gotCtx, err := auth.Check(ctx, "/com.example.User/"+method)

		us, ps := md.Get(interceptor.MetadataUsername), md.Get(interceptor.MetadataPassword)
		credsOK := false
		if len(us) == 1 && len(ps) == 1 {
			want, known := passwords[us[0]]
			credsOK = known && want == ps[0]
		}
		switch {
		case !credsOK:
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("md %v: err = %v, want Unauthenticated", md, err)
			}
		case !allowed(us[0], method):
			if status.Code(err) != codes.PermissionDenied {
				t.Fatalf("md %v method %q: err = %v, want PermissionDenied", md, method, err)
			}
		default:
			if err != nil {
				t.Fatalf("md %v method %q: err = %v, want accepted", md, method, err)
			}
			if got, _ := interceptor.Username(gotCtx); got != us[0] {
				t.Fatalf("caller in context = %q, want %q", got, us[0])
			}
		}
		if !credsOK && password != "" && shape&2 != 0 {
			// A rejection never depends on (so never echoes) the password
			// value: the same call with another non-empty password that
			// cannot match must be refused with the same message.
			md2 := md.Copy()
			md2.Set(interceptor.MetadataPassword, append([]string{"\x01not-a-password"}, md2.Get(interceptor.MetadataPassword)[1:]...)...)
			_, err2 := auth.Check(metadata.NewIncomingContext(context.Background(), md2), "/com.example.User/"+method)
			if status.Convert(err).Message() != status.Convert(err2).Message() {
				t.Fatalf("rejection message depends on the password: %q vs %q", status.Convert(err).Message(), status.Convert(err2).Message())
			}
		}
	})
}
