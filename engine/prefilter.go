package engine

import (
	"fmt"
	"sort"
	"strings"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// Open flag bits the analysis maps file.* booleans to (x86-64 values).
const (
	oWrite   = 0x1 | 0x2 // O_WRONLY | O_RDWR
	oCreat   = 0x40 | 0x400000
	oTrunc   = 0x200
	maxPaths = 512 // beyond this an intersection keeps one side (a superset)
)

// pathSet over-approximates the opens a condition can be true for: an open
// is in it if some entry's path (prefix, or exact) matches file.path and
// its flags have one of the entry's AnyFlags (0: any). The entry {"", prefix,
// 0} stands for every open.
type pathSet []plan.PathRule

var anyOpen = pathSet{{}}

func (s pathSet) isAll() bool {
	for _, r := range s {
		if r.Path == "" && !r.Exact && r.AnyFlags == 0 {
			return true
		}
	}
	return false
}

// openPaths computes the path set of a boolean expression for open events.
// It is sound (never smaller than the truth) by construction: every form
// it does not understand is anyOpen, negation is anyOpen, && keeps what
// both sides allow or one side when that is simpler, || joins.
func (an *analyzer) openPaths(e ast.Expr, refs map[int64]*ast.ReferenceInfo) pathSet {
	return an.pathsOf(e, refs, pathQuery{event.TypeOpen, "file.path"})
}

// pathQuery names what a path analysis is about: the events of one type,
// and one of their path fields (file.path, or file.newpath/file.target,
// the second path of renames and links). Open flags count only for opens.
type pathQuery struct {
	t     event.Type
	field string
}

func (q pathQuery) memoKey(macro string) string { return memoKey(macro, q.t, q.field) }

// pathsOf is openPaths for any type and path field.
func (an *analyzer) pathsOf(e ast.Expr, refs map[int64]*ast.ReferenceInfo, q pathQuery) pathSet {
	if set, c := an.eventTypes(e, refs); c && !set.Has(q.t) {
		return nil // cannot be true for this type
	}
	switch e.Kind() {
	case ast.LiteralKind:
		if b, ok := e.AsLiteral().(types.Bool); ok && !bool(b) {
			return nil
		}
		return anyOpen
	case ast.IdentKind, ast.SelectKind:
		name := nameOf(e, refs)
		if m := an.macros[name]; m != nil && m.ast != nil {
			key := q.memoKey(name)
			if s, ok := an.paths[key]; ok {
				return s
			}
			an.paths[key] = anyOpen // cycles are reported elsewhere
			s := an.pathsOf(m.ast.NativeRep().Expr(), m.ast.NativeRep().ReferenceMap(), q)
			an.paths[key] = s
			return s
		}
		if q.t != event.TypeOpen {
			return anyOpen
		}
		switch name {
		case "file.modified":
			return pathSet{{AnyFlags: oWrite | oCreat | oTrunc}}
		case "file.write":
			return pathSet{{AnyFlags: oWrite}}
		case "file.create":
			return pathSet{{AnyFlags: oCreat}}
		case "file.trunc":
			return pathSet{{AnyFlags: oTrunc}}
		case "file.proc_other":
			// True only when file.path is below /proc/; a clean
			// absolute raw path is then below it too, and the kernel
			// passes every other raw path.
			return pathSet{{Path: "/proc/"}}
		}
		return anyOpen
	case ast.CallKind:
	default:
		return anyOpen
	}
	call := e.AsCall()
	args := call.Args()
	switch fn := call.FunctionName(); fn {
	case operators.LogicalAnd:
		return intersect(an.pathsOf(args[0], refs, q), an.pathsOf(args[1], refs, q))
	case operators.LogicalOr:
		a, b := an.pathsOf(args[0], refs, q), an.pathsOf(args[1], refs, q)
		if a.isAll() || b.isAll() {
			return anyOpen
		}
		return append(append(pathSet{}, a...), b...)
	case operators.Equals:
		for i := range 2 {
			if s, ok := stringLit(args[1-i]); ok {
				name := nameOf(args[i], refs)
				switch q.role(name) {
				case rolePath:
					return pathSet{{Path: s, Exact: true}}
				case roleDir:
					return dirPrefix(s)
				case roleName:
					return nameEnd(s)
				}
				if name == "file.change" && q.t == event.TypeOpen {
					return changeFlags(s)
				}
			}
		}
	case operators.In:
		if l, ok := an.stringList(args[1], refs); ok {
			var out pathSet
			name := nameOf(args[0], refs)
			switch q.role(name) {
			case rolePath:
				for _, s := range l {
					out = append(out, plan.PathRule{Path: s, Exact: true})
				}
				return out
			case roleDir:
				for _, s := range l {
					out = append(out, dirPrefix(s)...)
				}
				return out
			case roleName:
				for _, s := range l {
					e := nameEnd(s)
					if e.isAll() {
						return anyOpen
					}
					out = append(out, e...)
				}
				return out
			}
			if name == "file.change" && q.t == event.TypeOpen {
				for _, s := range l {
					out = append(out, changeFlags(s)...)
				}
				return out
			}
		}
	default:
		if call.IsMemberFunction() {
			return an.memberPaths(fn, call.Target(), args, refs, q)
		}
	}
	return anyOpen
}

// dirField is the field that is the directory of q's field (file.dir of
// file.path), or "" when there is none.
func (q pathQuery) dirField() string {
	if q.field == "file.path" {
		return "file.dir"
	}
	return ""
}

// pathRole is what a field is to a path query.
type pathRole uint8

const (
	roleNone pathRole = iota
	rolePath          // the path itself
	roleDir           // its directory
	roleName          // its last element
)

// role says whether the field name is q's path or its directory:
// file.modified_path (and _dir) stand for the field that names the file
// an event of q's type changes.
func (q pathQuery) role(name string) pathRole {
	switch {
	case name == "":
		return roleNone
	case name == q.field:
		return rolePath
	case name == q.dirField():
		return roleDir
	case name == "file.name" && q.field == "file.path":
		return roleName
	case q.t.Info().Change == "" || q.t.ChangedPathField() != q.field:
		return roleNone
	case name == "file.modified_path":
		return rolePath
	case name == "file.modified_dir":
		return roleDir
	case name == "file.modified_name":
		return roleName
	}
	return roleNone
}

// nameEnd is the path end of file.name == s: "/" + s. A name with a "/"
// matches no path; "" any.
func nameEnd(s string) pathSet {
	switch {
	case strings.Contains(s, "/"):
		return nil
	case s == "":
		return anyOpen
	}
	return pathSet{{Path: "/" + s, Suffix: true}}
}

// changeFlags is the open set of file.change == c: opens with the flags
// that make that change (none for a change no open makes).
func changeFlags(c string) pathSet {
	switch c {
	case event.ChangeTruncate:
		return pathSet{{AnyFlags: oTrunc}}
	case event.ChangeWrite:
		return pathSet{{AnyFlags: oWrite | oCreat}}
	}
	return nil
}

// memberPaths handles file.path.startsWith("/etc/") and its relatives,
// and file.name.endsWith(".log"): an end of the path.
func (an *analyzer) memberPaths(fn string, target ast.Expr, args []ast.Expr, refs map[int64]*ast.ReferenceInfo, q pathQuery) pathSet {
	role := q.role(nameOf(target, refs))
	isDir := role == roleDir
	if role == roleNone || len(args) != 1 {
		return anyOpen
	}
	var items []string
	if s, ok := stringLit(args[0]); ok {
		items = []string{s}
	} else if l, ok := an.stringList(args[0], refs); ok {
		items = l
	} else {
		return anyOpen
	}
	var out pathSet
	for _, s := range items {
		if role == roleName {
			// Only the ends of names say something of the path.
			if fn != "endsWith" && fn != "endsWithAny" || s == "" {
				return anyOpen
			}
			out = append(out, plan.PathRule{Path: s, Suffix: true})
			continue
		}
		switch fn {
		case "endsWith", "endsWithAny":
			if s == "" {
				return anyOpen
			}
			out = append(out, plan.PathRule{Path: s, Suffix: true})
		case "startsWith", "startsWithAny":
			// file.dir starting with p means file.path does too.
			out = append(out, plan.PathRule{Path: s})
		case "under", "underAny":
			d := strings.TrimRight(s, "/")
			if !isDir && d != "" {
				out = append(out, plan.PathRule{Path: d, Exact: true})
			}
			out = append(out, plan.PathRule{Path: d + "/"})
		case "glob":
			if isDir {
				return anyOpen
			}
			lit := s
			if rest := strings.TrimPrefix(s, "*"); rest != s && rest != "" && !strings.ContainsAny(rest, `*?[\`) {
				out = append(out, plan.PathRule{Path: rest, Suffix: true}) // "*/.bashrc": an end
				continue
			}
			if i := strings.IndexAny(s, `*?[\`); i >= 0 {
				out = append(out, plan.PathRule{Path: s[:i]})
				continue
			}
			out = append(out, plan.PathRule{Path: lit, Exact: true})
		default:
			return anyOpen
		}
	}
	return out
}

// dirPrefix is the set of paths whose file.dir is d: d + "/" + a name.
func dirPrefix(d string) pathSet {
	if d == "/" {
		return pathSet{{Path: "/"}}
	}
	return pathSet{{Path: d + "/"}}
}

func intersect(a, b pathSet) pathSet {
	if a.isAll() {
		return b
	}
	if b.isAll() {
		return a
	}
	if len(a)*len(b) > maxPaths {
		if len(a) < len(b) {
			return a
		}
		return b
	}
	var out pathSet
	for _, x := range a {
		for _, y := range b {
			if m, ok := meet(x, y); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// meet is an entry containing every open both x and y contain (possibly
// more: of two flag masks it keeps one).
func meet(x, y plan.PathRule) (plan.PathRule, bool) {
	m := plan.PathRule{AnyFlags: x.AnyFlags}
	if m.AnyFlags == 0 {
		m.AnyFlags = y.AnyFlags
	}
	if y.Suffix && !x.Suffix {
		x, y = y, x
	}
	if x.Suffix {
		switch {
		case y.Suffix && strings.HasSuffix(x.Path, y.Path):
			m.Path, m.Suffix = x.Path, true
		case y.Suffix && strings.HasSuffix(y.Path, x.Path):
			m.Path, m.Suffix = y.Path, true
		case y.Suffix:
			return m, false
		case y.Exact:
			if !strings.HasSuffix(y.Path, x.Path) {
				return m, false
			}
			m.Path, m.Exact = y.Path, true
		default:
			// A prefix and an end: the trie holds one or the other; the
			// end is usually the narrower (".bashrc" anywhere against all
			// of /home).
			m.Path, m.Suffix = x.Path, true
		}
		return m, true
	}
	switch {
	case x.Exact && y.Exact:
		if x.Path != y.Path {
			return m, false
		}
		m.Path, m.Exact = x.Path, true
	case x.Exact:
		if !strings.HasPrefix(x.Path, y.Path) {
			return m, false
		}
		m.Path, m.Exact = x.Path, true
	case y.Exact:
		if !strings.HasPrefix(y.Path, x.Path) {
			return m, false
		}
		m.Path, m.Exact = y.Path, true
	case strings.HasPrefix(x.Path, y.Path):
		m.Path = x.Path
	case strings.HasPrefix(y.Path, x.Path):
		m.Path = y.Path
	default:
		return m, false
	}
	return m, true
}

// Prefilter is what the kernel may skip for this rule set.
type Prefilter struct {
	Types []event.Type    // event types some enabled rule can match
	Open  plan.OpenFilter // which opens some rule can match
	// Env: some enabled rule reads proc.env, so the kernel must send the
	// environment with exec records.
	Env bool
	// Args are the argument and path filters of the other types.
	Args plan.ArgFilter
	// Notes say, per enabled open rule, what it lets through, so users see
	// which rule keeps the filter wide.
	Notes []string
}

// Prefilter derives the kernel-side filters from the enabled rules.
func (rs *Ruleset) Prefilter() Prefilter {
	p := Prefilter{Types: rs.Types(), Args: rs.argFilter()}
	for _, r := range rs.Rules {
		p.Env = p.Env || (r.Enabled && r.readsEnv)
	}
	var all pathSet
	wide := false
	for _, r := range rs.byType[event.TypeOpen] {
		s := r.paths // computed once, at compile time
		switch {
		case s.isAll():
			wide = true
			p.Notes = append(p.Notes, fmt.Sprintf("rule %q constrains no path or open flag the kernel can check: every open is copied", r.Name))
		case tooLong(s):
			wide = true
			p.Notes = append(p.Notes, fmt.Sprintf("rule %q names a path longer than %d bytes: every open is copied", r.Name, plan.FilterPathMax))
		default:
			p.Notes = append(p.Notes, fmt.Sprintf("rule %q: %s", r.Name, describe(s)))
		}
		all = append(all, s...)
	}
	if wide {
		p.Open = plan.OpenFilter{All: true}
	} else {
		p.Open = plan.OpenFilter{Paths: dedupe(all)}
	}
	return p
}

func tooLong(s pathSet) bool {
	for _, r := range s {
		if len(r.Path) > plan.FilterPathMax || r.Suffix && len(r.Path) > plan.SuffixMax {
			return true
		}
	}
	return false
}

func dedupe(s pathSet) []plan.PathRule {
	seen := map[plan.PathRule]bool{}
	var out []plan.PathRule
	for _, r := range s {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func describe(s pathSet) string {
	var parts []string
	for _, r := range dedupe(s) {
		d := r.Path + "*"
		switch {
		case r.Exact:
			d = r.Path
		case r.Suffix:
			d = "*" + r.Path
		}
		if r.AnyFlags != 0 {
			d += fmt.Sprintf(" (flags any of %s)", flagBits(r.AnyFlags))
		}
		parts = append(parts, d)
	}
	return strings.Join(parts, ", ")
}

// flagBits names the bits of a flag mask (not a flags value: O_RDONLY is
// no bit).
func flagBits(mask uint32) string {
	var names []string
	for bit := uint32(1); bit != 0; bit <<= 1 {
		if mask&bit == 0 {
			continue
		}
		switch bit {
		case 0x1:
			names = append(names, "O_WRONLY")
		case 0x2:
			names = append(names, "O_RDWR")
		case 0x400000:
			names = append(names, "O_TMPFILE")
		default:
			names = append(names, strings.TrimPrefix(event.OpenFlagsString(bit), "O_RDONLY|"))
		}
	}
	return strings.Join(names, "|")
}
