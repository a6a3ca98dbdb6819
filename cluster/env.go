package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// EnvFile is where `grpclab up` writes the Endpoints, relative to the state directory.
const EnvFile = "env.json"

// WriteEnv writes the endpoints to dir/env.json for clients and scripts.
func WriteEnv(dir string, ep Endpoints) error {
	b, err := json.MarshalIndent(ep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", EnvFile, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", EnvFile, err)
	}
	if err := os.WriteFile(filepath.Join(dir, EnvFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", EnvFile, err)
	}
	return nil
}

// ReadEnv reads dir/env.json.
func ReadEnv(dir string) (Endpoints, error) {
	var ep Endpoints
	path := filepath.Join(dir, EnvFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return ep, fmt.Errorf("read %s (is the platform up? run `grpclab up`): %w", path, err)
	}
	if err := json.Unmarshal(b, &ep); err != nil {
		return ep, fmt.Errorf("read %s: %w", path, err)
	}
	return ep, nil
}
