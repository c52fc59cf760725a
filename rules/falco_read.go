package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-project/vigil/engine/event"
)

// The Falco dialect reads Falco's rules files as Falco's rule loader does
// (falcosecurity/falco, userspace/engine/rule_loader_reader.cpp): which
// item a mapping is, which keys each kind reads, which keys an override may
// append to or replace, and what a legacy "append: true" changes. Where
// Falco stops at the first error of a file, this reports every one it can;
// where Falco ignores a key, this warns.

// falcoIDKeys are the keys that say what an item is, in the order Falco
// looks for them: the first one present wins.
var falcoIDKeys = []string{"required_engine_version", "required_plugin_versions", "list", "macro", "rule"}

// falcoIgnored are the rule keys of Falco's schema that vigil accepts and
// does not use: capture and its limits ask Falco to save a capture file
// when the rule fires, which vigil does not do.
var falcoIgnored = []string{"capture", "capture_duration", "capture_events", "capture_filesize"}

// falcoKeys returns the keys an item of kind k reads besides its name.
func falcoKeys(k kind) []string {
	switch k {
	case kindList:
		return []string{"items", "append", "override"}
	case kindMacro:
		return []string{"condition", "append", "override"}
	}
	return append([]string{"desc", "condition", "output", "priority", "tags", "enabled", "exceptions", "source",
		"append", "override", "warn_evttypes", "skip-if-unknown-filter"}, falcoIgnored...)
}

// falcoOverridable returns the keys of kind k that an override may append
// to, and those it may replace.
func falcoOverridable(k kind) (app, repl []string) {
	switch k {
	case kindList:
		return []string{"items"}, []string{"items"}
	case kindMacro:
		return []string{"condition"}, []string{"condition"}
	}
	return []string{"condition", "output", "desc", "tags", "exceptions"},
		append([]string{"condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter"}, falcoIgnored...)
}

// falcoItem reads one item of a Falco file. It returns false if the rest
// of the file must not be read (it needs a newer engine).
func (r *reader) falcoItem(n *yaml.Node) (*item, bool) {
	m := deref(n)
	if isNull(m) {
		return nil, true // Falco skips empty items
	}
	if m.Kind != yaml.MappingNode {
		r.errorf(r.pos(n), "", CodeBadType, "an item must be a mapping such as \"rule: name\", not %s", describe(m))
		return nil, true
	}
	var id *field
	for _, k := range falcoIDKeys {
		if f := lookup(r, m, k); f != nil {
			id = f
			break
		}
	}
	if id == nil {
		pos := r.pos(m)
		if len(m.Content) > 0 {
			pos = r.pos(m.Content[0])
		}
		r.warnf(pos, "", CodeUnknownItem, "item has none of the keys rule, macro, list, required_engine_version and required_plugin_versions; it is ignored")
		return nil, true
	}
	switch id.key {
	case "required_engine_version":
		r.fields(m, "", "", CodeUnknownKey, []string{id.key})
		return nil, r.version(*id, FalcoEngineVersion)
	case "required_plugin_versions":
		r.fields(m, "", "", CodeUnknownKey, []string{id.key})
		r.plugins(*id)
		return nil, true
	}

	it := &item{pos: r.pos(id.val), keys: map[string]Pos{}, dialect: DialectFalco}
	it.kind = map[string]kind{"rule": kindRule, "macro": kindMacro, "list": kindList}[id.key]
	nameNode := deref(id.val)
	if nameNode.Kind != yaml.ScalarNode {
		r.errorf(r.pos(id.val), "", CodeBadType, "%s name must be a string, not %s", it.kind, describe(nameNode))
		return nil, true
	}
	it.name = scalar(nameNode)
	if strings.TrimSpace(it.name) == "" {
		r.errorf(it.pos, "", CodeEmpty, "%s name is empty", it.kind)
		return nil, true
	}
	label, nerrs := it.label(), len(r.errs)
	r.falcoName(it)
	fields := map[string]field{}
	for _, f := range r.fields(m, label, "", CodeUnknownKey, append([]string{id.key}, falcoKeys(it.kind)...)) {
		if f.key != id.key {
			fields[f.key] = f
		}
	}
	legacy := false
	if f, ok := fields["append"]; ok {
		legacy = r.boolean(label, f)
		delete(fields, "append")
		if legacy {
			r.warnf(f.pos, label, CodeDeprecated, "append: true is deprecated; name the keys to append in override, as in \"override: {%s: append}\"", it.kind.mainKey())
		}
	}
	override, hasOverride := fields["override"]
	delete(fields, "override")
	if legacy && hasOverride {
		r.errorf(override.pos, label, CodeBadOverride, "override and append: true cannot be used together; name the keys to append in override")
		it.bad, it.override = true, map[string]string{} // a change, not applied
		return it, true
	}
	for k, f := range fields {
		it.keys[k] = f.pos
	}
	switch {
	case hasOverride:
		r.falcoOverride(it, override, fields)
	case legacy:
		r.falcoAppend(it, fields)
	case it.kind == kindRule && !hasAny(fields, "condition", "output", "desc", "priority"):
		r.falcoToggle(it, fields)
	default:
		r.falcoDefine(it, fields)
	}
	it.bad = len(r.errs) > nerrs
	return it, true
}

