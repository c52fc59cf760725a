package rules

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Pos is a position in a rules file. Line and Col are 1-based; Col counts
// characters, not bytes, as YAML parsers and editors do.
type Pos struct {
	File      string
	Line, Col int
}

// String returns "file:line:col", or just the file when the line is unknown.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Text is a string from a rules file that remembers where each of its bytes
// came from, so that an error at some offset of a condition (found by the
// CEL compiler, say) can be reported at its line and column in the file,
// even for multi-line block scalars and conditions appended from another file.
type Text struct {
	S     string
	spans []span
}

// span maps S[off:] (up to the next span) to the file. A verbatim span is a
// run of bytes copied from one source line, so the column advances with
// them; other spans (escapes, folded line breaks, inserted parentheses) map
// all their bytes to one place.
type span struct {
	off      int
	pos      Pos
	verbatim bool
}

func (t Text) String() string { return t.S }

// Pos returns the file position of byte offset of t.S. An offset of
// len(t.S) is the position just after the text; offsets out of range are
// clamped. The zero Text has no position.
func (t Text) Pos(offset int) Pos {
	if len(t.spans) == 0 {
		return Pos{}
	}
	offset = max(0, min(offset, len(t.S)))
	i := sort.Search(len(t.spans), func(i int) bool { return t.spans[i].off > offset }) - 1
	sp := t.spans[max(i, 0)]
	p := sp.pos
	if sp.verbatim && offset > sp.off {
		// A block scalar's text ends in its line break: just after the
		// text is just after the last character on the line.
		p.Col += utf8.RuneCountInString(strings.TrimRight(t.S[sp.off:offset], "\r\n"))
	}
	return p
}

// appendText returns "(old) app": the parentheses keep the meaning old had
// on its own. The inserted bytes map to the nearest real byte.
func appendText(old, app Text) Text {
	n := len(old.S)
	t := Text{S: "(" + old.S + ") " + app.S}
	t.spans = append(t.spans, span{off: 0, pos: old.Pos(0)})
	for _, sp := range old.spans {
		sp.off++
		t.spans = append(t.spans, sp)
	}
	t.spans = append(t.spans,
		span{off: n + 1, pos: old.Pos(max(n-1, 0))},
		span{off: n + 2, pos: app.Pos(0)})
	for _, sp := range app.spans {
		sp.off += n + 3
		t.spans = append(t.spans, sp)
	}
	return t
}

// source is one rules file's bytes with an index of its lines.
type source struct {
	name   string
	data   []byte
	starts []int // byte offset of the start of each line
}

func newSource(name string, data []byte) *source {
	s := &source{name: name, data: bytes.TrimPrefix(data, []byte("\ufeff")), starts: []int{0}}
	for i := 0; i < len(s.data); i++ {
		if n := lineBreak(s.data[i:]); n > 0 && !bytes.HasPrefix(s.data[i:], []byte("\r\n")) {
			i += n - 1
			s.starts = append(s.starts, i+1)
		}
	}
	return s
}

// lineBreak returns the length of the line break b starts with, or 0.
// Like yaml.v3 (YAML 1.1), it counts NEL, LS and PS as line breaks, and
// a lone CR, so that lines are numbered as it numbers them.
func lineBreak(b []byte) int {
	switch {
	case len(b) == 0:
		return 0
	case b[0] == '\n' || b[0] == '\r':
		return 1
	case bytes.HasPrefix(b, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(b, []byte("\u2028")), bytes.HasPrefix(b, []byte("\u2029")):
		return 3
	}
	return 0
}

// line returns line n without its line ending, or "" if there is none.
func (s *source) line(n int) string {
	if n < 1 || n > len(s.starts) {
		return ""
	}
	line := s.data[s.starts[n-1]:]
	if n < len(s.starts) {
		line = s.data[s.starts[n-1]:s.starts[n]]
		for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			line = bytes.TrimSuffix(line, []byte(br))
		}
	}
	return string(bytes.TrimSuffix(line, []byte("\r")))
}

