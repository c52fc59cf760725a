package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-project/vigil/engine/event"
)

// Source is the content of one rules file, the name to report it by and
// its dialect.
type Source struct {
	Name    string
	Data    []byte
	Dialect Dialect
}

// File is one rules file after Read: its items in order, each with
// positions and the override it asks for.
type File struct {
	src   *source
	items []*item
	// broken is set when the YAML did not parse: items are missing, so
	// overrides of names it may define are not reported as undefined.
	broken   bool
	dialect  Dialect
	warnings Errors
}

// Name returns the name the file is reported by.
func (f *File) Name() string { return f.src.name }

// Warnings returns what Read found that does not stop the file from
// loading, in file order. Collect puts them in Set.Warnings.
func (f *File) Warnings() Errors { return f.warnings }

type kind uint8

const (
	kindList kind = iota + 1
	kindMacro
	kindRule
)

func (k kind) String() string { return [...]string{"", "list", "macro", "rule"}[k] }

// keys returns the keys an item of kind k may have besides its name and
// override, in the order messages list them.
func (k kind) keys() []string {
	switch k {
	case kindList:
		return []string{"items"}
	case kindMacro:
		return []string{"condition"}
	}
	return []string{"desc", "condition", "output", "priority", "tags", "enabled", "action", "enforce", "fallback", "exceptions", "i_understand"}
}

func (k kind) required() []string {
	switch k {
	case kindList:
		return []string{"items"}
	case kindMacro:
		return []string{"condition"}
	}
	return []string{"desc", "condition", "output", "priority"}
}

// canAppend reports whether override may append to key; every other key
// can only be replaced.
func canAppend(key string) bool {
	return key == "condition" || key == "exceptions" || key == "tags" || key == "items"
}

// item is one list, macro or rule item of a file: a definition, or a
// change to an earlier definition of the same name.
type item struct {
	kind     kind
	dialect  Dialect
	name     string
	pos      Pos
	keys     map[string]Pos    // the keys given, besides the name and override
	override map[string]string // key to "append" or "replace"; nil for a definition
	toggle   bool              // rule with enabled alone: a change without override
	bad      bool              // had errors: it is not applied

	items      []string
	condition  Text
	output     Text
	desc       string
	priority   event.Priority
	tags       []string
	enabled    bool
	action     Action
	enforce    bool
	fallback   Action
	exceptions []Exception
	understood []string

	// Falco's keys.
	source        string
	warnEvttypes  bool
	skipIfUnknown bool
	fexcs         []*fexception
}

func (it *item) label() string { return fmt.Sprintf("%s %q", it.kind, it.name) }

// field is one key and value of a mapping.
type field struct {
	key string
	pos Pos        // of the key
	val *yaml.Node // as written: may be an alias
}

type reader struct {
	src     *source
	dialect Dialect
	errs    Errors
	warns   Errors
	// once holds the warnings given once per file ("source k8s_audit").
	once map[string]bool
}

func (r *reader) errorf(pos Pos, item, code, format string, args ...any) {
	r.errs = append(r.errs, &Error{Pos: pos, Item: item, Code: code, Msg: fmt.Sprintf(format, args...), Line: r.src.line(pos.Line)})
}

func (r *reader) warnf(pos Pos, item, code, format string, args ...any) {
	r.warns = append(r.warns, &Error{Pos: pos, Item: item, Code: code, Msg: fmt.Sprintf(format, args...), Line: r.src.line(pos.Line)})
}

func (r *reader) pos(n *yaml.Node) Pos {
	return Pos{File: r.src.name, Line: max(n.Line, 1), Col: max(n.Column, 1)}
}

