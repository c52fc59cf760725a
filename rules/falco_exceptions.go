package rules

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A Falco exception is data, not a condition: fields, comparison operators
// (comps) and rows of values. Falco turns each into condition text when it
// compiles the rule (rule_loader_compiler.cpp, build_rule_exception_infos)
// and evaluates "(condition) and not (exception) and not ...". This file
// builds the same text, byte for byte, with every byte that comes from the
// file mapped to it and the rest to the exception.

// fentry is one of an exception's fields, comps or values as written: a
// string, or a list of entries.
type fentry struct {
	list  bool
	text  Text
	items []fentry
	pos   Pos
}

// valid is Falco's test of a fields or comps entry: a non-empty string or
// a non-empty list.
func (e *fentry) valid() bool {
	return e != nil && (e.list && len(e.items) > 0 || !e.list && e.text.S != "")
}

// fexception is a Falco exception as written.
type fexception struct {
	name   string
	pos    Pos // of its name
	fields *fentry
	comps  *fentry
	values []fentry
}

// falcoExceptions reads a rule's exceptions. app is set for exceptions
// appended to an earlier rule's, which may give values alone.
func (r *reader) falcoExceptions(label string, f field, app bool) []*fexception {
	n := deref(f.val)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.errorf(r.pos(f.val), label, CodeBadType, "exceptions must be a list of mappings with a name, fields, comps and values, not %s", describe(n))
		return nil
	}
	var out []*fexception
	for _, e := range n.Content {
		m := deref(e)
		if m.Kind != yaml.MappingNode {
			r.errorf(r.pos(e), label, CodeBadType, "an exception must be a mapping with a name, fields, comps and values, not %s", describe(m))
			continue
		}
		ex := &fexception{pos: r.pos(m)}
		prefix, nerrs := "exception: ", len(r.errs)
		if g := lookup(r, m, "name"); g != nil {
			if v := deref(g.val); v.Kind == yaml.ScalarNode && !isNull(v) && v.Value != "" {
				prefix, ex.name, ex.pos = fmt.Sprintf("exception %q: ", v.Value), v.Value, r.pos(g.val)
			} else if v.Kind == yaml.ScalarNode {
				r.errorf(r.pos(g.val), label, CodeEmpty, "exception name is empty")
			} else {
				r.errorf(r.pos(g.val), label, CodeBadType, "exception name must be a string, not %s", describe(v))
			}
		} else {
			r.errorf(r.pos(m), label, CodeMissingKey, "exception: missing required key \"name\"")
		}
		hasValues := false
		for _, g := range r.fields(m, label, prefix, CodeUnknownKey, []string{"name", "fields", "comps", "values"}) {
			switch g.key {
			case "fields", "comps":
				v := r.fentry(label, prefix+g.key, g.val, 1)
				if g.key == "fields" {
					ex.fields = &v
				} else {
					ex.comps = &v
				}
			case "values":
				hasValues = true
				v := deref(g.val)
				if v.Kind != yaml.SequenceNode {
					r.errorf(r.pos(g.val), label, CodeBadType, "%svalues must be a list, not %s", prefix, describe(v))
					continue
				}
				for i, e := range v.Content {
					ex.values = append(ex.values, r.fentry(label, fmt.Sprintf("%svalue %d", prefix, i+1), e, 2))
				}
			}
		}
		if ex.fields == nil && !app {
			r.errorf(ex.pos, label, CodeMissingKey, "%smissing required key \"fields\"", prefix)
		}
		if !hasValues && app {
			r.warnf(ex.pos, label, CodeAppendNoValues, "%sappended without values: it changes nothing", prefix)
		}
		if len(r.errs) > nerrs {
			continue
		}
		for _, o := range out {
			if o.name == ex.name {
				r.warnf(ex.pos, label, CodeExceptionName, "exception %q is also defined at line %d of this rule; Falco keeps both", ex.name, o.pos.Line)
				break
			}
		}
		out = append(out, ex)
	}
	return out
}

