package falco

import (
	"fmt"
	"strings"
)

// maxDepth is how deeply parentheses, not(...), transformers and val()
// may nest. Falco counts its recursive calls, about five per parenthesis,
// against 100 (1000 in its rule loader); here each level counts once, so
// every condition Falco's default accepts is accepted, and the stack
// stays small whatever the input.
const maxDepth = 100

// Error is a syntax error in a condition.
type Error struct {
	Off int // byte offset of the problem in the condition
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("offset %d: %s", e.Off, e.Msg) }

// Operators, in the order Falco tries them: a longer operator comes before
// the shorter one it starts with.
var (
	numOps  = []string{"<=", "<", ">=", ">"}
	symOps  = []string{"==", "=", "!="}
	wordOps = []string{"glob", "iglob", "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "regex"}
	listOps = []string{"intersects", "in", "pmatch"}
)

// allOps is the operator list shown when none is found.
const allOps = "exists, =, ==, !=, <, <=, >, >=, contains, icontains, bcontains, startswith, bstartswith, endswith, glob, iglob, regex, in, intersects, pmatch"

// transformers are the field transformers whose argument is one field.
// Falco's join takes several arguments, which the AST cannot hold.
var transformers = []string{"tolower", "toupper", "b64", "basename", "len"}

// unsupportedTransformers are Falco transformers vigil rejects by name.
var unsupportedTransformers = []string{"join"}

type parser struct {
	s     string
	pos   int
	depth int
	last  string // the last token taken, for "after ..." in messages
}

// Parse parses a Falco condition. On error it returns an *Error.
func Parse(s string) (Node, error) {
	if skipBlanks(s, 0) == len(s) {
		return nil, &Error{Off: 0, Msg: "empty condition"}
	}
	p := &parser{s: s}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.pos = skipBlanks(s, p.pos); p.pos < len(s) {
		return nil, p.trailing()
	}
	return n, nil
}

// ParseListItem parses one list item as written in a Falco YAML list
// (items:). Falco pastes items into conditions as text, so an item that
// is one quoted string is unquoted and unescaped, like
// '"sh -c uname -p 2> /dev/null"'; an item with a space is quoted by
// Falco, so its escapes are resolved too. Anything else is taken as is.
// It returns the text and whether it was a quoted string.
func ParseListItem(s string) (string, bool) {
	q := s
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		if !strings.Contains(s, " ") {
			return s, false
		}
		q = `"` + s + `"`
	}
	if scanQuoted(q, 0) != len(q) {
		return s, false
	}
	text, _, msg := unquote(q)
	if msg != "" {
		return s, false
	}
	return text, true
}

// take consumes the input up to j as one token.
func (p *parser) take(j int) {
	p.last = p.s[p.pos:j]
	p.pos = j
}

func (p *parser) blanks() { p.pos = skipBlanks(p.s, p.pos) }

func (p *parser) at(prefix string) bool { return strings.HasPrefix(p.s[p.pos:], prefix) }

func (p *parser) errAt(off int, format string, args ...any) *Error {
	return &Error{Off: off, Msg: fmt.Sprintf(format, args...)}
}

// expected reports that what is missing at the cursor, after the last
// token, and says what is there instead.
func (p *parser) expected(what string) *Error {
	msg := "expected " + what
	if p.last != "" {
		msg += " after " + shortTok(p.last)
	}
	return &Error{Off: p.pos, Msg: msg + p.found()}
}

// found names the token at the cursor, with a hint when it is a CEL or C
// operator that Falco spells as a word.
func (p *parser) found() string {
	if p.pos >= len(p.s) {
		return ", found end of condition"
	}
	tok := p.tokenAt(p.pos)
	return ", found " + shortTok(tok) + celHint(tok)
}

func celHint(tok string) string {
	switch tok {
	case "&&":
		return " (write 'and' instead of '&&')"
	case "||":
		return " (write 'or' instead of '||')"
	case "!":
		return " (write 'not' instead of '!')"
	}
	return ""
}

// tokenAt returns a short piece of the input at i to show in a message.
func (p *parser) tokenAt(i int) string {
	rest := p.s[i:]
	for _, op := range []string{"&&", "||", "==", "!=", "<=", ">="} {
		if strings.HasPrefix(rest, op) {
			return op
		}
	}
	if strings.ContainsRune("()[],=!<>&|\"'", rune(rest[0])) {
		return rest[:1]
	}
	j := 0
	for j < len(rest) && !isLexSpace(rest[j]) && !strings.ContainsRune("()[],=!<>&|\"'", rune(rest[j])) {
		j++
	}
	if j == 0 {
		j = 1
	}
	return rest[:j]
}

