package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// screen is the demo's screen: colour only on a terminal and without NO_COLOR, plain text when
// piped; every line fits in maxColumns.
type screen struct {
	w     io.Writer
	color bool
}

func newScreen(w io.Writer) *screen {
	t := &screen{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "" {
		t.color = true
	}
	return t
}

// Write passes progress lines ("==> …") through.
func (t *screen) Write(b []byte) (int, error) { return t.w.Write(b) }

const (
	bold  = "\033[1m"
	dim   = "\033[2m"
	red   = "\033[31m"
	green = "\033[32m"
	cyan  = "\033[36m"
	reset = "\033[0m"
)

func (t *screen) paint(style, s string) string {
	if !t.color {
		return s
	}
	return style + s + reset
}

func (t *screen) println(s string) { fmt.Fprintln(t.w, s) }

func (t *screen) title(s string) {
	rule := strings.Repeat("─", max(0, maxColumns-len([]rune(s))-4))
	t.println("")
	t.println(t.paint(bold+cyan, "── "+s+" "+rule))
}

func (t *screen) text(s string) {
	for _, l := range strings.Split(wrap(s, maxColumns), "\n") {
		t.println(l)
	}
}

func (t *screen) section(s string) {
	t.println("")
	t.println(t.paint(bold, s))
}

// code prints lines indented by two spaces (commands stay pasteable: leading blanks are
// harmless to a shell).
func (t *screen) code(lines []string) {
	for _, l := range lines {
		t.println(t.paint(dim, "  "+l))
	}
}

func (t *screen) answer(s string) {
	for i, l := range strings.Split(wrap(s, maxColumns-4), "\n") {
		if i == 0 {
			t.println("  → " + l)
		} else {
			t.println("    " + l)
		}
	}
}

func (t *screen) verdict(r stepResult, line string) {
	style := green
	switch r {
	case stepFailed:
		style = red
	case stepSkipped:
		style = dim
	}
	t.println("")
	for _, l := range strings.Split(wrap(line, maxColumns), "\n") {
		t.println(t.paint(bold+style, l))
	}
}

func (t *screen) prompt(s string) {
	t.println("")
	t.println(t.paint(bold, wrap(s, maxColumns)))
}
