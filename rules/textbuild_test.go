package rules

import "testing"

// Each written piece keeps its own position; pieces at one position share
// a span.
func TestTextBuilder(t *testing.T) {
	var b TextBuilder
	a, c := Pos{File: "f.yaml", Line: 3, Col: 14}, Pos{File: "f.yaml", Line: 4, Col: 5}
	b.WriteAt("proc.name", a)
	b.WriteAt(" == ", a)
	b.WriteAt(`"sh"`, c)
	tx := b.Text()
	if tx.S != `proc.name == "sh"` {
		t.Fatalf("text %q", tx.S)
	}
	for off, want := range map[int]Pos{0: a, 9: a, 12: a, 13: c, 16: c, 17: c} {
		if got := tx.Pos(off); got != want {
			t.Errorf("Pos(%d) = %v, want %v", off, got, want)
		}
	}
	if len(tx.spans) != 2 {
		t.Errorf("%d spans, want 2", len(tx.spans))
	}
	if got := TextAt("x", c).Pos(0); got != c {
		t.Errorf("TextAt: %v", got)
	}
}