// fentry reads a string or a list (of lists, depth times) of strings.
func (r *reader) fentry(label, what string, n *yaml.Node, depth int) fentry {
	v := deref(n)
	e := fentry{pos: r.pos(n)}
	switch {
	case v.Kind == yaml.ScalarNode && !isNull(v) && v.Value != "":
		e.text = r.text(v)
	case v.Kind == yaml.SequenceNode && depth > 0:
		e.list = true
		for i, c := range v.Content {
			e.items = append(e.items, r.fentry(label, fmt.Sprintf("%s, item %d", what, i+1), c, depth-1))
		}
	default:
		shape := "a string"
		if depth > 0 {
			shape = "a string or a list"
		}
		got := describe(v)
		if v.Kind == yaml.ScalarNode && !isNull(v) {
			got = "an empty string"
		}
		r.errorf(e.pos, label, CodeBadType, "%s must be %s, not %s", what, shape, got)
	}
	return e
}

// Falco's comparison operators (libsinsp filter parser), and those that
// take a list.
var (
	falcoOperators = []string{"exists", "<=", "<", ">=", ">", "==", "=", "!=", "glob", "iglob", "contains", "icontains",
		"bcontains", "startswith", "bstartswith", "endswith", "regex", "intersects", "in", "pmatch"}
	falcoListOperators = []string{"intersects", "in", "pmatch"}
)

// validate checks an exception as Falco's collector does when a rule is
// defined or an exception added, and gives comps their defaults: "=" for
// each of a list of fields, "in" for a single field.
func (c *collector) validate(it *item, ex *fexception) bool {
	fail := func(pos Pos, format string, args ...any) bool {
		c.errorf(it, pos, CodeBadException, "exception %q: "+format, append([]any{ex.name}, args...)...)
		return false
	}
	if !ex.fields.valid() {
		return fail(ex.pos, "fields must be a field name or a list of field names")
	}
	if ex.fields.list {
		if ex.comps == nil {
			ex.comps = &fentry{list: true, pos: ex.pos}
			for range ex.fields.items {
				ex.comps.items = append(ex.comps.items, fentry{text: TextAt("=", ex.pos), pos: ex.pos})
			}
		}
		if !ex.comps.list || len(ex.comps.items) != len(ex.fields.items) {
			return fail(ex.comps.pos, "fields and comps must be lists of the same length (%d fields, %s)", len(ex.fields.items), count(ex.comps, "comp"))
		}
		for _, f := range ex.fields.items {
			if f.list {
				return fail(f.pos, "fields must be field names, not lists")
			}
		}
		for _, o := range ex.comps.items {
			if o.list || !slices.Contains(falcoOperators, o.text.S) {
				return fail(o.pos, "%s is not a comparison operator; use one of %s", describeEntry(o), strings.Join(falcoOperators, " "))
			}
		}
		return true
	}
	if ex.comps == nil {
		ex.comps = &fentry{text: TextAt("in", ex.pos), pos: ex.pos}
	}
	if ex.comps.list {
		return fail(ex.comps.pos, "with a single field, comps must be a single operator too")
	}
	if !slices.Contains(falcoListOperators, ex.comps.text.S) {
		return fail(ex.comps.pos, "with a single field, comps must be in, pmatch or intersects, not %q", ex.comps.text.S)
	}
	return true
}