// shortTok quotes a token for a message, cut to a readable length.
func shortTok(t string) string {
	if len(t) > 40 {
		t = t[:37] + "..."
	}
	return quoteTok(t)
}

// trailing reports input left after a complete condition.
func (p *parser) trailing() *Error {
	if p.at(")") {
		return p.errAt(p.pos, "unexpected ')' without a matching '('")
	}
	tok := p.tokenAt(p.pos)
	return p.errAt(p.pos, "unexpected %s after %s, expected 'and', 'or' or the end of the condition%s",
		shortTok(tok), shortTok(p.last), celHint(tok))
}

// push enters one nesting level at off.
func (p *parser) push(off int) *Error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(off, "exceeded max depth limit of %d", maxDepth)
	}
	return nil
}

func (p *parser) parseOr() (Node, *Error) {
	return p.parseChain("or", p.parseAnd, func(off int, terms []Node) Node { return &Or{Off: off, Terms: terms} })
}

func (p *parser) parseAnd() (Node, *Error) {
	return p.parseChain("and", p.parseNot, func(off int, terms []Node) Node { return &And{Off: off, Terms: terms} })
}

// parseChain parses terms joined by the keyword kw. As in Falco, the
// keyword needs a blank or '(' after it, so "a and(b)" is a and b.
func (p *parser) parseChain(kw string, term func() (Node, *Error), mk func(int, []Node) Node) (Node, *Error) {
	p.blanks()
	start := p.pos
	first, err := term()
	if err != nil {
		return nil, err
	}
	terms := []Node{first}
	for {
		p.blanks()
		if !p.at(kw) {
			break
		}
		p.take(p.pos + len(kw))
		var t Node
		switch {
		case p.pos < len(p.s) && isLexBlank(p.s[p.pos]):
			t, err = term()
		case p.at("("):
			open := p.pos
			p.take(p.pos + 1)
			t, err = p.parseEmbedded(open)
		case p.pos == len(p.s):
			err = p.expected("a condition")
		default:
			err = p.expected("a blank or '('")
		}
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return mk(start, terms), nil
}

// parseNot parses a term with its leading 'not's. Each 'not' needs a
// blank after it, or is written not(...).
func (p *parser) parseNot() (Node, *Error) {
	p.blanks()
	start := p.pos
	neg := false
	for {
		j := scanNotBlank(p.s, p.pos)
		if j == p.pos {
			break
		}
		neg = !neg
		p.last = "not"
		p.pos = j
	}
	var x Node
	var err *Error
	if p.at("not(") {
		neg = !neg
		open := p.pos
		p.take(p.pos + 4)
		x, err = p.parseEmbedded(open)
	} else {
		x, err = p.parseCheck()
	}
	if err != nil {
		return nil, err
	}
	if neg {
		return &Not{Off: start, X: x}, nil
	}
	return x, nil
}

// parseEmbedded parses the rest of a parenthesised condition whose '('
// at open was taken.
func (p *parser) parseEmbedded(open int) (Node, *Error) {
	if err := p.push(open); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.blanks()
	if !p.at(")") {
		return nil, p.expected("')'")
	}
	p.take(p.pos + 1)
	return x, nil
}

// parseCheck parses a parenthesised condition, a field check or a macro
// name, tried in Falco's order.
func (p *parser) parseCheck() (Node, *Error) {
	p.blanks()
	start := p.pos
	if p.at("(") {
		p.take(p.pos + 1)
		return p.parseEmbedded(start)
	}
	if j := scanFieldName(p.s, p.pos); j > p.pos {
		f, err := p.parseField(j)
		if err != nil {
			return nil, err
		}
		return p.parseCondition(f)
	}
	if p.transformerAt() != "" {
		f, err := p.parseTransformed()
		if err != nil {
			return nil, err
		}
		return p.parseCondition(f)
	}
	if err := p.unsupportedTransformer(); err != nil {
		return nil, err
	}
	if j := scanIdent(p.s, p.pos); j > p.pos {
		switch name := p.s[p.pos:j]; name {
		case "not":
			// 'not' at the end, or before a byte that is not a
			// blank: Falco takes it for a macro name.
			p.take(j)
			p.blanks()
			return nil, p.expected("a field check, a macro name or '('")
		case "and", "or":
			return nil, p.expected("a field check, a macro name or '('")
		default:
			p.take(j)
			return &Ident{Off: start, Name: name}, nil
		}
	}
	return nil, p.expected("a field check, a macro name or '('")
}

// transformerAt returns the name of the field transformer written at the
// cursor, "name(" without blanks, or "".
func (p *parser) transformerAt() string {
	for _, t := range transformers {
		if p.at(t + "(") {
			return t
		}
	}
	return ""
}

func (p *parser) unsupportedTransformer() *Error {
	for _, t := range unsupportedTransformers {
		if p.at(t + "(") {
			return p.errAt(p.pos, "the '%s' field transformer is not supported", t)
		}
	}
	return nil
}

// parseField parses a field whose name ends at j, and its [argument].
func (p *parser) parseField(j int) (Field, *Error) {
	f := Field{Off: p.pos, NameOff: p.pos, Name: p.s[p.pos:j], End: j}
	p.take(j)
	if !p.at("[") {
		return f, nil
	}
	p.take(p.pos + 1)
	f.HasArg, f.ArgOff = true, p.pos
	if p.at(`"`) || p.at("'") {
		text, err := p.quoted()
		if err != nil {
			return f, err
		}
		f.Arg, f.ArgQuote = text, true
	} else {
		k := scanFieldArgBare(p.s, p.pos)
		if k == p.pos {
			return f, p.expected("a field argument")
		}
		f.Arg = p.s[p.pos:k]
		p.take(k)
	}
	if !p.at("]") {
		return f, p.expected("']'")
	}
	p.take(p.pos + 1)
	f.End = p.pos
	p.last = p.s[f.Off:f.End]
	return f, nil
}

// quoted takes the quoted string at the cursor and returns its text.
func (p *parser) quoted() (string, *Error) {
	j := scanQuoted(p.s, p.pos)
	if j < 0 {
		msg := "unterminated quoted string"
		if q := p.s[p.pos]; strings.Contains(p.s[p.pos+1:], `\\`+string(q)) {
			msg += ` (a quote right after a backslash never ends a string in Falco, even after \\)`
		}
		return "", p.errAt(p.pos, "%s", msg)
	}
	text, k, msg := unquote(p.s[p.pos:j])
	if msg != "" {
		return "", p.errAt(p.pos+k, "%s", msg)
	}
	p.take(j)
	return text, nil
}

// parseTransformed parses a field inside one or more transformers, as in
// tolower(b64(fd.name)); the cursor is at the outermost transformer.
func (p *parser) parseTransformed() (Field, *Error) {
	start := p.pos
	var names []string
	defer func(depth int) { p.depth = depth }(p.depth)
	for t := p.transformerAt(); t != ""; t = p.transformerAt() {
		if err := p.push(p.pos); err != nil {
			return Field{}, err
		}
		names = append(names, t)
		p.take(p.pos + len(t) + 1)
		p.blanks()
	}
	if err := p.unsupportedTransformer(); err != nil {
		return Field{}, err
	}
	j := scanFieldName(p.s, p.pos)
	if j == p.pos {
		return Field{}, p.expected("a field")
	}
	f, err := p.parseField(j)
	if err != nil {
		return f, err
	}
	for i := len(names) - 1; i >= 0; i-- {
		p.blanks()
		if p.at(",") {
			return f, p.errAt(p.pos, "the '%s' field transformer takes one field", names[i])
		}
		if !p.at(")") {
			return f, p.expected("')' closing '" + names[i] + "('")
		}
		p.take(p.pos + 1)
	}
	f.Off, f.End, f.Transformers = start, p.pos, names
	return f, nil
}

// parseCondition parses the operator and value after the field f.
func (p *parser) parseCondition(f Field) (Node, *Error) {
	p.blanks()
	c := &Check{Off: f.Off, Field: f, OpOff: p.pos}
	if p.at("exists") {
		c.Op = "exists"
		p.take(p.pos + len(c.Op))
		return c, nil
	}
	var err *Error
	for _, op := range numOps {
		if p.at(op) {
			c.Op = op
			p.take(p.pos + len(op))
			c.Value, err = p.parseNumValue()
			return c, err
		}
	}
	for _, op := range symOps {
		if p.at(op) {
			c.Op = op
			if op == "==" {
				c.Op = "="
			}
			p.take(p.pos + len(op))
			c.Value, err = p.parseStrValue(true)
			return c, err
		}
	}
	for _, op := range wordOps {
		if p.at(op) {
			c.Op = op
			p.take(p.pos + len(op))
			if p.pos < len(p.s) && !isLexBlank(p.s[p.pos]) {
				return nil, p.expected("a blank")
			}
			c.Value, err = p.parseStrValue(true)
			return c, err
		}
	}
	for _, op := range listOps {
		if p.at(op) {
			c.Op = op
			p.take(p.pos + len(op))
			c.List, err = p.parseListValue()
			return c, err
		}
	}
	return nil, p.expected("an operator (one of " + allOps + ")")
}

// parseNumValue parses the value of <, <=, > or >=: a number, or a field
// in val() or a transformer.
func (p *parser) parseNumValue() (*Value, *Error) {
	p.blanks()
	if v, err := p.parseFieldValue(); v != nil || err != nil {
		return v, err
	}
	j := scanHex(p.s, p.pos)
	if j == p.pos {
		j = scanNumber(p.s, p.pos)
	}
	if j == p.pos {
		return nil, p.expected("a number")
	}
	v := &Value{Off: p.pos, End: j, Text: p.s[p.pos:j]}
	p.take(j)
	return v, nil
}

// parseStrValue parses a string value: quoted or bare, or (when fields
// are allowed, which they are not in lists) a field in val() or a
// transformer.
func (p *parser) parseStrValue(fields bool) (*Value, *Error) {
	p.blanks()
	if fields {
		if v, err := p.parseFieldValue(); v != nil || err != nil {
			return v, err
		}
	}
	start := p.pos
	if p.at(`"`) || p.at("'") {
		text, err := p.quoted()
		if err != nil {
			return nil, err
		}
		return &Value{Off: start, End: p.pos, Text: text, Quoted: true}, nil
	}
	j := scanBare(p.s, p.pos)
	if j == p.pos {
		return nil, p.expected("a value")
	}
	p.take(j)
	return &Value{Off: start, End: j, Text: p.s[start:j]}, nil
}

// parseFieldValue parses val(field) or a transformer as a value; it
// returns nil and no error when there is neither at the cursor.
func (p *parser) parseFieldValue() (*Value, *Error) {
	start := p.pos
	if p.transformerAt() != "" {
		f, err := p.parseTransformed()
		if err != nil {
			return nil, err
		}
		return &Value{Off: start, End: p.pos, Field: &f}, nil
	}
	if err := p.unsupportedTransformer(); err != nil {
		return nil, err
	}
	if !p.at("val(") {
		return nil, nil
	}
	if err := p.push(p.pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.take(p.pos + 4)
	p.blanks()
	j := scanFieldName(p.s, p.pos)
	if j == p.pos {
		return nil, p.expected("a field")
	}
	f, err := p.parseField(j)
	if err != nil {
		return nil, err
	}
	p.blanks()
	if !p.at(")") {
		return nil, p.expected("')' closing 'val('")
	}
	p.take(p.pos + 1)
	return &Value{Off: start, End: p.pos, Field: &f}, nil
}

// parseListValue parses the value of in, intersects and pmatch: a list
// in parentheses, a field in val() or a transformer, or a list name.
func (p *parser) parseListValue() (*List, *Error) {
	p.blanks()
	start := p.pos
	if p.at("(") {
		p.take(p.pos + 1)
		l := &List{Off: start, Items: []Value{}}
		p.blanks()
		for !p.at(")") {
			v, err := p.parseStrValue(false)
			if err != nil {
				return nil, err
			}
			l.Items = append(l.Items, *v)
			p.blanks()
			if p.at(")") {
				break
			}
			if !p.at(",") {
				return nil, p.expected("',' or ')'")
			}
			// After a comma a value must follow: Falco rejects (a,).
			p.take(p.pos + 1)
			p.blanks()
			if p.at(")") {
				return nil, p.expected("a value")
			}
		}
		p.take(p.pos + 1)
		l.End = p.pos
		return l, nil
	}
	if v, err := p.parseFieldValue(); v != nil || err != nil {
		if err != nil {
			return nil, err
		}
		return &List{Off: v.Off, End: v.End, Field: v.Field}, nil
	}
	if j := scanIdent(p.s, p.pos); j > p.pos {
		p.take(j)
		return &List{Off: start, End: j, Ref: p.s[start:j], RefOff: start}, nil
	}
	return nil, p.expected("a list in parentheses or a list name")
}
