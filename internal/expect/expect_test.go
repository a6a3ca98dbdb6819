package expect

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of ending the test.
type recorder struct {
	testing.TB
	failed, fatal bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed, r.fatal = true, true }
func (r *recorder) Fatal(...any)          { r.failed, r.fatal = true, true }

func TestError(t *testing.T) {
	boom := errors.New("dial: connection refused")
	for _, tc := range []struct {
		name   string
		err    error
		want   string
		wanted bool
		fails  bool
	}{
		{"no error wanted, none", nil, "", false, false},
		{"no error wanted, one", boom, "", false, true},
		{"error wanted, matching", boom, "refused", true, false},
		{"error wanted, other text", boom, "timeout", true, true},
		{"error wanted, none", nil, "refused", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			wanted := Error(r, tc.err, tc.want) // the recorder's Fatalf does not stop the call
			if r.failed != tc.fails || (r.failed && !r.fatal) {
				t.Errorf("failed %v (fatal %v), want failed %v and fatal", r.failed, r.fatal, tc.fails)
			}
			if !r.failed && wanted != tc.wanted {
				t.Errorf("Error = %v, want %v", wanted, tc.wanted)
			}
		})
	}
}

func TestContains(t *testing.T) {
	r := &recorder{TB: t}
	Contains(r, "page", "a b c", "a", "c")
	if r.failed {
		t.Error("Contains failed on present substrings")
	}
	Contains(r, "page", "a b c", "a", "d")
	if !r.failed || r.fatal {
		t.Errorf("Contains on a missing substring: failed %v fatal %v, want failed and not fatal", r.failed, r.fatal)
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	p := File(t, dir, "a.yaml", "x: 1\n")
	if p != filepath.Join(dir, "a.yaml") {
		t.Errorf("path %s", p)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "x: 1\n" {
		t.Errorf("read %q, %v", b, err)
	}
}
