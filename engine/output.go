package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/falco"
	"github.com/vigil-project/vigil/rules"
)

// outputPart is literal text, or a field whose value is inserted.
type outputPart struct {
	lit   string
	field *event.Field
}

// parseOutput splits a template at Falco-style %field tokens; %% is a
// literal %. A list field takes an index, %proc.ancestors[1], as Falco's
// fields take an argument: a [ right after a field name always opens one.
// Unknown fields, an index that is not one, and a % that starts no field
// name (as in Falco, where it is an invalid token), are errors at their
// place in the rule file.
func (k *compilation) parseOutput(t rules.Text, item string, d rules.Dialect) ([]outputPart, []string, []*event.Field) {
	s := t.S
	var parts []outputPart
	var names []string
	var sources []*event.Field
	lit := strings.Builder{}
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\n' || c == '\r' {
			lit.WriteByte(' ') // folded YAML: one line per alert
			i++
			continue
		}
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			lit.WriteByte('%')
			i += 2
			continue
		}
		j := i + 1
		for j < len(s) && isFieldByte(s[j]) {
			j++
		}
		for j > i+1 && s[j-1] == '.' { // "%proc.name." ends a sentence
			j--
		}
		name := s[i+1 : j]
		if name == "" {
			k.lonePercent(t, i, item)
			i++
			continue
		}
		if d == rules.DialectFalco {
			arg, hasArg := "", false
			if j < len(s) && s[j] == '[' {
				if e := strings.IndexByte(s[j:], ']'); e > 0 {
					arg, hasArg = s[j+1:j+e], true
					j += e + 1
				}
			}
			f, err := falco.OutputField(name, arg, hasArg)
			if err != nil {
				k.errorf(t.Pos(i), item, rules.CodeOutput, "output names %v", err)
				i = j
				continue
			}
			if lit.Len() > 0 {
				parts = append(parts, outputPart{lit: lit.String()})
				lit.Reset()
			}
			parts = append(parts, outputPart{field: f})
			if !slices.Contains(names, f.Name) {
				names = append(names, f.Name)
				sources = append(sources, f)
			}
			i = j
			continue
		}
		f, ok := event.FieldByName(name)
		if !ok {
			msg := fmt.Sprintf("output names unknown field %%%s", name)
			if near := k.closest(name); near != "" {
				msg += fmt.Sprintf(" (did you mean %%%s?)", near)
			}
			k.errorf(t.Pos(i), item, rules.CodeOutput, "%s", msg)
			i = j
			continue
		}
		if j < len(s) && s[j] == '[' {
			var n int
			if f, n = k.indexed(t, f, j, item); f == nil {
				i = j + max(n, 1)
				continue
			}
			name, j = s[i+1:j+n], j+n
		}
		if lit.Len() > 0 {
			parts = append(parts, outputPart{lit: lit.String()})
			lit.Reset()
		}
		parts = append(parts, outputPart{field: f})
		if !slices.Contains(names, name) {
			names = append(names, name)
			sources = append(sources, f)
		}
		i = j
	}
	if lit.Len() > 0 {
		parts = append(parts, outputPart{lit: strings.TrimRight(lit.String(), " ")})
	}
	return parts, names, sources
}

// indexed is the element of list field f that the index at t.S[j] (a
// "[") names, %proc.ancestors[0] the parent: a string field that is ""
// when the list has no such element. n is the length of the index, with
// its brackets. A field that is not a list, or an index that is not a
// number from 0 in brackets, is an error at the "[" (nil, and n how far
// to skip).
func (k *compilation) indexed(t rules.Text, f *event.Field, j int, item string) (*event.Field, int) {
	s := t.S
	end := strings.IndexByte(s[j:], ']')
	if f.Kind != event.KindStrings {
		k.errorf(t.Pos(j), item, rules.CodeOutput, "%%%s is not a list: it takes no index (put a space before a [ that is text)", f.Name)
		return nil, end + 1
	}
	if end < 0 {
		k.errorf(t.Pos(j), item, rules.CodeOutput, "the index of %%%s is not closed with ]", f.Name)
		return nil, 1
	}
	idx := s[j+1 : j+end]
	n, err := strconv.Atoi(idx)
	if err != nil || n < 0 || strings.TrimLeft(idx, "0123456789") != "" {
		k.errorf(t.Pos(j), item, rules.CodeOutput, "the index of %%%s must be a number from 0, not %q", f.Name, idx)
		return nil, end + 1
	}
	if f.MaxItems > 0 && n >= f.MaxItems {
		k.errorf(t.Pos(j), item, rules.CodeOutput, "%%%s holds at most %d items, so [%d] is never there (the first is [0])", f.Name, f.MaxItems, n)
		return nil, end + 1
	}
	get := f.Strs
	return &event.Field{Name: f.Name + s[j:j+end+1], Kind: event.KindString, Types: f.Types, Desc: f.Desc,
		Str: func(e *event.Event) string {
			if l := get(e); n < len(l) {
				return l[n]
			}
			return ""
		}}, end + 1
}

// lonePercent reports the % at s[i], which starts no field name.
func (k *compilation) lonePercent(t rules.Text, i int, item string) {
	if strings.TrimSpace(t.S[i+1:]) == "" {
		k.errorf(t.Pos(i), item, rules.CodeOutput, "the output ends in a %% that starts no field name (write %%%% for a literal %%)")
		return
	}
	r, _ := utf8.DecodeRuneInString(t.S[i+1:])
	k.errorf(t.Pos(i), item, rules.CodeOutput, "%q starts no field name (write %%field, or %%%% for a literal %%)", "%"+string(r))
}

func isFieldByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// render fills a template for ev. Field values are in the text escape
// (event.AppendEscaped): nothing a process controls (paths, arguments,
// names) can add a line, a terminal escape sequence, a bidi control or
// invalid UTF-8 to an alert, and every byte is recoverable.
func render(parts []outputPart, ev *event.Event) string {
	var b []byte
	for _, p := range parts {
		if p.field == nil {
			b = append(b, p.lit...)
			continue
		}
		b = event.AppendValueText(b, p.field, ev)
	}
	return string(b)
}

// Rerender renders a's output again from its event, after the event was
// completed (container metadata that arrived late). A rule no longer in
// rs leaves the output as it was.
func (rs *Ruleset) Rerender(a *event.Alert) {
	for _, r := range rs.Rules {
		if r.Name == a.Rule {
			a.Output = render(r.output, a.Event)
			return
		}
	}
}