// Read parses one rules file and checks the syntax and shape of every
// item. On error it still returns the File, without the items that had
// errors, so that Collect can go on to report the errors of other files.
func Read(src Source) (*File, error) {
	r := &reader{src: newSource(src.Name, src.Data), dialect: src.Dialect, once: map[string]bool{}}
	f := &File{src: r.src, dialect: src.Dialect}
	if bytes.HasPrefix(r.src.data, []byte{0xfe, 0xff}) || bytes.HasPrefix(r.src.data, []byte{0xff, 0xfe}) {
		// yaml.v3 would decode it, but positions and snippets are in UTF-8.
		r.errorf(Pos{File: src.Name, Line: 1, Col: 1}, "", CodeYAML, "rules files must be UTF-8, and this one is UTF-16")
		f.broken = true
		return f, r.errs
	}
	if len(src.Data) > MaxFileBytes {
		r.errorf(Pos{File: src.Name, Line: 1, Col: 1}, "", CodeTooLarge, "the file is larger than %d MiB, the limit of a rules file", MaxFileBytes>>20)
		f.broken = true
		return f, r.errs
	}
	if !r.checkBytes() {
		f.broken = true
		return f, r.errs
	}
	dec := yaml.NewDecoder(bytes.NewReader(r.src.data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.yamlError(err)
			f.broken = true
			break
		}
		if !r.document(&doc, f) {
			break
		}
	}
	sort.SliceStable(r.warns, func(i, j int) bool { return before(r.warns[i].Pos, r.warns[j].Pos) })
	f.warnings = r.warns
	if len(r.errs) == 0 {
		return f, nil
	}
	sort.SliceStable(r.errs, func(i, j int) bool { return before(r.errs[i].Pos, r.errs[j].Pos) })
	return f, r.errs
}

func before(a, b Pos) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}

// yamlError reports a syntax error. yaml.v3 gives only a line, and not
// always that.
func (r *reader) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, m, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, m
			}
		}
	}
	col := 1
	if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok && line == 0 {
		name, _, _ = strings.Cut(name, "'")
		if i := bytes.Index(r.src.data, []byte("*"+name)); i >= 0 {
			p := r.src.pos(i)
			line, col = p.Line, p.Col
		}
	}
	if line == 0 && strings.Contains(msg, "end of stream") {
		line = len(r.src.starts)
		if line > 1 && r.src.line(line) == "" {
			line--
		}
	}
	line = max(1, min(line, len(r.src.starts)))
	r.errorf(Pos{File: r.src.name, Line: line, Col: col}, "", CodeYAML, "invalid YAML: %s", msg)
}

// document reads the items of one YAML document. It returns false if the
// rest of the file must not be read.
func (r *reader) document(doc *yaml.Node, f *File) bool {
	root := doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return true
		}
		root = doc.Content[0]
	}
	seq := deref(root)
	if isNull(seq) {
		return true
	}
	if seq.Kind != yaml.SequenceNode {
		r.errorf(r.pos(root), "", CodeBadType, "a rules file must be a list of items (- rule: ..., - macro: ..., - list: ...), not %s", describe(seq))
		return true
	}
	for _, n := range seq.Content {
		read := r.item
		if r.dialect == DialectFalco {
			read = r.falcoItem
		}
		it, ok := read(n)
		if !ok {
			return false
		}
		if it != nil {
			f.items = append(f.items, it)
		}
	}
	return true
}

// idKeys are the keys that say what an item is.
func idKeys() []string { return []string{"rule", "macro", "list", "required_engine_version"} }