// mainKey is the key an item of kind k is mostly changed by.
func (k kind) mainKey() string {
	if k == kindList {
		return "items"
	}
	return "condition"
}

func hasAny(fields map[string]field, keys ...string) bool {
	for _, k := range keys {
		if _, ok := fields[k]; ok {
			return true
		}
	}
	return false
}

// lookup returns the field of mapping m with key k, or nil.
func lookup(r *reader, m *yaml.Node, k string) *field {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if key := deref(m.Content[i]); key.Kind == yaml.ScalarNode && key.Value == k {
			return &field{key: k, pos: r.pos(m.Content[i]), val: m.Content[i+1]}
		}
	}
	return nil
}

// falcoName warns of a macro or list name that Falco's condition language
// cannot refer to, as Falco does: a macro name is an identifier, a list
// name a bare string.
func (r *reader) falcoName(it *item) {
	var ok bool
	switch it.kind {
	case kindMacro:
		ok = it.name[0] < utf8.RuneSelf && unicode.IsLetter(rune(it.name[0])) && !strings.ContainsFunc(it.name, func(c rune) bool {
			return c >= utf8.RuneSelf || !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '_'
		})
	case kindList:
		ok = !strings.ContainsFunc(it.name, func(c rune) bool { return strings.ContainsRune("()\"'=,", c) || unicode.IsSpace(c) })
	default:
		return
	}
	if !ok {
		what := "is letters, digits and _, starting with a letter"
		if it.kind == kindList {
			what = "has no spaces, quotes, parentheses, '=' or ','"
		}
		r.warnf(it.pos, it.label(), CodeBadName, "conditions cannot refer to a %s of this name: a %s name %s", it.kind, it.kind, what)
	}
}