// pos returns the position of byte offset off.
func (s *source) pos(off int) Pos {
	off = max(0, min(off, len(s.data)))
	l := sort.Search(len(s.starts), func(i int) bool { return s.starts[i] > off }) - 1
	return Pos{File: s.name, Line: l + 1, Col: 1 + utf8.RuneCount(s.data[s.starts[l]:off])}
}

// offset returns the byte offset of a 1-based line and character column.
func (s *source) offset(line, col int) int {
	line = max(1, min(line, len(s.starts)))
	off := s.starts[line-1]
	for c := 1; c < col && off < len(s.data) && s.data[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(s.data[off:])
		off += size
	}
	return off
}

// text returns the value of scalar n as a Text. yaml.v3 gives only where a
// scalar starts, so its value is aligned with the source from there:
// bytes that match are verbatim; escapes, folded line breaks and
// indentation are accounted for by style.
func (s *source) text(n *yaml.Node) Text {
	start := s.offset(n.Line, n.Column)
	t := Text{S: n.Value}
	if n.Value == "" {
		t.spans = []span{{pos: s.pos(start)}}
		return t
	}
	offs, verbatim := align(s.data, n.Value, start, n.Style)
	// offs never decreases: find each span's position from the last one's
	// rather than from the start of its line every time.
	at, atOff := s.pos(offs[0]), offs[0]
	for i, off := range offs {
		if i > 0 && verbatim[i] && verbatim[i-1] && off == offs[i-1]+1 && lineBreak(s.data[offs[i-1]:]) == 0 {
			continue
		}
		for at.Line < len(s.starts) && s.starts[at.Line] <= off {
			at.Line++
			at.Col, atOff = 1, s.starts[at.Line-1]
		}
		at.Col += utf8.RuneCount(s.data[atOff:off])
		atOff = off
		t.spans = append(t.spans, span{off: i, pos: at, verbatim: verbatim[i]})
	}
	return t
}

// align returns, for each byte of the scalar value v, the offset in src it
// comes from and whether it is a verbatim copy. j is where yaml.v3 says the
// scalar starts. Anything it does not recognise maps to the current place,
// so the result is always on or near the right line.
func align(src []byte, v string, j int, style yaml.Style) ([]int, []bool) {
	offs, verbatim := make([]int, len(v)), make([]bool, len(v))
	block := style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	double := style&yaml.DoubleQuotedStyle != 0
	single := style&yaml.SingleQuotedStyle != 0
	// A node with an anchor or a tag starts at the first of them.
	for j < len(src) && (src[j] == '&' || src[j] == '!') {
		for j < len(src) && !isSpace(src[j]) {
			j++
		}
		for j < len(src) && isSpace(src[j]) {
			j++
		}
	}
	indent := 0
	switch {
	case block:
		// The content starts on the line after the | or > header.
		if nl := bytes.IndexByte(src[j:], '\n'); nl >= 0 {
			j += nl + 1
		} else {
			j = len(src)
		}
		indent = blockIndent(src[j:], v)
	case double || single:
		j++
	}
	i, lineStart := 0, block
	for i < len(v) && j < len(src) {
		if lineStart {
			for n := 0; n < indent && j < len(src) && src[j] == ' '; n++ {
				j++
			}
			lineStart = false
			continue
		}
		c, d := v[i], src[j]
		switch {
		case double && d == '\\':
			n, adv := unescape(src[j:])
			for ; n > 0 && i < len(v); n-- {
				offs[i] = j
				i++
			}
			j += adv
		case single && c == '\'' && d == '\'':
			// '' stands for one quote.
			offs[i] = j
			i++
			j += 2
		case c == d:
			offs[i], verbatim[i] = j, true
			i++
			j++
			lineStart = block && d == '\n'
		case d == '\n':
			if c == ' ' || c == '\n' {
				// A line break folded into a space, or the first of
				// several empty lines.
				offs[i] = j
				i++
			}
			j++
			lineStart = block
		case isSpace(d):
			j++
		default:
			// Something the value does not have (an unexpected token):
			// look a little further on the line for the byte.
			end := j + 16
			if nl := bytes.IndexByte(src[j:min(end, len(src))], '\n'); nl >= 0 {
				end = j + nl
			}
			if k := bytes.IndexByte(src[j:min(end, len(src))], c); k > 0 {
				j += k
			} else {
				offs[i] = j
				i++
			}
		}
	}
	for ; i < len(v); i++ {
		offs[i] = min(j, len(src))
	}
	return offs, verbatim
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// blockIndent is the indentation of a block scalar's content: that of its
// first non-blank line, less the spaces the value keeps at its start (only
// possible with an explicit indentation indicator).
func blockIndent(content []byte, v string) int {
	keep := -1
	for line := range bytes.SplitSeq([]byte(v), []byte("\n")) {
		if t := bytes.TrimLeft(line, " "); len(t) > 0 {
			keep = len(line) - len(t)
			break
		}
	}
	if keep < 0 {
		return 0
	}
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		if t := bytes.TrimSuffix(bytes.TrimLeft(line, " "), []byte("\r")); len(t) > 0 {
			return max(len(line)-len(t)-keep, 0)
		}
	}
	return 0
}

