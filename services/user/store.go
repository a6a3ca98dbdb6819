// Package user holds the com.example.User service: an in-memory account
// store (credentials, permissions, profiles) and the gRPC implementation.
package user

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"sync"
)

// Demo credentials, built in when no --users file is given. The scenarios
// and the CLI use these names rather than repeating the strings.
const (
	DemoAdmin         = "admin"
	DemoAdminPassword = "admin-password"
	DemoAlice         = "alice"
	DemoAlicePassword = "alice-password"
)

// Methods are the com.example.User method names an account's allow and deny
// lists may name, besides the wildcard "*".
var Methods = []string{"Login", "GetProfile", "DeleteUser", "WatchEvents"}

// Account is one user as configured, and one entry of a users file (see File):
// credentials, permissions and profile.
type Account struct {
	Username    string   `json:"username"`
	Password    string   `json:"password"`
	DisplayName string   `json:"displayName,omitempty"`
	Roles       []string `json:"roles,omitempty"`
	// Allow lists the method names the account may call; "*" means all.
	Allow []string `json:"allow,omitempty"`
	// Deny lists method names refused even when Allow matches.
	Deny []string `json:"deny,omitempty"`
}

// DemoAccounts returns the built-in accounts: admin may call everything,
// alice everything but DeleteUser.
func DemoAccounts() []Account {
	return []Account{
		{Username: DemoAdmin, Password: DemoAdminPassword, DisplayName: "Administrator", Roles: []string{"admin"}, Allow: []string{"*"}},
		{Username: DemoAlice, Password: DemoAlicePassword, DisplayName: "Alice", Roles: []string{"user"}, Allow: []string{"*"}, Deny: []string{"DeleteUser"}},
	}
}

// record is an Account as stored: the password is kept only as a SHA-256
// digest so comparisons run over equal-length values in constant time.
type record struct {
	digest  [sha256.Size]byte
	profile Profile
	allow   []string
	deny    []string
}

// Profile is the public part of an account.
type Profile struct {
	Username    string
	DisplayName string
	Roles       []string
}

// Store is the in-memory account store; it is safe for concurrent use.
type Store struct {
	mu    sync.RWMutex
	users map[string]record
}

// NewStore validates accounts and returns a store holding them.
func NewStore(accounts []Account) (*Store, error) {
	s := &Store{users: make(map[string]record, len(accounts))}
	for i, a := range accounts {
		if err := a.validate(); err != nil {
			return nil, fmt.Errorf("users[%d].%w", i, err)
		}
		if _, dup := s.users[a.Username]; dup {
			return nil, fmt.Errorf("users[%d].username: %q is defined twice", i, a.Username)
		}
		s.users[a.Username] = record{
			digest:  sha256.Sum256([]byte(a.Password)),
			profile: Profile{Username: a.Username, DisplayName: a.DisplayName, Roles: slices.Clone(a.Roles)},
			allow:   slices.Clone(a.Allow),
			deny:    slices.Clone(a.Deny),
		}
	}
	return s, nil
}

func (a Account) validate() error {
	if a.Username == "" {
		return fmt.Errorf("username: must not be empty")
	}
	if a.Password == "" {
		return fmt.Errorf("password: must not be empty (user %q)", a.Username)
	}
	for field, list := range map[string][]string{"allow": a.Allow, "deny": a.Deny} {
		for j, m := range list {
			if m != "*" && !slices.Contains(Methods, m) {
				return fmt.Errorf("%s[%d]: unknown method %q (user %q; want one of %v or \"*\")", field, j, m, a.Username, Methods)
			}
		}
	}
	return nil
}

// dummyDigest is compared against when the username is unknown, so an
// unknown user costs the same as a wrong password.
var dummyDigest = sha256.Sum256([]byte("grpclab: no such user"))

// Authenticate reports whether password is the password of username. The
// comparison is constant-time in the password.
func (s *Store) Authenticate(username, password string) bool {
	s.mu.RLock()
	r, ok := s.users[username]
	s.mu.RUnlock()
	want := dummyDigest
	if ok {
		want = r.digest
	}
	got := sha256.Sum256([]byte(password))
	match := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	return ok && match
}

// Allowed reports whether username may call method (a com.example.User
// method name such as "DeleteUser"). Deny wins over allow.
func (s *Store) Allowed(username, method string) bool {
	s.mu.RLock()
	r, ok := s.users[username]
	s.mu.RUnlock()
	if !ok || slices.Contains(r.deny, method) || slices.Contains(r.deny, "*") {
		return false
	}
	return slices.Contains(r.allow, method) || slices.Contains(r.allow, "*")
}

// Profile returns a copy of username's profile.
func (s *Store) Profile(username string) (Profile, bool) {
	s.mu.RLock()
	r, ok := s.users[username]
	s.mu.RUnlock()
	if !ok {
		return Profile{}, false
	}
	p := r.profile
	p.Roles = slices.Clone(p.Roles)
	return p, true
}

// Delete removes username and reports whether it existed. A deleted user can
// no longer authenticate.
func (s *Store) Delete(username string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.users[username]
	delete(s.users, username)
	return ok
}

// Len returns the number of stored users.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.users)
}