// item reads one item. It returns false if the rest of the file must not
// be read (it needs a newer engine).
func (r *reader) item(n *yaml.Node) (*item, bool) {
	m := deref(n)
	if m.Kind != yaml.MappingNode {
		r.errorf(r.pos(n), "", CodeBadType, "an item must be a mapping such as \"rule: name\", not %s", describe(m))
		return nil, true
	}
	var id []field
	ids := idKeys()
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := deref(m.Content[i])
		if k.Kind != yaml.ScalarNode || !slices.Contains(ids, k.Value) ||
			slices.ContainsFunc(id, func(f field) bool { return f.key == k.Value }) {
			continue
		}
		id = append(id, field{key: k.Value, pos: r.pos(m.Content[i]), val: m.Content[i+1]})
	}
	switch {
	case len(id) == 0:
		pos, msg := r.pos(m), "item has none of the keys rule, macro, list and required_engine_version"
		if len(m.Content) > 0 {
			k := deref(m.Content[0])
			pos = r.pos(m.Content[0])
			if s := Suggest(k.Value, ids); s != "" && k.Kind == yaml.ScalarNode {
				msg += fmt.Sprintf("; did you mean %q instead of %q?", s, k.Value)
			}
		}
		r.errorf(pos, "", CodeBadItem, "%s", msg)
		return nil, true
	case len(id) > 1:
		r.errorf(id[1].pos, "", CodeBadItem, "item has both %q and %q keys; put each in an item of its own", id[0].key, id[1].key)
		return nil, true
	case id[0].key == "required_engine_version":
		r.fields(m, "", "", CodeUnknownKey, ids[3:])
		return nil, r.version(id[0], EngineVersion)
	}

	it := &item{pos: r.pos(id[0].val), keys: map[string]Pos{}}
	it.kind = map[string]kind{"rule": kindRule, "macro": kindMacro, "list": kindList}[id[0].key]
	nameNode := deref(id[0].val)
	if nameNode.Kind != yaml.ScalarNode {
		r.errorf(r.pos(id[0].val), "", CodeBadType, "%s name must be a string, not %s", it.kind, describe(nameNode))
		return nil, true
	}
	it.name = scalar(nameNode)
	if strings.TrimSpace(it.name) == "" {
		r.errorf(it.pos, "", CodeEmpty, "%s name is empty", it.kind)
		return nil, true
	}
	label, nerrs := it.label(), len(r.errs)
	known := append(append([]string{id[0].key}, it.kind.keys()...), "override")
	var override *field
	var given []string
	for _, f := range r.fields(m, label, "", CodeUnknownKey, known) {
		switch f.key {
		case id[0].key:
		case "override":
			override = &f
		default:
			it.keys[f.key] = f.pos
			given = append(given, f.key)
			r.value(it, label, f)
		}
	}
	switch {
	case override != nil:
		r.override(it, *override, given)
	case it.kind == kindRule && len(given) == 1 && given[0] == "enabled":
		it.toggle = true
		it.override = map[string]string{"enabled": "replace"}
	default:
		// A key that an unknown key looks like a typo of is not reported
		// missing as well.
		meant := map[string]bool{}
		for i := 0; i < len(m.Content); i += 2 {
			if k := deref(m.Content[i]); !slices.Contains(known, k.Value) {
				meant[Suggest(k.Value, known)] = true
			}
		}
		var missing []string
		for _, k := range it.kind.required() {
			if _, ok := it.keys[k]; !ok && !meant[k] {
				missing = append(missing, strconv.Quote(k))
			}
		}
		if len(missing) > 0 {
			s := ""
			if len(missing) > 1 {
				s = "s"
			}
			r.errorf(it.pos, label, CodeMissingKey, "missing required key%s %s", s, joinAnd(missing))
		}
		if _, ok := it.keys["enabled"]; !ok {
			it.enabled = true
		}
		if _, ok := it.keys["action"]; !ok {
			it.action = ActionAlert
		}
		if _, ok := it.keys["enforce"]; !ok {
			it.enforce = true
		}
	}
	it.bad = len(r.errs) > nerrs
	return it, true
}

// fields returns the fields of mapping m, reporting keys that are not
// strings, repeated, or not among known.
func (r *reader) fields(m *yaml.Node, label, prefix, code string, known []string) []field {
	var out []field
	seen := map[string]Pos{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := deref(m.Content[i])
		f := field{key: k.Value, pos: r.pos(m.Content[i]), val: m.Content[i+1]}
		if k.Kind != yaml.ScalarNode {
			r.errorf(f.pos, label, CodeBadType, "%skeys must be strings, not %s", prefix, describe(k))
			continue
		}
		if p, ok := seen[f.key]; ok {
			r.errorf(f.pos, label, CodeDuplicate, "%skey %q appears twice (first at line %d)", prefix, f.key, p.Line)
			continue
		}
		seen[f.key] = f.pos
		if !slices.Contains(known, f.key) {
			msg := fmt.Sprintf("%sunknown key %q", prefix, f.key)
			switch s := Suggest(f.key, known); {
			case f.key == "append" && slices.Contains(known, "override"):
				msg += "; to append, name the key in override, as in \"override: {condition: append}\""
			case s != "":
				msg += fmt.Sprintf("; did you mean %q?", s)
			default:
				msg += "; valid keys are " + joinAnd(known)
			}
			if r.dialect == DialectFalco && code == CodeUnknownKey {
				// Falco ignores keys it does not know.
				r.warnf(f.pos, label, code, "%s; it is ignored", msg)
				continue
			}
			r.errorf(f.pos, label, code, "%s", msg)
			continue
		}
		out = append(out, f)
	}
	return out
}

