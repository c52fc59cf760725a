package rules

import (
	"fmt"
	"slices"
	"sort"
)

// name is an item's dialect, kind and name: lists, macros and rules each
// have their own names, as in Falco, and so does each dialect.
type name struct {
	dialect Dialect
	kind    kind
	name    string
}

func nameOf(it *item) name { return name{it.dialect, it.kind, it.name} }

// def is where a definition is: its place among all items, and in its file.
type def struct {
	seq int
	pos Pos
}

type collector struct {
	set   *Set
	errs  Errors
	defs  map[name]Pos // definitions so far
	bad   map[name]bool
	later map[name]def // the first definition of each name, in all files
	lists map[key]*List
	macs  map[key]*Macro
	rules map[key]*Rule
	// frules are the Falco rules, with what Falco keeps besides the Rule.
	frules map[string]*frule
	warns  Errors
	// broken is set after a file whose YAML did not parse: it may have
	// defined what later files change.
	broken bool
}

// Collect applies the items of files in order: definitions add to the
// set, items with override (or a rule item with enabled alone) change the
// earlier definition of the same name. Files that Read returned errors for
// contribute the items it could read.
func Collect(files ...*File) (*Set, error) {
	c := &collector{
		set:    &Set{files: map[string]*source{}},
		defs:   map[name]Pos{},
		bad:    map[name]bool{},
		later:  map[name]def{},
		lists:  map[key]*List{},
		macs:   map[key]*Macro{},
		rules:  map[key]*Rule{},
		frules: map[string]*frule{},
	}
	files = slices.DeleteFunc(slices.Clone(files), func(f *File) bool { return f == nil })
	seq := 0
	for _, f := range files {
		for _, it := range f.items {
			if k := nameOf(it); it.override == nil {
				if _, ok := c.later[k]; !ok {
					c.later[k] = def{seq, it.pos}
				}
			}
			seq++
		}
	}
	seq = 0
	for _, f := range files {
		if _, ok := c.set.files[f.src.name]; !ok {
			c.set.files[f.src.name] = f.src
		}
		for _, it := range f.items {
			switch {
			case it.dialect == DialectFalco && it.override == nil:
				c.falcoDefine(it)
			case it.dialect == DialectFalco:
				c.falcoChange(it, seq)
			case it.override == nil:
				c.define(it)
			default:
				c.change(it, seq)
			}
			seq++
		}
		c.broken = c.broken || f.broken
		c.set.Warnings = append(c.set.Warnings, f.warnings...)
	}
	c.falcoExceptions()
	if len(c.errs) > 0 {
		sortErrors(c.errs, files)
		return nil, c.errs
	}
	c.set.Warnings = append(c.set.Warnings, c.warns...)
	sortErrors(c.set.Warnings, files)
	c.set.index()
	return c.set, nil
}

// index records which names are which, for Set.List, Macro and Rule.
func (s *Set) index() {
	s.lists, s.macros, s.rules = map[key]*List{}, map[key]*Macro{}, map[key]*Rule{}
	for _, l := range s.Lists {
		s.lists[key{l.Dialect, l.Name}] = l
	}
	for _, m := range s.Macros {
		s.macros[key{m.Dialect, m.Name}] = m
	}
	for _, r := range s.Rules {
		s.rules[key{r.Dialect, r.Name}] = r
	}
}

func (c *collector) errorf(it *item, pos Pos, code, format string, args ...any) {
	c.errs = append(c.errs, &Error{Pos: pos, Item: it.label(), Code: code, Msg: fmt.Sprintf(format, args...), Line: c.set.SourceLine(pos)})
}

func (c *collector) define(it *item) {
	k := nameOf(it)
	if p, ok := c.defs[k]; ok {
		c.errorf(it, it.pos, CodeDuplicate, "already defined at %s; to change it, give this item an override", p)
		return
	}
	c.defs[k] = it.pos
	if it.bad {
		// Changes to it would only repeat its errors.
		c.bad[k] = true
		return
	}
	switch it.kind {
	case kindList:
		l := &List{Name: it.name, Items: slices.Clone(it.items), Pos: it.pos}
		c.lists[key{DialectVigil, it.name}] = l
		c.set.Lists = append(c.set.Lists, l)
	case kindMacro:
		m := &Macro{Name: it.name, Condition: it.condition, Pos: it.pos}
		c.macs[key{DialectVigil, it.name}] = m
		c.set.Macros = append(c.set.Macros, m)
	case kindRule:
		r := &Rule{
			Name: it.name, Desc: it.desc, Condition: it.condition, Output: it.output,
			Priority: it.priority, Tags: slices.Clone(it.tags), Enabled: it.enabled,
			Action: it.action, Enforce: it.enforce, Fallback: it.fallback, Exceptions: slices.Clone(it.exceptions),
			Understood: slices.Clone(it.understood), Pos: it.pos,
		}
		c.rules[key{DialectVigil, it.name}] = r
		c.set.Rules = append(c.set.Rules, r)
	}
}

