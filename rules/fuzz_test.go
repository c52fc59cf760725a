package rules

import (
	"testing"
	"unicode"
)

// FuzzLoad feeds arbitrary bytes as one rules file through Read and
// Collect: they must not panic, every error must have a position and a
// snippet line of the file, and every byte of every text must map into it.
func FuzzLoad(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { checkLoad(t, data, DialectVigil) })
}

// FuzzLoadFalco is FuzzLoad for Falco files; it checks warnings too, and
// the conditions built from exceptions.
func FuzzLoadFalco(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { checkLoad(t, data, DialectFalco) })
}

func checkLoad(t *testing.T, data []byte, dialect Dialect) {
	const name = "fuzz.yaml"
	file, err := Read(Source{Name: name, Data: data, Dialect: dialect})
	var errs Errors
	if err != nil {
		errs = append(errs, err.(Errors)...)
	}
	set, err := Collect(file)
	if err != nil {
		errs = append(errs, err.(Errors)...)
	}
	lines := len(file.src.starts)
	if set != nil {
		errs = append(errs, set.Warnings...)
	}
	for _, e := range errs {
		if e.Pos.File != name || e.Pos.Line < 1 || e.Pos.Col < 1 || e.Pos.Line > lines || e.Code == "" || e.Msg == "" {
			t.Errorf("bad error %#v", e)
		}
		if e.Line != file.src.line(e.Pos.Line) {
			t.Errorf("error %v: Line = %q, want line %d", e, e.Line, e.Pos.Line)
		}
		_ = e.Error()
	}
	if set == nil {
		return
	}
	check := func(text Text) {
		for i := -1; i <= len(text.S)+1; i++ {
			if p := text.Pos(i); p.File != name || p.Line < 1 || p.Col < 1 || p.Line > lines {
				t.Fatalf("Pos(%d) of %q = %v", i, text.S, p)
			}
		}
		// A verbatim byte is at its position in the file.
		for k, sp := range text.spans {
			end := len(text.S)
			if k+1 < len(text.spans) {
				end = text.spans[k+1].off
			}
			for i, r := range text.S[sp.off:end] {
				if !sp.verbatim || unicode.IsSpace(r) {
					continue
				}
				p := text.Pos(sp.off + i)
				if got := []rune(file.src.line(p.Line)); p.Col > len(got) || got[p.Col-1] != r {
					t.Fatalf("byte %d of %q (%q) maps to %v, line %q", sp.off+i, text.S, r, p, file.src.line(p.Line))
				}
			}
		}
	}
	for _, m := range set.Macros {
		check(m.Condition)
	}
	for _, r := range set.Rules {
		check(r.Condition)
		check(r.Output)
		for _, e := range r.Exceptions {
			check(e.Condition)
		}
		if dialect == DialectFalco {
			check(r.FalcoCondition())
		}
	}
}