// value reads the value of one known key into it.
func (r *reader) value(it *item, label string, f field) {
	switch f.key {
	case "condition":
		it.condition = r.condition(label, "", f)
	case "output":
		if n, ok := r.scalar(label, f); ok {
			it.output = r.text(n)
		}
	case "desc":
		if n, ok := r.scalar(label, f); ok {
			it.desc = scalar(n)
		}
	case "items", "tags":
		s := r.stringList(label, f)
		if f.key == "items" {
			it.items = s
		} else {
			it.tags = s
		}
	case "priority":
		if n, ok := r.scalar(label, f); ok {
			s := scalar(n)
			p, ok := event.ParsePriority(strings.TrimSpace(s))
			if !ok {
				r.errorf(r.pos(f.val), label, CodeBadPriority, "unknown priority %q; %s", s, hint(s, priorityNames()))
			}
			it.priority = p
		}
	case "action":
		if n, ok := r.scalar(label, f); ok {
			s := scalar(n)
			a, ok := parseAction(strings.TrimSpace(s))
			if !ok {
				r.errorf(r.pos(f.val), label, CodeBadAction, "unknown action %q; %s", s, hint(s, []string{"alert", "deny", "kill"}))
			}
			it.action = a
		}
	case "enabled":
		it.enabled = r.boolean(label, f)
	case "enforce":
		it.enforce = r.boolean(label, f)
	case "fallback":
		if n, ok := r.scalar(label, f); ok {
			s := strings.TrimSpace(scalar(n))
			if s != string(ActionKill) {
				r.errorf(r.pos(f.val), label, CodeBadAction, "unknown fallback %q; the only fallback is kill (for a deny the kernel cannot make)", s)
			}
			it.fallback = ActionKill
		}
	case "exceptions":
		it.exceptions = r.exceptions(label, f)
	case "i_understand":
		it.understood = r.understood(label, f)
	}
}

// understood reads i_understand: one acknowledgement or a list of them.
func (r *reader) understood(label string, f field) []string {
	n := deref(f.val)
	var vals []string
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		vals = []string{n.Value}
	case n.Kind == yaml.SequenceNode:
		vals = r.stringList(label, f)
	default:
		r.errorf(r.pos(f.val), label, CodeBadType, "i_understand must be one of %s or a list of them, not %s", strings.Join(Acknowledgements, ", "), describe(n))
		return nil
	}
	for _, v := range vals {
		if !slices.Contains(Acknowledgements, v) {
			r.errorf(r.pos(f.val), label, CodeBadType, "unknown i_understand %q; %s", v, hint(v, Acknowledgements))
		}
	}
	return vals
}

// boolean returns f's value, which must be true or false.
func (r *reader) boolean(label string, f field) bool {
	n := deref(f.val)
	switch v := strings.ToLower(n.Value); {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" && (v == "true" || v == "false"):
		return v == "true"
	case n.Kind == yaml.ScalarNode && !isNull(n):
		r.errorf(r.pos(f.val), label, CodeBadType, "%s must be true or false, not %q", f.key, n.Value)
	default:
		r.errorf(r.pos(f.val), label, CodeBadType, "%s must be true or false, not %s", f.key, describe(n))
	}
	return false
}

// scalar returns f's value if it is a string (or number, or empty).
func (r *reader) scalar(label string, f field) (*yaml.Node, bool) {
	n := deref(f.val)
	if n.Kind != yaml.ScalarNode {
		r.errorf(r.pos(f.val), label, CodeBadType, "%s must be a string, not %s", f.key, describe(n))
		return nil, false
	}
	return n, true
}

// text returns scalar n as a Text.
func (r *reader) text(n *yaml.Node) Text {
	if isNull(n) {
		return Text{spans: []span{{pos: r.pos(n)}}}
	}
	return r.src.text(n)
}

