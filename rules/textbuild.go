package rules

// TextBuilder builds a Text from written pieces, each placed at a position
// of the rules files: a translator (package falco writes CEL from Falco
// conditions) keeps every error of the text it writes at the place in the
// file that the written piece came from.
type TextBuilder struct {
	s     []byte
	spans []span
}

// WriteAt appends s, every byte of it placed at p.
func (b *TextBuilder) WriteAt(s string, p Pos) {
	if s == "" {
		return
	}
	if n := len(b.spans); n == 0 || b.spans[n-1].pos != p || b.spans[n-1].verbatim {
		b.spans = append(b.spans, span{off: len(b.s), pos: p})
	}
	b.s = append(b.s, s...)
}

// Len is the length of the text written so far.
func (b *TextBuilder) Len() int { return len(b.s) }

// Text returns the text written so far.
func (b *TextBuilder) Text() Text {
	return Text{S: string(b.s), spans: append([]span(nil), b.spans...)}
}

// TextAt is s with every byte placed at p.
func TextAt(s string, p Pos) Text {
	var b TextBuilder
	b.WriteAt(s, p)
	return b.Text()
}
