// Package images holds the pins of the hermetic kind image set (pins.env), the one place both
// the build scripts in hack/images and the kind platform read them from.
package images

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed pins.env
var pinsFile string

// pins is pins.env parsed once; Parse fails loudly in tests if the file is malformed.
var pins = mustParse(pinsFile)

// Pin returns the value of NAME in pins.env; it panics on an unknown name, a programming
// error that the package's tests catch for every name the code uses.
func Pin(name string) string {
	v, ok := pins[name]
	if !ok {
		panic(fmt.Sprintf("images: no pin %s in images/pins.env", name))
	}
	return v
}

// Pins returns a copy of every pin.
func Pins() map[string]string {
	out := make(map[string]string, len(pins))
	for k, v := range pins {
		out[k] = v
	}
	return out
}

func mustParse(s string) map[string]string {
	m, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Parse reads NAME=value lines; blank lines and # comments are skipped.
func Parse(s string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || v == "" || strings.ContainsAny(v, " \t'\"$`") {
			return nil, fmt.Errorf("images/pins.env line %d: %q is not NAME=value", i+1, line)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("images/pins.env line %d: %s set twice", i+1, k)
		}
		out[k] = v
	}
	return out, nil
}