func (r *reader) condition(label, prefix string, f field) Text {
	n, ok := r.scalar(label, f)
	if !ok {
		return Text{}
	}
	t := r.text(n)
	if strings.TrimSpace(t.S) == "" {
		r.errorf(r.pos(f.val), label, CodeEmpty, "%scondition is empty", prefix)
	}
	return t
}

func (r *reader) stringList(label string, f field) []string {
	n := deref(f.val)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.errorf(r.pos(f.val), label, CodeBadType, "%s must be a list of strings, not %s", f.key, describe(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, e := range n.Content {
		if d := deref(e); d.Kind != yaml.ScalarNode {
			r.errorf(r.pos(e), label, CodeBadType, "%s must be a list of strings, and item %d is %s", f.key, i+1, describe(d))
		} else if isNull(d) {
			// "items: [a, ~, b]" or a bare "-": an empty string here would
			// match empty names, which is never what was meant.
			r.errorf(r.pos(e), label, CodeBadType, "%s must be a list of strings, and item %d is empty (null); quote it (\"\") if an empty string is meant", f.key, i+1)
		} else {
			out = append(out, d.Value)
		}
	}
	return out
}

func (r *reader) exceptions(label string, f field) []Exception {
	n := deref(f.val)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.errorf(r.pos(f.val), label, CodeBadType, "exceptions must be a list of mappings with a name and a condition, not %s", describe(n))
		return nil
	}
	var out []Exception
	seen := map[string]Pos{}
	for _, e := range n.Content {
		m := deref(e)
		if m.Kind != yaml.MappingNode {
			r.errorf(r.pos(e), label, CodeBadType, "an exception must be a mapping with a name and a condition, not %s", describe(m))
			continue
		}
		var ex Exception
		var hasName, hasCond bool
		prefix, nerrs := "exception: ", len(r.errs)
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k, v := deref(m.Content[i]), deref(m.Content[i+1]); k.Value == "name" && v.Kind == yaml.ScalarNode && !isNull(v) {
				prefix = fmt.Sprintf("exception %q: ", v.Value)
				break
			}
		}
		for _, g := range r.fields(m, label, prefix, CodeUnknownKey, []string{"name", "condition"}) {
			if g.key == "condition" {
				hasCond = true
				ex.Condition = r.condition(label, prefix, g)
				continue
			}
			hasName, ex.Pos = true, r.pos(g.val)
			g.key = "exception name"
			if v, ok := r.scalar(label, g); ok {
				ex.Name = scalar(v)
				if strings.TrimSpace(ex.Name) == "" {
					r.errorf(ex.Pos, label, CodeEmpty, "exception name is empty")
				}
			}
		}
		switch {
		case !hasName:
			r.errorf(r.pos(m), label, CodeMissingKey, "%smissing required key \"name\"", prefix)
		case !hasCond:
			r.errorf(ex.Pos, label, CodeMissingKey, "%smissing required key \"condition\"", prefix)
		}
		if !hasName || !hasCond || len(r.errs) > nerrs {
			continue
		}
		if p, ok := seen[ex.Name]; ok {
			r.errorf(ex.Pos, label, CodeDuplicate, "exception %q is already defined at %s", ex.Name, p)
			continue
		}
		seen[ex.Name] = ex.Pos
		out = append(out, ex)
	}
	return out
}

