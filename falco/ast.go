package falco

import "strings"

// Node is a node of a parsed condition. Off is the byte offset in the
// condition string where the node starts (for errors).
type Node interface{ Offset() int }

// And is two or more terms joined by 'and'. A chain a and b and c is one
// And; a parenthesised And inside it stays a term of its own, as in Falco.
type And struct {
	Off   int
	Terms []Node
}

// Or is two or more terms joined by 'or', like And.
type Or struct {
	Off   int
	Terms []Node
}

// Not negates X. Off is where the first 'not' starts. An even number of
// 'not's in a row cancels out, as in Falco, and gives no Not.
type Not struct {
	Off int
	X   Node
}

// Ident is a bare identifier: a macro reference.
type Ident struct {
	Off  int
	Name string
}

// Check is a field compared with an operator.
type Check struct {
	Off   int
	Field Field  // the left side
	Op    string // canonical: "==" is "="; words are lower case
	OpOff int
	Value *Value // for the single-value operators; nil for exists and list operators
	List  *List  // for in, intersects, pmatch
}

// Field is a field, with its argument and the transformers applied to it.
type Field struct {
	// Off and End are the extent of the whole field: of its outermost
	// transformer when it has some, else of its name and argument.
	Off, End int
	NameOff  int    // where Name starts
	Name     string // "proc.aname"
	Arg      string // "2" for proc.aname[2]; unescaped if quoted
	HasArg   bool
	ArgOff   int  // where the argument starts (its quote, if quoted)
	ArgQuote bool // the argument was a quoted string
	// Transformers are outermost first: tolower(b64(fd.name)) gives
	// ["tolower", "b64"].
	Transformers []string
}

// Value is the right side of a single-value operator, or a list item.
type Value struct {
	Off, End int
	Text     string // unescaped (quoted) or as written (bare)
	Quoted   bool
	// Field is non-nil for val(field) (no transformers) or for a
	// transformer on the right side; Text is then "".
	Field *Field
}

// List is the right side of in, intersects and pmatch.
type List struct {
	Off, End int
	Items    []Value // for '(' ... ')'
	Ref      string  // for a bare Identifier list reference (no parentheses); Items nil
	RefOff   int
	// Field is non-nil when the right side is val(field) or a
	// transformer, which Falco's grammar allows; Items and Ref are empty.
	Field *Field
}

func (n *And) Offset() int   { return n.Off }
func (n *Or) Offset() int    { return n.Off }
func (n *Not) Offset() int   { return n.Off }
func (n *Ident) Offset() int { return n.Off }
func (n *Check) Offset() int { return n.Off }

func (n *And) String() string   { return Format(n) }
func (n *Or) String() string    { return Format(n) }
func (n *Not) String() string   { return Format(n) }
func (n *Ident) String() string { return Format(n) }
func (n *Check) String() string { return Format(n) }

// Format prints a node as a canonical Falco condition: single blanks, "="
// for "==", quoted strings in double quotes, and parentheses exactly where
// the tree needs them, so that Parse(Format(n)) gives n back (offsets
// aside).
func Format(n Node) string {
	var b strings.Builder
	formatNode(&b, n)
	return b.String()
}

func formatNode(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *Or:
		formatTerms(b, n.Terms, " or ", func(t Node) bool { _, ok := t.(*Or); return ok })
	case *And:
		formatTerms(b, n.Terms, " and ", func(t Node) bool {
			switch t.(type) {
			case *And, *Or:
				return true
			}
			return false
		})
	case *Not:
		b.WriteString("not ")
		switch n.X.(type) {
		case *Check, *Ident:
			formatNode(b, n.X)
		default:
			b.WriteByte('(')
			formatNode(b, n.X)
			b.WriteByte(')')
		}
	case *Ident:
		b.WriteString(n.Name)
	case *Check:
		formatField(b, &n.Field)
		b.WriteByte(' ')
		b.WriteString(n.Op)
		switch {
		case n.Value != nil:
			b.WriteByte(' ')
			formatValue(b, n.Value)
		case n.List != nil:
			b.WriteByte(' ')
			formatList(b, n.List)
		}
	}
}

func formatTerms(b *strings.Builder, terms []Node, sep string, paren func(Node) bool) {
	for i, t := range terms {
		if i > 0 {
			b.WriteString(sep)
		}
		if paren(t) {
			b.WriteByte('(')
			formatNode(b, t)
			b.WriteByte(')')
		} else {
			formatNode(b, t)
		}
	}
}

func formatField(b *strings.Builder, f *Field) {
	for _, t := range f.Transformers {
		b.WriteString(t)
		b.WriteByte('(')
	}
	b.WriteString(f.Name)
	if f.HasArg {
		b.WriteByte('[')
		if f.ArgQuote {
			b.WriteString(quoteText(f.Arg))
		} else {
			b.WriteString(f.Arg)
		}
		b.WriteByte(']')
	}
	b.WriteString(strings.Repeat(")", len(f.Transformers)))
}

func formatValue(b *strings.Builder, v *Value) {
	switch {
	case v.Field != nil && len(v.Field.Transformers) == 0:
		b.WriteString("val(")
		formatField(b, v.Field)
		b.WriteByte(')')
	case v.Field != nil:
		formatField(b, v.Field)
	case v.Quoted:
		b.WriteString(quoteText(v.Text))
	default:
		b.WriteString(v.Text)
	}
}

func formatList(b *strings.Builder, l *List) {
	switch {
	case l.Field != nil:
		formatValue(b, &Value{Field: l.Field})
	case l.Ref != "":
		b.WriteString(l.Ref)
	default:
		b.WriteByte('(')
		for i := range l.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			formatValue(b, &l.Items[i])
		}
		b.WriteByte(')')
	}
}
