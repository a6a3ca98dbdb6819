package user

import (
	"fmt"
	"sync"
	"testing"

	"github.com/grpclab/grpclab/internal/expect"
)

func demoStore(t *testing.T) *Store {
	t.Helper()
	s, err := NewStore(DemoAccounts())
	if err != nil {
		t.Fatalf("demo store: %v", err)
	}
	return s
}

func TestAuthenticate(t *testing.T) {
	s := demoStore(t)
	tests := []struct {
		name, user, password string
		want                 bool
	}{
		{"admin right password", DemoAdmin, DemoAdminPassword, true},
		{"alice right password", DemoAlice, DemoAlicePassword, true},
		{"wrong password", DemoAdmin, DemoAlicePassword, false},
		{"password prefix", DemoAdmin, "admin-passwor", false},
		{"password with suffix", DemoAdmin, DemoAdminPassword + "x", false},
		{"unknown user", "mallory", DemoAdminPassword, false},
		{"empty password", DemoAdmin, "", false},
		{"empty user", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Authenticate(tt.user, tt.password); got != tt.want {
				t.Errorf("Authenticate(%q, %q) = %v, want %v", tt.user, tt.password, got, tt.want)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	s := demoStore(t)
	tests := []struct {
		user, method string
		want         bool
	}{
		{DemoAdmin, "DeleteUser", true},
		{DemoAdmin, "Login", true},
		{DemoAlice, "Login", true},
		{DemoAlice, "GetProfile", true},
		{DemoAlice, "WatchEvents", true},
		{DemoAlice, "DeleteUser", false},
		{"mallory", "Login", false},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.method, func(t *testing.T) {
			if got := s.Allowed(tt.user, tt.method); got != tt.want {
				t.Errorf("Allowed(%q, %q) = %v, want %v", tt.user, tt.method, got, tt.want)
			}
		})
	}
}

func TestNewStoreRejects(t *testing.T) {
	tests := []struct {
		name     string
		accounts []Account
		wantErr  string
	}{
		{"empty username", []Account{{Password: "p"}}, "users[0].username: must not be empty"},
		{"empty password", []Account{{Username: "u"}}, "users[0].password: must not be empty"},
		{"duplicate", []Account{{Username: "u", Password: "p"}, {Username: "u", Password: "q"}}, `users[1].username: "u" is defined twice`},
		{"unknown allow", []Account{{Username: "u", Password: "p", Allow: []string{"Logout"}}}, `users[0].allow[0]: unknown method "Logout"`},
		{"unknown deny", []Account{{Username: "u", Password: "p", Deny: []string{"*", "Del"}}}, `users[0].deny[1]: unknown method "Del"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewStore(tt.accounts)
			expect.Error(t, err, tt.wantErr)
		})
	}
}

func TestDeleteRevokesCredentials(t *testing.T) {
	s := demoStore(t)
	if !s.Delete(DemoAlice) {
		t.Fatal("Delete(alice) = false, want true")
	}
	if s.Delete(DemoAlice) {
		t.Error("second Delete(alice) = true, want false")
	}
	if s.Authenticate(DemoAlice, DemoAlicePassword) {
		t.Error("deleted alice still authenticates")
	}
	if _, ok := s.Profile(DemoAlice); ok {
		t.Error("deleted alice still has a profile")
	}
}

func TestProfileIsACopy(t *testing.T) {
	s := demoStore(t)
	p, _ := s.Profile(DemoAdmin)
	p.Roles[0] = "changed"
	q, _ := s.Profile(DemoAdmin)
	if q.Roles[0] != "admin" {
		t.Errorf("stored roles changed through a returned profile: %v", q.Roles)
	}
}

// TestStoreConcurrent is meant for -race: readers, authenticators and a
// deleter run at once and the final state must be exact.
func TestStoreConcurrent(t *testing.T) {
	var accounts []Account
	for i := range 100 {
		accounts = append(accounts, Account{Username: fmt.Sprintf("u%d", i), Password: fmt.Sprintf("p%d", i), Allow: []string{"*"}})
	}
	s, err := NewStore(accounts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				u := fmt.Sprintf("u%d", i)
				if i%2 == 1 && g == 0 {
					s.Delete(u)
					continue
				}
				s.Authenticate(u, fmt.Sprintf("p%d", i))
				s.Allowed(u, "Login")
				s.Profile(u)
			}
		})
	}
	wg.Wait()
	if got := s.Len(); got != 50 {
		t.Errorf("Len() = %d after deleting the 50 odd users, want 50", got)
	}
	if !s.Authenticate("u0", "p0") || s.Authenticate("u1", "p1") {
		t.Error("u0 should remain and u1 should be gone")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, data, wantErr string
	}{
		{"yaml", "users:\n- username: bob\n  password: pw\n  allow: [Login]\n", ""},
		{"json", `{"users":[{"username":"bob","password":"pw","allow":["*"],"deny":["DeleteUser"]}]}`, ""},
		{"typo field", "users:\n- username: bob\n  pasword: pw\n", `unknown field "pasword"`},
		{"no users", "users: []\n", "users: must list at least one user"},
		{"not yaml", "users: [\n", "decode:"},
		{"missing password", "users:\n- username: bob\n", "users[0].password: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.data))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !s.Authenticate("bob", "pw") {
					t.Error("bob/pw does not authenticate")
				}
				return
			}
			expect.Error(t, err, tt.wantErr)
		})
	}
}