// falcoDefine reads a definition: a new item, or one replacing an earlier
// item of the same name, as redefinitions do in Falco.
func (r *reader) falcoDefine(it *item, fields map[string]field) {
	label := it.label()
	var missing []string
	for _, k := range it.kind.required() {
		if _, ok := fields[k]; !ok {
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
	it.enabled, it.warnEvttypes, it.source = true, true, "syscall"
	for _, k := range sortedKeys(fields) {
		r.falcoValue(it, label, fields[k], false)
	}
	if it.kind == kindRule {
		it.output = trimText(it.output)
		it.tags = sortTags(it.tags)
	}
	if it.source != "syscall" && it.source != "" && !r.once["source "+it.source] {
		r.once["source "+it.source] = true
		r.warnf(r.pos(fields["source"].val), label, CodeSkippedSource, "rules of source %q are skipped: vigil loads only syscall rules (this is said once per file)", it.source)
	}
}

// falcoToggle reads a rule item without condition, output, desc and
// priority: Falco's legacy way to enable or disable an earlier rule.
func (r *reader) falcoToggle(it *item, fields map[string]field) {
	label := it.label()
	f, ok := fields["enabled"]
	if !ok {
		r.errorf(it.pos, label, CodeMissingKey, "missing required keys \"desc\", \"condition\", \"output\" and \"priority\" (or \"enabled\" alone, to enable or disable an earlier rule)")
		return
	}
	it.toggle = true
	it.override = map[string]string{"enabled": "replace"}
	it.enabled = r.boolean(label, f)
	r.warnf(f.pos, label, CodeDeprecated, "a rule item with enabled alone is deprecated; use \"override: {enabled: replace}\"")
}

// falcoAppend reads an item with the legacy append: true. A list appends
// its items, a macro its condition, a rule its condition and exceptions
// (Falco ignores a rule's other keys here).
func (r *reader) falcoAppend(it *item, fields map[string]field) {
	label := it.label()
	it.override = map[string]string{}
	keys := []string{it.kind.mainKey()}
	if it.kind == kindRule {
		keys = []string{"condition", "exceptions"}
	}
	for _, k := range keys {
		if f, ok := fields[k]; ok {
			it.override[k] = "append"
			r.falcoValue(it, label, f, true)
		}
	}
	if len(it.override) == 0 {
		r.errorf(it.pos, label, CodeMissingKey, "append: true needs %s to append", joinOr(quoteAll(keys)))
	}
}

// falcoOverride reads an item with an override mapping.
func (r *reader) falcoOverride(it *item, f field, fields map[string]field) {
	label := it.label()
	it.override = map[string]string{}
	n := deref(f.val)
	if n.Kind != yaml.MappingNode {
		r.errorf(r.pos(f.val), label, CodeBadOverride, "override must be a mapping from keys to append or replace, not %s", describe(n))
		return
	}
	app, repl := falcoOverridable(it.kind)
	known := slices.Clone(repl)
	named := map[string]bool{}
	for _, o := range r.fields(n, label, "override: ", CodeBadOverride, known) {
		named[o.key] = true
		v := deref(o.val)
		mode := v.Value
		_, given := fields[o.key]
		switch {
		case v.Kind != yaml.ScalarNode || mode != "append" && mode != "replace":
			what := describe(v)
			if v.Kind == yaml.ScalarNode && !isNull(v) {
				what = strconv.Quote(v.Value)
			}
			modes := "append or replace"
			if !slices.Contains(app, o.key) {
				modes = "replace"
			}
			r.errorf(r.pos(o.val), label, CodeBadOverride, "override of %s must be %s, not %s", o.key, modes, what)
		case mode == "append" && !slices.Contains(app, o.key):
			r.errorf(r.pos(o.val), label, CodeBadOverride, "%s cannot be appended to, only replaced", o.key)
		case !given:
			r.errorf(o.pos, label, CodeBadOverride, "override names %s, but the item has no %s", o.key, o.key)
		default:
			it.override[o.key] = mode
		}
	}
	for _, k := range sortedKeys(fields) {
		mode, ok := it.override[k]
		switch {
		case ok:
			r.falcoValue(it, label, fields[k], mode == "append")
		case slices.Contains(known, k) && !named[k]:
			add := fmt.Sprintf("\"%s: replace\"", k)
			if slices.Contains(app, k) {
				add = fmt.Sprintf("\"%s: append\" or \"%s: replace\"", k, k)
			}
			r.errorf(it.keys[k], label, CodeBadOverride, "%s is not named in override; add %s to it", k, add)
		}
	}
	if len(n.Content) == 0 {
		r.errorf(r.pos(f.val), label, CodeBadOverride, "override is empty; name each key to change, with append or replace")
	}
	if it.kind != kindRule && len(it.override) > 0 && it.override[it.kind.mainKey()] == "replace" {
		// Replacing the only key of a list or macro is redefining it.
		it.override = nil
	}
}

// falcoValue reads the value of one key. app is set when the value is
// appended to an earlier rule's (exceptions then need no fields).
func (r *reader) falcoValue(it *item, label string, f field, app bool) {
	switch f.key {
	case "condition":
		it.condition = r.condition(label, "", f)
	case "output", "desc", "priority", "source":
		n, ok := r.scalar(label, f)
		if !ok {
			return
		}
		if isNull(n) || n.Value == "" {
			r.errorf(r.pos(f.val), label, CodeEmpty, "%s is empty", f.key)
			return
		}
		switch f.key {
		case "output":
			it.output = r.text(n)
		case "desc":
			it.desc = n.Value
		case "source":
			it.source = n.Value
		case "priority":
			p, ok := event.ParsePriority(strings.TrimSpace(n.Value))
			if !ok {
				r.errorf(r.pos(f.val), label, CodeBadPriority, "unknown priority %q; %s", n.Value, hint(n.Value, falcoPriorityNames()))
			}
			it.priority = p
		}
	case "items", "tags":
		if n := deref(f.val); isNull(n) {
			r.errorf(r.pos(f.val), label, CodeBadType, "%s must be a list of strings, not %s", f.key, describe(n))
			return
		}
		s := r.stringList(label, f)
		if f.key == "items" {
			it.items = s
		} else {
			it.tags = s
		}
	case "enabled":
		it.enabled = r.boolean(label, f)
	case "warn_evttypes":
		it.warnEvttypes = r.boolean(label, f)
	case "skip-if-unknown-filter":
		it.skipIfUnknown = r.boolean(label, f)
	case "exceptions":
		it.fexcs = r.falcoExceptions(label, f, app)
	}
}

// falcoPriorityNames lists the priorities as Falco's files spell them.
func falcoPriorityNames() []string {
	return []string{"EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFORMATIONAL", "INFO", "DEBUG"}
}

// plugins reads required_plugin_versions: a list of {name, version,
// alternatives}. vigil provides the container plugin's fields itself;
// rules needing another plugin's fields fail to compile, or are skipped
// for their source, so each other plugin gets one warning per file.
func (r *reader) plugins(f field) {
	n := deref(f.val)
	if n.Kind != yaml.SequenceNode {
		r.errorf(r.pos(f.val), "", CodeBadPlugin, "required_plugin_versions must be a list of mappings with a name and a version, not %s", describe(n))
		return
	}
	for _, e := range n.Content {
		names, ok := r.plugin(e, "required_plugin_versions entry", true)
		if !ok || slices.Contains(names, "container") {
			continue
		}
		if name := names[0]; !r.once["plugin "+name] {
			r.once["plugin "+name] = true
			r.warnf(r.pos(e), "", CodeUnknownPlugin, "plugin %q is not part of vigil: rules using its fields or its event source will not load", name)
		}
	}
}

// plugin reads one plugin requirement and returns its name and those of
// its alternatives.
func (r *reader) plugin(n *yaml.Node, what string, alternatives bool) ([]string, bool) {
	m := deref(n)
	if m.Kind != yaml.MappingNode {
		r.errorf(r.pos(n), "", CodeBadPlugin, "a %s must be a mapping with a name and a version, not %s", what, describe(m))
		return nil, false
	}
	known := []string{"name", "version"}
	if alternatives {
		known = append(known, "alternatives")
	}
	var names []string
	var hasName, hasVersion bool
	nerrs := len(r.errs)
	for _, g := range r.fields(m, "", "", CodeUnknownKey, known) {
		switch g.key {
		case "name", "version":
			v, ok := r.scalar("", g)
			if !ok {
				continue
			}
			if isNull(v) || v.Value == "" {
				r.errorf(r.pos(g.val), "", CodeEmpty, "plugin %s is empty", g.key)
				continue
			}
			if g.key == "name" {
				hasName = true
				names = append([]string{v.Value}, names...)
			} else if _, ok := parseVersion(v.Value); !ok {
				r.errorf(r.pos(g.val), "", CodeBadPlugin, "plugin version %q is not a version of the form MAJOR.MINOR.PATCH", v.Value)
			} else {
				hasVersion = true
			}
		case "alternatives":
			alts := deref(g.val)
			if alts.Kind != yaml.SequenceNode {
				r.errorf(r.pos(g.val), "", CodeBadPlugin, "plugin alternatives must be a list of mappings with a name and a version, not %s", describe(alts))
				continue
			}
			for _, a := range alts.Content {
				if alt, ok := r.plugin(a, "plugin alternative", false); ok {
					names = append(names, alt...)
				}
			}
		}
	}
	switch {
	case len(r.errs) > nerrs:
	case !hasName:
		r.errorf(r.pos(n), "", CodeMissingKey, "a %s needs a name", what)
	case !hasVersion:
		r.errorf(r.pos(n), "", CodeMissingKey, "plugin %q needs a version", names[0])
	}
	return names, hasName && hasVersion && len(r.errs) == nerrs
}

func sortedKeys(fields map[string]field) []string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		pa, pb := fields[a].pos, fields[b].pos
		if pa.Line != pb.Line {
			return pa.Line - pb.Line
		}
		return pa.Col - pb.Col
	})
	return keys
}

// sortTags returns tags sorted and without repeats: Falco keeps a rule's
// tags as a set, and its alerts list them in this order.
func sortTags(tags []string) []string {
	if tags == nil {
		return nil
	}
	s := slices.Clone(tags)
	slices.Sort(s)
	return slices.Compact(s)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

func joinOr(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
