package falco

import (
	"fmt"
	"strings"

	"github.com/vigil-project/vigil/rules"
)

// Codes of the errors and warnings of translation.
const (
	CodeUnknownField = "LOAD_UNKNOWN_FIELD" // a field Falco does not have (error)
	CodeBadValue     = "LOAD_BAD_VALUE"     // a value the field cannot take: a number, an address, an event name (error)
	CodeSkipped      = "LOAD_SKIPPED_RULE"  // a Falco rule vigil cannot evaluate, skipped (warning)
)

// translator translates the Falco lists, macros and rules of one set.
type translator struct {
	lists     map[string]*rules.List
	macros    map[string]*rules.Macro
	listMemo  map[string][]string
	listBusy  map[string]bool
	macroMemo map[string]*macroResult
	errs      rules.Errors
	reported  map[*rules.Error]bool
}

type macroResult struct {
	f    frag
	c    tri
	text rules.Text
	leaf bool // names no macro
	errs []*rules.Error
}

// Translate turns the Falco items of set into vigil's: each Falco rule's
// condition and exceptions become CEL over vigil's fields, each Falco macro
// a CEL macro named MacroName(name); Falco lists are expanded where they
// are used and leave the set. A Falco rule vigil cannot evaluate (a field
// or event vigil lacks) leaves the set with a warning that says why.
// Errors are Falco conditions that are wrong in Falco too.
func Translate(set *rules.Set) (warnings, errs rules.Errors) {
	tr := &translator{lists: map[string]*rules.List{}, macros: map[string]*rules.Macro{},
		listMemo: map[string][]string{}, listBusy: map[string]bool{}, macroMemo: map[string]*macroResult{}, reported: map[*rules.Error]bool{}}
	var lists []*rules.List
	for _, l := range set.Lists {
		if l.Dialect == rules.DialectFalco {
			tr.lists[l.Name] = l
		} else {
			lists = append(lists, l)
		}
	}
	var macros []*rules.Macro
	var falcoMacros []*rules.Macro
	for _, m := range set.Macros {
		if m.Dialect == rules.DialectFalco {
			tr.macros[m.Name] = m
			falcoMacros = append(falcoMacros, m)
		} else {
			macros = append(macros, m)
		}
	}
	var kept []*rules.Rule
	for _, r := range set.Rules {
		if r.Dialect != rules.DialectFalco {
			kept = append(kept, r)
			continue
		}
		nr := *r // the caller's set is not changed
		w, ok := tr.rule(&nr)
		if w != nil {
			warnings = append(warnings, w)
		}
		if ok {
			kept = append(kept, &nr)
		}
	}
	// The macros the rules reached go to the engine (under their CEL
	// names). As in Falco, a macro no rule uses is not compiled: a file
	// may hold macros for the rules of other sources (k8s_audit's ka.*).
	for _, m := range falcoMacros {
		res := tr.macroMemo[m.Name]
		if res == nil || res.c != unknown || len(res.f.needs) > 0 || len(res.f.ps) == 0 || len(res.errs) > 0 {
			continue
		}
		macros = append(macros, &rules.Macro{Name: MacroName(m.Name), Condition: res.text, Pos: m.Pos, Dialect: rules.DialectFalco})
	}
	set.Lists, set.Macros, set.Rules = lists, macros, kept
	return warnings, tr.errs
}

// rule translates r in place; ok is false when the rule is not kept: a
// rule vigil cannot evaluate (the warning says why), or one with errors
// (reported in tr.errs).
func (tr *translator) rule(r *rules.Rule) (warning *rules.Error, ok bool) {
	label := fmt.Sprintf("rule %q", r.Name)
	f, t, errs := tr.condition(r.Condition, label)
	all := f
	var excs []rules.Exception
	for _, e := range r.Exceptions {
		ef, et, eerrs := tr.condition(e.Condition, label)
		errs = append(errs, eerrs...)
		if len(eerrs) > 0 {
			continue
		}
		all.add(ef)
		switch ef.c {
		case never:
			continue // excludes nothing
		case always:
			et = rules.TextAt("true", e.Pos)
		}
		excs = append(excs, rules.Exception{Name: e.Name, Condition: et, Pos: e.Pos})
	}
	if len(errs) > 0 {
		// skip-if-unknown-filter: a field Falco does not know skips the
		// rule (with a warning) instead of failing the load.
		if r.SkipIfUnknown && allCode(errs, CodeUnknownField) {
			e := errs[0]
			return &rules.Error{Pos: e.Pos, Item: label, Code: CodeSkipped,
				Msg: "skipped (skip-if-unknown-filter): " + e.Msg}, false
		}
		tr.report(errs)
		return nil, false
	}
	if len(all.needs) > 0 {
		n := all.needs[0]
		return &rules.Error{Pos: n.Pos, Item: label, Code: CodeSkipped,
			Msg: fmt.Sprintf("skipped: %s needs %s, which vigil does not have", n.Field, n.What)}, false
	}
	switch {
	case f.c == never && f.lackNever:
		return &rules.Error{Pos: r.Condition.Pos(0), Item: label, Code: CodeSkipped,
			Msg: fmt.Sprintf("skipped: it matches only Falco events vigil does not have (%s)", strings.Join(f.lacks, ", "))}, false
	case f.c == never:
		// False in Falco too: the rule loads and never fires (the engine
		// says so).
		t = rules.TextAt("false", r.Condition.Pos(0))
	}
	if f.c == always {
		t = rules.TextAt("true", r.Condition.Pos(0))
	}
	r.Condition, r.Exceptions = t, excs
	return nil, true
}

