// Package services holds the project's gRPC services in its subpackages; this file carries
// their .proto sources, so that clients without reflection (grpcurl -proto, where the
// production routes refuse reflection) can be pointed at them from any directory.
package services

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed proto/*/*.proto
var protos embed.FS

// Proto files, relative to the import path WriteProtos returns.
const (
	UserProto    = "user/user.proto"
	GreeterProto = "helloworld/helloworld.proto"
)

// WriteProtos copies every .proto source into dir (created if needed) and returns dir as an
// absolute path: grpcurl's -import-path, under which UserProto and GreeterProto are found.
func WriteProtos(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("write protos: %w", err)
	}
	root, err := fs.Sub(protos, "proto")
	if err != nil {
		return "", fmt.Errorf("write protos: %w", err)
	}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(abs, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("write protos to %s: %w", abs, err)
	}
	return abs, nil
}
