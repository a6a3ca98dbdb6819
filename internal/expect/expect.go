// Package expect holds the few assertions that grpclab's table tests share, so that a test
// states what it wants and not, once more, how to compare it.
package expect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Error checks err against want, a substring of the error's text; "" wants no error. A
// disagreement fails the test at once. It reports whether an error was wanted, so that a
// table row that wants one stops there:
//
//	if expect.Error(t, err, tc.err) {
//		return
//	}
func Error(t testing.TB, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	return true
}

// Contains fails the test, without stopping it, for each of wants that text lacks; what
// names the text in the message.
func Contains(t testing.TB, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// File writes body to name in dir and returns its path.
func File(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
