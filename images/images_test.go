package images

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	got, err := Parse("# c\n\nA=v1\nB=x.y-z\n")
	if err != nil || got["A"] != "v1" || got["B"] != "x.y-z" || len(got) != 2 {
		t.Errorf("Parse = %v, %v", got, err)
	}
	for _, bad := range []string{"A", "A=", "=v", "A=v w", "A=$(x)", "A=1\nA=2"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = nil error", bad)
		}
	}
}

// pins.env is read by bash too: sourcing it must give the same values Go reads.
func TestPinsSourceAsShell(t *testing.T) {
	var names []string
	for k := range Pins() {
		names = append(names, k)
	}
	script := "set -eu; . ./pins.env; for n in " + strings.Join(names, " ") + `; do eval "echo $n=\${$n}"; done`
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("source pins.env: %v: %s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		if Pin(k) != v {
			t.Errorf("bash reads %s=%q, Go reads %q", k, v, Pin(k))
		}
	}
}

// Every pin a script or the Go code names exists.
func TestPinsUsedExist(t *testing.T) {
	for _, name := range []string{"KUBERNETES_VERSION", "CNI_PLUGINS_VERSION", "TRAEFIK_VERSION", "PAUSE_IMAGE_TAG", "KIND_VERSION"} {
		if _, ok := Pins()[name]; !ok {
			t.Errorf("images/pins.env lacks %s", name)
		}
	}
	if _, err := os.Stat("pins.env"); err != nil {
		t.Fatal(err)
	}
}