// unescape reads the escape sequence at the start of b (b[0] is '\') and
// returns how many bytes of the value it produces and how many bytes of
// source it takes.
func unescape(b []byte) (n, adv int) {
	if len(b) < 2 {
		return 0, len(b)
	}
	digits := 0
	switch b[1] {
	case '\n':
		return 0, 2 // an escaped line break joins the lines
	case '\r':
		if len(b) > 2 && b[2] == '\n' {
			return 0, 3
		}
		return 0, 2
	case 'N', '_': // U+0085, U+00A0
		return 2, 2
	case 'L', 'P': // U+2028, U+2029
		return 3, 2
	case 'x':
		digits = 2
	case 'u':
		digits = 4
	case 'U':
		digits = 8
	default:
		return 1, 2
	}
	var r rune
	adv = 2
	for ; adv < len(b) && adv < 2+digits; adv++ {
		h := b[adv]
		switch {
		case h >= '0' && h <= '9':
			r = r<<4 | rune(h-'0')
		case h|0x20 >= 'a' && h|0x20 <= 'f':
			r = r<<4 | rune(h|0x20-'a'+10)
		default:
			return 1, adv
		}
	}
	if n = utf8.RuneLen(r); n < 0 {
		n = utf8.RuneLen(utf8.RuneError)
	}
	return n, adv
}

// joinText concatenates parts, each byte keeping its position.
func joinText(parts ...Text) Text {
	var t Text
	var b strings.Builder
	for _, p := range parts {
		if p.S == "" {
			continue
		}
		off := b.Len()
		b.WriteString(p.S)
		for _, sp := range p.spans {
			sp.off += off
			t.spans = append(t.spans, sp)
		}
	}
	t.S = b.String()
	if len(t.spans) == 0 && len(parts) > 0 {
		t.spans = slices.Clone(parts[0].spans) // empty, but still somewhere
	}
	return t
}

// trimText returns t without leading and trailing white space (C's
// isspace, as Falco trims), each byte keeping its position.
func trimText(t Text) Text {
	isSpace := func(r rune) bool { return strings.ContainsRune(" \t\n\v\f\r", r) }
	start := len(t.S) - len(strings.TrimLeftFunc(t.S, isSpace))
	end := len(strings.TrimRightFunc(t.S, isSpace))
	if start == 0 && end == len(t.S) {
		return t
	}
	end = max(end, start)
	out := Text{S: t.S[start:end]}
	if len(t.spans) == 0 {
		return out
	}
	first := sort.Search(len(t.spans), func(i int) bool { return t.spans[i].off > start }) - 1
	first = max(first, 0)
	out.spans = append(out.spans, span{pos: t.Pos(start), verbatim: t.spans[first].verbatim})
	for _, sp := range t.spans[first+1:] {
		if sp.off >= end {
			break
		}
		sp.off -= start
		out.spans = append(out.spans, sp)
	}
	return out
}