func count(e *fentry, what string) string {
	switch {
	case !e.list:
		return "one " + what
	case len(e.items) == 1:
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", len(e.items), what)
}

func describeEntry(e fentry) string {
	if e.list {
		return "a list"
	}
	return fmt.Sprintf("%q", e.text.S)
}

// build returns the condition Falco builds for ex, the text it negates:
// "(field comp (v1, v2))" for a single field, and for a list of fields
// "(( f1 c1 v1 and  f2 c2 v2) or ( ...))", spaces and all, one
// parenthesised row per values entry. Without values it is empty.
func (c *collector) build(it *item, ex *fexception) (Text, bool) {
	at := func(s string) Text { return TextAt(s, ex.pos) }
	fail := func(pos Pos, format string, args ...any) (Text, bool) {
		c.errorf(it, pos, CodeBadException, "exception %q: "+format, append([]any{ex.name}, args...)...)
		return Text{}, false
	}
	var parts []Text
	if !ex.fields.list {
		for i, v := range ex.values {
			if v.list {
				return fail(v.pos, "with a single field, values must be a list of strings, and value %d is a list", i+1)
			}
			if i == 0 {
				parts = append(parts, at("("), ex.fields.text, at(" "), ex.comps.text, at(" ("))
			} else {
				parts = append(parts, at(", "))
			}
			parts = append(parts, quoteItem(v.text))
		}
		if len(parts) > 0 {
			parts = append(parts, at("))"))
		}
		return joinText(parts...), true
	}
	if len(ex.values) == 0 {
		return Text{}, true
	}
	parts = append(parts, at("("))
	for i, row := range ex.values {
		if !row.list || len(row.items) != len(ex.fields.items) {
			got := count(&row, "value")
			if !row.list {
				got = "a string"
			}
			return fail(row.pos, "value %d must be a list of %d values, one for each field, not %s", i+1, len(ex.fields.items), got)
		}
		if i > 0 {
			parts = append(parts, at(" or "))
		}
		parts = append(parts, at("("))
		for k, f := range ex.fields.items {
			if k > 0 {
				parts = append(parts, at(" and "))
			}
			comp := ex.comps.items[k].text
			parts = append(parts, at(" "), f.text, at(" "), comp, at(" "))
			v := row.items[k]
			switch {
			case v.list:
				parts = append(parts, TextAt("(", v.pos))
				for j, e := range v.items {
					if e.list {
						return fail(e.pos, "value %d, item %d must be a string, not a list", i+1, k+1)
					}
					if j > 0 {
						parts = append(parts, TextAt(", ", e.pos))
					}
					parts = append(parts, quoteItem(e.text))
				}
				parts = append(parts, TextAt(")", v.pos))
			case slices.Contains(falcoListOperators, comp.S) && !strings.HasPrefix(v.text.S, "("):
				parts = append(parts, TextAt("(", v.pos), v.text, TextAt(")", v.text.Pos(len(v.text.S))))
			case slices.Contains(falcoListOperators, comp.S):
				parts = append(parts, v.text)
			default:
				parts = append(parts, quoteItem(v.text))
			}
		}
		parts = append(parts, at(")"))
	}
	parts = append(parts, at(")"))
	return joinText(parts...), true
}

// quoteItem is Falco's quote_item: a value with a space that does not
// start with a quote is put in double quotes (as it is: Falco does not
// escape quotes inside it).
func quoteItem(t Text) Text {
	if !strings.Contains(t.S, " ") || strings.HasPrefix(t.S, `"`) || strings.HasPrefix(t.S, "'") {
		return t
	}
	return joinText(TextAt(`"`, t.Pos(0)), t, TextAt(`"`, t.Pos(len(t.S))))
}

// mergeException applies an appended exception to a rule's exceptions:
// values join those of the exception of the same name, as in Falco; an
// exception of a new name is added and needs fields and values.
func (c *collector) mergeException(it *item, excs []*fexception, ex *fexception) []*fexception {
	for _, old := range excs {
		if old.name != ex.name {
			continue
		}
		switch {
		case ex.fields != nil:
			c.errorf(it, ex.fields.pos, CodeBadException, "exception %q is defined at %s: only values can be appended to it, not fields", ex.name, old.pos)
		case ex.comps != nil:
			c.errorf(it, ex.comps.pos, CodeBadException, "exception %q is defined at %s: only values can be appended to it, not comps", ex.name, old.pos)
		default:
			old.values = append(slices.Clip(old.values), ex.values...)
		}
		return excs
	}
	if len(ex.values) == 0 {
		c.errorf(it, ex.pos, CodeBadException, "exception %q is new to the rule, so it needs values", ex.name)
		return excs
	}
	if c.validate(it, ex) {
		excs = append(excs, ex)
	}
	return excs
}

// FalcoCondition returns the condition Falco evaluates for rule r:
// "(condition) and not exception and not ...", from exceptions that have
// values. It is the condition alone for a rule without exceptions, as in
// Falco.
func (r *Rule) FalcoCondition() Text {
	if len(r.Exceptions) == 0 {
		return r.Condition
	}
	at := r.Condition.Pos(0)
	parts := []Text{TextAt("(", at), r.Condition, TextAt(")", r.Condition.Pos(len(r.Condition.S)))}
	for _, e := range r.Exceptions {
		parts = append(parts, TextAt(" and not ", e.Pos), e.Condition)
	}
	return joinText(parts...)
}
