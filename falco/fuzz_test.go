package falco

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It must not panic; an error
// must be an *Error pointing into the input; a parsed condition must have
// its offsets inside the input, and print with Format to a condition that
// parses to the same tree and prints the same again.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Off < 0 || e.Off > len(s) || e.Msg == "" || n != nil {
				t.Fatalf("Parse(%q) = %v, %#v", s, n, err)
			}
			return
		}
		checkOffsets(t, s, n)
		text := Format(n)
		n2, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) = %s, which does not parse: %v", s, text, err)
		}
		if a, b := noOffsets(n), noOffsets(n2); !reflect.DeepEqual(a, b) {
			t.Fatalf("Parse(%q) = %s, which parses to %s", s, dump(a), dump(b))
		}
		if again := Format(n2); again != text {
			t.Fatalf("Parse(%q) prints as %s, then as %s", s, text, again)
		}
	})
}

// checkOffsets checks that every offset of n lies in s, and that names
// and bare texts are found at their offsets.
func checkOffsets(t *testing.T, s string, n Node) {
	t.Helper()
	span := func(what string, off, end int) {
		if off < 0 || end < off || end > len(s) {
			t.Fatalf("%q: %s spans [%d, %d)", s, what, off, end)
		}
	}
	at := func(what string, off int, text string) {
		if off < 0 || off+len(text) > len(s) || s[off:off+len(text)] != text {
			t.Fatalf("%q: %s %q not at offset %d", s, what, text, off)
		}
	}
	field := func(f *Field) {
		span("field", f.Off, f.End)
		at("field name", f.NameOff, f.Name)
		if f.HasArg && !f.ArgQuote {
			at("field argument", f.ArgOff, f.Arg)
		}
	}
	value := func(v *Value) {
		span("value", v.Off, v.End)
		if v.Field != nil {
			field(v.Field)
		} else if !v.Quoted {
			at("value", v.Off, v.Text)
		}
	}
	switch n := n.(type) {
	case *And:
		span("and", n.Off, n.Off)
		for _, x := range n.Terms {
			checkOffsets(t, s, x)
		}
	case *Or:
		span("or", n.Off, n.Off)
		for _, x := range n.Terms {
			checkOffsets(t, s, x)
		}
	case *Not:
		at("not", n.Off, "not")
		checkOffsets(t, s, n.X)
	case *Ident:
		at("identifier", n.Off, n.Name)
	case *Check:
		field(&n.Field)
		if n.Off != n.Field.Off {
			t.Fatalf("%q: check at %d, its field at %d", s, n.Off, n.Field.Off)
		}
		if n.Value != nil {
			value(n.Value)
		}
		if n.List != nil {
			span("list", n.List.Off, n.List.End)
			for i := range n.List.Items {
				value(&n.List.Items[i])
			}
			if n.List.Ref != "" {
				at("list name", n.List.RefOff, n.List.Ref)
			}
			if n.List.Field != nil {
				field(n.List.Field)
			}
		}
	default:
		t.Fatalf("%q: unknown node %T", s, n)
	}
}

// noOffsets returns a copy of n with every offset zero.
func noOffsets(n Node) Node {
	field := func(f Field) Field {
		f.Off, f.End, f.NameOff, f.ArgOff = 0, 0, 0, 0
		return f
	}
	value := func(v Value) Value {
		v.Off, v.End = 0, 0
		if v.Field != nil {
			f := field(*v.Field)
			v.Field = &f
		}
		return v
	}
	terms := func(ns []Node) []Node {
		out := make([]Node, len(ns))
		for i, x := range ns {
			out[i] = noOffsets(x)
		}
		return out
	}
	switch n := n.(type) {
	case *And:
		return &And{Terms: terms(n.Terms)}
	case *Or:
		return &Or{Terms: terms(n.Terms)}
	case *Not:
		return &Not{X: noOffsets(n.X)}
	case *Ident:
		return &Ident{Name: n.Name}
	case *Check:
		c := &Check{Field: field(n.Field), Op: n.Op}
		if n.Value != nil {
			v := value(*n.Value)
			c.Value = &v
		}
		if n.List != nil {
			l := &List{Ref: n.List.Ref}
			if n.List.Items != nil {
				l.Items = make([]Value, len(n.List.Items))
				for i, v := range n.List.Items {
					l.Items[i] = value(v)
				}
			}
			if n.List.Field != nil {
				f := field(*n.List.Field)
				l.Field = &f
			}
			c.List = l
		}
		return c
	}
	return n
}