// condition parses and translates one Falco condition; errs are its
// errors and those of the macros it names.
func (tr *translator) condition(t rules.Text, label string) (frag, rules.Text, []*rules.Error) {
	n, err := Parse(t.S)
	if err != nil {
		off, msg := 0, err.Error()
		if pe, ok := err.(*Error); ok {
			off, msg = pe.Off, pe.Msg
		}
		return frag{}, rules.Text{}, []*rules.Error{{Pos: t.Pos(off), Item: label, Code: rules.CodeCondition, Msg: msg}}
	}
	c := &cond{t: t, tr: tr}
	f := c.node(n)
	var errs []*rules.Error
	for _, e := range c.errs {
		errs = append(errs, &rules.Error{Pos: t.Pos(e.Off), Item: label, Code: e.Code, Msg: e.Msg})
	}
	errs = append(errs, f.errs...)
	if len(errs) > 0 {
		return frag{}, rules.Text{}, errs
	}
	var b rules.TextBuilder
	for _, p := range f.ps {
		if p.at != nil {
			b.WriteAt(p.s, *p.at)
		} else {
			b.WriteAt(p.s, t.Pos(p.off))
		}
	}
	return f, b.Text(), nil
}

// report adds errs to the translation's errors, each once (a macro's
// errors reach every rule that names it).
func (tr *translator) report(errs []*rules.Error) {
	for _, e := range errs {
		if !tr.reported[e] {
			tr.reported[e] = true
			tr.errs = append(tr.errs, e)
		}
	}
}

func allCode(errs []*rules.Error, code string) bool {
	for _, e := range errs {
		if e.Code != code {
			return false
		}
	}
	return true
}

// macro translates the Falco macro name once.
func (tr *translator) macro(name string) *macroResult {
	if r := tr.macroMemo[name]; r != nil {
		return r
	}
	m := tr.macros[name]
	// A cycle sees this placeholder; the engine reports cycles of
	// macros, but a Falco cycle never reaches it, so it is reported here.
	tr.macroMemo[name] = &macroResult{c: unknown, f: frag{needs: []Need{{Pos: m.Pos, Field: name, What: "a macro that does not refer to itself"}}}}
	f, t, errs := tr.condition(m.Condition, fmt.Sprintf("macro %q", name))
	r := &macroResult{f: f, c: f.c, text: t, leaf: !f.refs, errs: errs}
	if len(errs) > 0 {
		r.c = never
	}
	tr.macroMemo[name] = r
	return r
}

// list returns the items of the Falco list name, lists it names expanded
// (as Falco does); false if there is no such list.
func (tr *translator) list(name string) ([]string, bool) {
	l := tr.lists[name]
	if l == nil {
		return nil, false
	}
	if items, ok := tr.listMemo[name]; ok {
		return items, true
	}
	if tr.listBusy[name] {
		tr.errs = append(tr.errs, &rules.Error{Pos: l.Pos, Item: fmt.Sprintf("list %q", name), Code: rules.CodeCycle,
			Msg: "the list contains itself"})
		return nil, true
	}
	tr.listBusy[name] = true
	var out []string
	for _, it := range l.Items {
		s, quoted := ParseListItem(it)
		if !quoted {
			if sub, ok := tr.list(s); ok {
				out = append(out, sub...)
				continue
			}
		}
		out = append(out, s)
		if len(out) > rules.MaxListItems {
			break
		}
	}
	if len(out) > rules.MaxListItems {
		tr.errs = append(tr.errs, &rules.Error{Pos: l.Pos, Item: fmt.Sprintf("list %q", name), Code: rules.CodeTooLarge,
			Msg: fmt.Sprintf("the list and the lists it names have more than %d items", rules.MaxListItems)})
		out = out[:rules.MaxListItems]
	}
	tr.listBusy[name] = false
	tr.listMemo[name] = out
	return out, true
}