// change applies an override; seq is its place among all items.
func (c *collector) change(it *item, seq int) {
	k := nameOf(it)
	if _, ok := c.defs[k]; !ok {
		c.undefined(it, seq)
		return
	}
	if it.bad || c.bad[k] {
		return
	}
	id := key{DialectVigil, it.name}
	for _, k := range it.kind.keys() {
		mode, ok := it.override[k]
		if !ok {
			continue
		}
		app := mode == "append"
		switch it.kind {
		case kindList:
			l := c.lists[id]
			l.Items = merge(l.Items, it.items, app)
		case kindMacro:
			m := c.macs[id]
			m.Condition = combine(m.Condition, it.condition, app)
		case kindRule:
			c.changeRule(c.rules[id], it, k, app)
		}
	}
}

func (c *collector) changeRule(r *Rule, it *item, key string, app bool) {
	switch key {
	case "desc":
		r.Desc = it.desc
	case "condition":
		r.Condition = combine(r.Condition, it.condition, app)
	case "output":
		r.Output = it.output
	case "priority":
		r.Priority = it.priority
	case "tags":
		if !app {
			r.Tags = nil
		}
		for _, t := range it.tags {
			if !slices.Contains(r.Tags, t) {
				r.Tags = append(r.Tags, t)
			}
		}
	case "enabled":
		r.Enabled = it.enabled
	case "action":
		r.Action = it.action
	case "enforce":
		r.Enforce = it.enforce
	case "fallback":
		r.Fallback = it.fallback
	case "i_understand":
		r.Understood = slices.Clone(it.understood)
	case "exceptions":
		if !app {
			r.Exceptions = nil
		}
		for _, e := range it.exceptions {
			if i := slices.IndexFunc(r.Exceptions, func(x Exception) bool { return x.Name == e.Name }); i >= 0 {
				c.errorf(it, e.Pos, CodeDuplicate, "exception %q is already defined at %s", e.Name, r.Exceptions[i].Pos)
				continue
			}
			r.Exceptions = append(r.Exceptions, e)
		}
	}
}

// undefined reports a change to a name that is not defined before it.
func (c *collector) undefined(it *item, seq int) {
	what := "nothing to override"
	if it.toggle {
		what = "nothing to enable"
		if !it.enabled {
			what = "nothing to disable"
		}
	}
	switch d, ok := c.later[nameOf(it)]; {
	case ok && d.seq > seq:
		c.errorf(it, it.pos, CodeUndefined, "%s yet: the %s is defined only later, at %s; changes must come after the definition", what, it.kind, d.pos)
	case c.broken:
		// The definition may be in a file that did not parse.
	default:
		c.errorf(it, it.pos, CodeUndefined, "%s: no %s with this name is defined", what, it.kind)
	}
}

func combine(old, t Text, app bool) Text {
	if app {
		return appendText(old, t)
	}
	return t
}

func merge(old, items []string, app bool) []string {
	if app {
		return append(slices.Clip(old), items...)
	}
	return slices.Clone(items)
}

// sortErrors sorts errs by file, in the order files were given, then by
// position.
func sortErrors(errs Errors, files []*File) {
	order := map[string]int{}
	for i, f := range files {
		if _, ok := order[f.src.name]; !ok {
			order[f.src.name] = i
		}
	}
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].Pos, errs[j].Pos
		if a.File != b.File {
			rank := func(f string) int {
				if r, ok := order[f]; ok {
					return r
				}
				return len(files) // a file not read: after those read
			}
			return rank(a.File) < rank(b.File)
		}
		return before(a, b)
	})
}

// LoadSources reads every source and collects them into one Set, in the
// order given. The error, if any, is an Errors with the errors of every
// source.
func LoadSources(srcs ...Source) (*Set, error) {
	var errs Errors
	files := make([]*File, len(srcs))
	total := 0
	for i, src := range srcs {
		if total += len(src.Data); total > MaxTotalBytes {
			errs = append(errs, &Error{Pos: Pos{File: src.Name, Line: 1, Col: 1}, Code: CodeTooLarge,
				Msg: fmt.Sprintf("the rules files loaded together are larger than %d MiB, the limit; this one and the ones after it are not read", MaxTotalBytes>>20)})
			files = files[:i]
			break
		}
		f, err := Read(src)
		if err != nil {
			errs = append(errs, err.(Errors)...)
		}
		files[i] = f
	}
	set, err := Collect(files...)
	if err != nil {
		errs = append(errs, err.(Errors)...)
	}
	if len(errs) > 0 {
		sortErrors(errs, files)
		return nil, errs
	}
	return set, nil
}

// Load loads the rules files at paths, in order (see Sources). Errors
// reading the files are returned as they are; errors in them as Errors.
func Load(paths ...string) (*Set, error) {
	srcs, err := Sources(paths...)
	if err != nil {
		return nil, err
	}
	return LoadSources(srcs...)
}
