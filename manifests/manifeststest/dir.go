// Package manifeststest holds test helpers for code that reads a user's manifest directory.
package manifeststest

import (
	"os"
	"testing"
	"testing/fstest"
)

// Dir writes files, by slash-separated name, into a fresh directory that the test removes,
// and returns it.
func Dir(t testing.TB, files map[string]string) string {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, fsys); err != nil {
		t.Fatal(err)
	}
	return dir
}
