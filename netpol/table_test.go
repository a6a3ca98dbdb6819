package netpol

import (
	"bytes"
	"strings"
	"testing"
)

func TestMismatchesAndPrint(t *testing.T) {
	db := Target{Workload: "db", Port: 6379}
	fe := Target{Workload: "fe", Port: 50051}
	expected := NewTable([]string{"fe", "cli"}, []Target{db, fe})
	observed := NewTable(expected.Sources, expected.Targets)
	expected.Set("fe", db, Allow)
	expected.Set("fe", fe, Self)
	expected.Set("cli", db, Deny)
	expected.Set("cli", fe, Allow)
	observed.Set("fe", db, Allow)
	observed.Set("cli", db, Allow) // wrongly allowed
	// cli -> fe never observed: Unknown must count as a mismatch.

	got := Mismatches(expected, observed)
	want := []Mismatch{
		{Source: "cli", Target: db, Expected: Deny, Observed: Allow},
		{Source: "cli", Target: fe, Expected: Allow, Observed: Unknown},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mismatch %d: got %v, want %v", i, got[i], want[i])
		}
	}
	if s := got[0].String(); s != "cli -> db:6379: expected deny, observed allow" {
		t.Errorf("String() = %q", s)
	}

	tests := []struct {
		marks Marks
		rows  []string
	}{
		{Unicode, []string{"fe|✓|✓|-|-", "cli|✗!✓|✓!?"}},
		{ASCII, []string{"fe|.|.|-|-", "cli|x!.|.!?"}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := Print(&buf, expected, observed, tt.marks); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.Contains(out, "db:6379") || !strings.Contains(out, "fe:50051") {
			t.Errorf("header lacks dest:port columns:\n%s", out)
		}
		var rows []string
		for _, line := range strings.Split(out, "\n") {
			rows = append(rows, strings.Join(strings.Fields(line), "|"))
		}
		for _, r := range tt.rows {
			if !strings.Contains(strings.Join(rows, "\n"), r) {
				t.Errorf("output lacks %q:\n%s", r, out)
			}
		}
		if n := strings.Count(out, tt.marks.Mismatch); n != 3 { // two cells and the legend
			t.Errorf("%d mismatch marks, want 3:\n%s", n, out)
		}
	}
}

func TestModelTableMarksSelf(t *testing.T) {
	m, err := NewModel(nil, fixture())
	if err != nil {
		t.Fatal(err)
	}
	tab := m.Table()
	a80 := Target{Workload: "a", Port: 80, Protocol: "TCP"}
	if got := tab.Get("a", a80); got != Self {
		t.Errorf("a -> a:80 = %v, want Self", got)
	}
	if got := tab.Get("b", a80); got != Allow {
		t.Errorf("b -> a:80 = %v, want Allow", got)
	}
	if n := len(tab.Targets); n != 10 {
		t.Errorf("%d targets, want 10 (every port of every workload)", n)
	}
}
