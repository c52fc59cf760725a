package rules

import "slices"

// Collecting Falco items follows Falco's collector
// (rule_loader_collector.cpp): a definition of a name already defined
// replaces it where it stands; appending joins conditions, outputs and
// descriptions with a space, as text; exceptions appended to a rule add
// values to the exception of the same name.

// frule is a Falco rule and what Falco keeps of it until it compiles it:
// its source, and its exceptions as written.
type frule struct {
	rule   *Rule
	source string
	excs   []*fexception
}

func (c *collector) falcoDefine(it *item) {
	k := nameOf(it)
	c.defs[k] = it.pos
	c.bad[k] = it.bad
	if it.bad {
		return
	}
	id := key{DialectFalco, it.name}
	switch it.kind {
	case kindList:
		l := &List{Name: it.name, Items: slices.Clone(it.items), Dialect: DialectFalco, Pos: it.pos}
		if old := c.lists[id]; old != nil {
			*old = *l
			return
		}
		c.lists[id] = l
		c.set.Lists = append(c.set.Lists, l)
	case kindMacro:
		m := &Macro{Name: it.name, Condition: it.condition, Dialect: DialectFalco, Pos: it.pos}
		if old := c.macs[id]; old != nil {
			*old = *m
			return
		}
		c.macs[id] = m
		c.set.Macros = append(c.set.Macros, m)
	case kindRule:
		c.falcoDefineRule(it)
	}
}

func (c *collector) falcoDefineRule(it *item) {
	old := c.frules[it.name]
	if old != nil && old.source != it.source {
		c.errorf(it, it.pos, CodeDuplicate, "the rule is redefined with source %q, and its definition at %s has source %q; a redefinition keeps the source", it.source, old.rule.Pos, old.source)
		return
	}
	r := &Rule{
		Name: it.name, Desc: it.desc, Condition: it.condition, Output: it.output,
		Priority: it.priority, Tags: slices.Clone(it.tags), Enabled: it.enabled,
		Action: ActionAlert, Enforce: true, Dialect: DialectFalco,
		WarnEvttypes: it.warnEvttypes, SkipIfUnknown: it.skipIfUnknown, Pos: it.pos,
	}
	excs := c.validated(it, it.fexcs)
	if old != nil {
		*old.rule = *r
		old.excs = excs
		return
	}
	c.frules[it.name] = &frule{rule: r, source: it.source, excs: excs}
	if it.source == "syscall" {
		c.set.Rules = append(c.set.Rules, r)
	}
}

// validated returns copies of excs that Falco would accept, with their
// comps defaults: the copies are changed by later appends, it is not.
func (c *collector) validated(it *item, excs []*fexception) []*fexception {
	var out []*fexception
	for _, ex := range excs {
		if ex := ex.clone(); c.validate(it, ex) {
			out = append(out, ex)
		}
	}
	return out
}

func (e *fexception) clone() *fexception {
	c := *e
	c.values = slices.Clip(c.values)
	return &c
}

// falcoChange applies an append or an override; seq is its place among
// all items. (Replacing a list's items or a macro's condition is read as
// a definition.)
func (c *collector) falcoChange(it *item, seq int) {
	k := nameOf(it)
	if _, ok := c.defs[k]; !ok {
		c.undefined(it, seq)
		return
	}
	if it.bad || c.bad[k] {
		return
	}
	id := key{DialectFalco, it.name}
	switch it.kind {
	case kindList:
		l := c.lists[id]
		l.Items = append(slices.Clip(l.Items), it.items...)
	case kindMacro:
		m := c.macs[id]
		m.Condition = falcoAppendText(m.Condition, it.condition)
	case kindRule:
		c.falcoChangeRule(c.frules[it.name], it)
	}
}

// falcoChangeRule applies the appends of it, then its replacements, as
// Falco does.
func (c *collector) falcoChangeRule(fr *frule, it *item) {
	r := fr.rule
	for _, k := range []string{"condition", "output", "desc", "tags", "exceptions"} {
		if it.override[k] != "append" {
			continue
		}
		switch k {
		case "condition":
			r.Condition = falcoAppendText(r.Condition, it.condition)
		case "output":
			r.Output = falcoAppendText(r.Output, it.output)
		case "desc":
			if it.desc != "" {
				r.Desc += " " + it.desc
			}
		case "tags":
			r.Tags = sortTags(append(slices.Clone(r.Tags), it.tags...))
		case "exceptions":
			for _, ex := range it.fexcs {
				fr.excs = c.mergeException(it, fr.excs, ex.clone())
			}
		}
	}
	for k, mode := range it.override {
		if mode != "replace" {
			continue
		}
		switch k {
		case "condition":
			r.Condition = it.condition
		case "output":
			r.Output = it.output
		case "desc":
			r.Desc = it.desc
		case "tags":
			r.Tags = sortTags(it.tags)
		case "exceptions":
			fr.excs = c.validated(it, it.fexcs)
		case "priority":
			r.Priority = it.priority
		case "enabled":
			r.Enabled = it.enabled
		case "warn_evttypes":
			r.WarnEvttypes = it.warnEvttypes
		case "skip-if-unknown-filter":
			r.SkipIfUnknown = it.skipIfUnknown
		}
	}
}

// falcoAppendText returns "old app", Falco's way to append a condition or
// an output; an empty app changes nothing. The space maps to the end of old.
func falcoAppendText(old, app Text) Text {
	if app.S == "" {
		return old
	}
	return joinText(old, TextAt(" ", old.Pos(len(old.S))), app)
}

// falcoExceptions builds the exceptions of the Falco rules loaded, once
// every file has changed them.
func (c *collector) falcoExceptions() {
	for _, r := range c.set.Rules {
		if r.Dialect != DialectFalco {
			continue
		}
		it := &item{kind: kindRule, name: r.Name, dialect: DialectFalco}
		r.Exceptions = nil
		for _, ex := range c.frules[r.Name].excs {
			t, ok := c.build(it, ex)
			if ok && t.S != "" {
				r.Exceptions = append(r.Exceptions, Exception{Name: ex.name, Condition: t, Pos: ex.pos})
			}
		}
	}
}
