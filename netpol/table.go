package netpol

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Cell is one entry of a truth table.
type Cell int

const (
	// Unknown means nothing was recorded (a probe that did not run).
	Unknown Cell = iota
	Allow
	Deny
	// Self is a workload's connection to itself, which no policy governs.
	Self
)

// Marks chooses the characters the printer uses.
type Marks struct {
	Allow, Deny, Mismatch, Unknown, Self string
}

var (
	// Unicode marks: ✓ allowed, ✗ denied, ! mismatch.
	Unicode = Marks{Allow: "✓", Deny: "✗", Mismatch: "!", Unknown: "?", Self: "-"}
	// ASCII marks for logs that mangle Unicode: . allowed, x denied, ! mismatch.
	ASCII = Marks{Allow: ".", Deny: "x", Mismatch: "!", Unknown: "?", Self: "-"}
)

func (m Marks) of(c Cell) string {
	switch c {
	case Allow:
		return m.Allow
	case Deny:
		return m.Deny
	case Self:
		return m.Self
	}
	return m.Unknown
}

// Table is a truth table: rows are source workloads, columns destination ports.
type Table struct {
	Sources []string
	Targets []Target
	cells   map[tableKey]Cell
}

type tableKey struct {
	src string
	dst Target
}

// NewTable returns an empty table with the given rows and columns.
func NewTable(sources []string, targets []Target) *Table {
	return &Table{Sources: sources, Targets: targets, cells: make(map[tableKey]Cell)}
}

// Set records a cell.
func (t *Table) Set(src string, dst Target, c Cell) { t.cells[tableKey{src, dst}] = c }

// Get returns a cell, Unknown when nothing was recorded.
func (t *Table) Get(src string, dst Target) Cell { return t.cells[tableKey{src, dst}] }

// Mismatch is one cell where expectation and observation differ.
type Mismatch struct {
	Source   string
	Target   Target
	Expected Cell
	Observed Cell
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s -> %s: expected %s, observed %s", m.Source, m.Target, cellName(m.Expected), cellName(m.Observed))
}

func cellName(c Cell) string {
	switch c {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	case Self:
		return "self"
	}
	return "unknown"
}

// Mismatches lists the cells of expected that observed disagrees with, in row then column
// order. Self cells are not compared; a cell observed as Unknown is a mismatch, so a probe
// that never ran cannot pass.
func Mismatches(expected, observed *Table) []Mismatch {
	var out []Mismatch
	for _, s := range expected.Sources {
		for _, d := range expected.Targets {
			e := expected.Get(s, d)
			if e == Self {
				continue
			}
			if o := observed.Get(s, d); o != e {
				out = append(out, Mismatch{Source: s, Target: d, Expected: e, Observed: o})
			}
		}
	}
	return out
}

// Print writes expected and observed side by side in one grid: each cell shows the expected
// mark then the observed mark, with the mismatch mark between them when they differ
// ("✓ ✓" agree, "✓!✗" expected allow but observed deny). Rows and columns follow expected.
func Print(w io.Writer, expected, observed *Table, marks Marks) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"source \\ dest:port"}
	for _, d := range expected.Targets {
		header = append(header, d.String())
	}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, s := range expected.Sources {
		row := []string{s}
		for _, d := range expected.Targets {
			e, o := expected.Get(s, d), observed.Get(s, d)
			sep := " "
			switch {
			case e == Self:
				o = Self // never probed: the connection stays inside the pod
			case o != e:
				sep = marks.Mismatch
			}
			row = append(row, marks.of(e)+sep+marks.of(o))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print truth table: %w", err)
	}
	_, err := fmt.Fprintf(w, "each cell: expected, observed; %s allow, %s deny, %s mismatch, %s self\n",
		marks.Allow, marks.Deny, marks.Mismatch, marks.Self)
	if err != nil {
		return fmt.Errorf("print truth table: %w", err)
	}
	return nil
}

// ObservedCell turns one probe answer (`grpclab-server probe`: tcp allow|deny, grpc SERVING|
// deny|<code>) into a cell: Allow when the connection opened and the server answered its
// health check, Deny when both timed out or were refused. Anything else is no clean verdict:
// the server, not the policy, would be at fault, and the cell stays Unknown.
func ObservedCell(tcp, grpc string) (Cell, bool) {
	switch {
	case tcp == "allow" && grpc == "SERVING":
		return Allow, true
	case tcp == "deny" && grpc == "deny":
		return Deny, true
	}
	return Unknown, false
}
