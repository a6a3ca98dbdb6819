package user

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// File is the --users file format, YAML or JSON (JSON is YAML):
//
//	users:
//	  - username: admin
//	    password: admin-password
//	    displayName: Administrator   # optional
//	    roles: [admin]               # optional, informational
//	    allow: ["*"]                 # method names of com.example.User, or "*"
//	  - username: alice
//	    password: alice-password
//	    allow: ["*"]
//	    deny: [DeleteUser]           # deny wins over allow
//
// Unknown fields are errors, so a typo such as "pasword" is caught at start.
type File struct {
	Users []Account `json:"users"`
}

// LoadFile reads and validates a users file and returns a store holding its
// accounts. Errors name the file and the offending entry and field.
func LoadFile(path string) (*Store, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	return s, nil
}

// Parse decodes a users file's content (see File) into a store.
func Parse(data []byte) (*Store, error) {
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if len(f.Users) == 0 {
		return nil, fmt.Errorf("users: must list at least one user")
	}
	return NewStore(f.Users)
}