// override reads the override mapping of it; given is the keys the item
// has besides its name, in order.
func (r *reader) override(it *item, f field, given []string) {
	label := it.label()
	it.override = map[string]string{}
	n := deref(f.val)
	if n.Kind != yaml.MappingNode {
		r.errorf(r.pos(f.val), label, CodeBadOverride, "override must be a mapping from keys to append or replace, not %s", describe(n))
		return
	}
	named := map[string]bool{}
	for _, o := range r.fields(n, label, "override: ", CodeBadOverride, it.kind.keys()) {
		named[o.key] = true
		v := deref(o.val)
		mode := v.Value
		switch {
		case v.Kind != yaml.ScalarNode || mode != "append" && mode != "replace":
			what := describe(v)
			if v.Kind == yaml.ScalarNode && !isNull(v) {
				what = strconv.Quote(v.Value)
			}
			modes := "append or replace"
			if !canAppend(o.key) {
				modes = "replace"
			}
			r.errorf(r.pos(o.val), label, CodeBadOverride, "override of %s must be %s, not %s", o.key, modes, what)
		case mode == "append" && !canAppend(o.key):
			r.errorf(r.pos(o.val), label, CodeBadOverride, "%s cannot be appended to, only replaced", o.key)
		case !slices.Contains(given, o.key):
			r.errorf(o.pos, label, CodeBadOverride, "override names %s, but the item has no %s", o.key, o.key)
		default:
			it.override[o.key] = mode
		}
	}
	for _, k := range given {
		if named[k] {
			continue
		}
		add := fmt.Sprintf("\"%s: replace\"", k)
		if canAppend(k) {
			add = fmt.Sprintf("\"%s: append\" or \"%s: replace\"", k, k)
		}
		r.errorf(it.keys[k], label, CodeBadOverride, "%s is not named in override; add %s to it", k, add)
	}
	if len(named) == 0 && len(n.Content) == 0 {
		r.errorf(r.pos(f.val), label, CodeBadOverride, "override is empty; name each key to change, with append or replace")
	}
}

// version checks a required_engine_version item against the version of
// the engine, engine. It returns false if the file needs a newer engine.
// Falco files may give an integer N, Falco's old form of 0.N.0.
func (r *reader) version(f field, engine string) bool {
	n := deref(f.val)
	if n.Kind != yaml.ScalarNode {
		r.errorf(r.pos(f.val), "", CodeBadType, "required_engine_version must be a string, not %s", describe(n))
		return true
	}
	want := n.Value
	if minor, err := strconv.ParseUint(want, 10, 32); err == nil && r.dialect == DialectFalco {
		want = fmt.Sprintf("0.%d.0", minor)
	}
	v, ok := parseVersion(want)
	if !ok {
		r.errorf(r.pos(f.val), "", CodeEngineVersion, "required_engine_version %q is not a version of the form MAJOR.MINOR.PATCH", n.Value)
		return true
	}
	have, _ := parseVersion(engine)
	if slices.Compare(v[:], have[:]) > 0 {
		what := "engine version"
		if r.dialect == DialectFalco {
			what = "Falco engine version"
		}
		r.errorf(r.pos(f.val), "", CodeEngineVersion, "these rules need %s %s or later, and this is %s; the rest of the file is skipped", what, want, engine)
		return false
	}
	return true
}

func parseVersion(s string) ([3]uint64, bool) {
	var v [3]uint64
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil || p == "" || p[0] == '+' || len(p) > 1 && p[0] == '0' {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for range 4 {
		if n.Kind != yaml.AliasNode || n.Alias == nil {
			break
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// scalar returns the string value of a scalar, "" for null.
func scalar(n *yaml.Node) string {
	if isNull(n) {
		return ""
	}
	return n.Value
}

// describe names the type of a node for messages: "must be X, not <describe>".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "an empty value"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	}
	return "an alias"
}

// priorityNames lists the priorities as rule files usually spell them.
func priorityNames() []string {
	var names []string
	for p := event.PriorityEmergency; p <= event.PriorityDebug; p++ {
		names = append(names, strings.ToLower(p.String()))
	}
	return names
}

// hint suggests the closest of valid to s, or lists them all.
func hint(s string, valid []string) string {
	if c := Suggest(strings.ToLower(s), valid); c != "" {
		return fmt.Sprintf("did you mean %q?", c)
	}
	return "use one of " + strings.Join(valid, ", ")
}

func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// Suggest returns the candidate closest to s, if one is close enough to
// be what was meant: a typo or two, or a prefix ("description" for desc).
// The engine uses it for field, list and macro names.
func Suggest(s string, candidates []string) string {
	if len(s) > 64 {
		return ""
	}
	best, bestD := "", 3
	for _, c := range candidates {
		d := distance(s, c)
		if min(len(s), len(c)) >= 4 && (strings.HasPrefix(s, c) || strings.HasPrefix(c, s)) {
			d = min(d, 1)
		}
		if d < bestD && d < len(s) {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
