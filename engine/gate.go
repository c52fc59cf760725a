package engine

import (
	"strings"

	"cel.dev/cel-go/common/ast"

	"github.com/vigil-project/vigil/engine/event"
)

// typeIndex narrows the rules indexed for one event type further, by what
// their conditions require (the same sound over-approximations the kernel
// filter uses): for opens, the paths and flags; for execs, proc.name. An
// event meets the rules that constrain nothing here plus those whose
// constraint admits it, found with one or two map lookups.
type typeIndex struct {
	rules   []*Rule // the type's enabled rules, in definition order
	ungated []int
	// opens
	exact  map[string][]pathHit // exact paths
	byTop  map[string][]pathHit // prefixes by their first path component
	other  []pathHit            // prefixes shorter than a first component ("/", "/et")
	byBase map[string][]pathHit // ends that are a whole last element ("/.bashrc"), by it
	ends   []pathHit            // other ends (".log", "/.ssh/id_rsa")
	// execs
	byName map[string][]int
}

type pathHit struct {
	rule   int
	prefix string // or end, for the ends
	flags  uint32 // any of (0: any)
}

func (h pathHit) admits(flags uint32) bool { return h.flags == 0 || flags&h.flags != 0 }

// topComponent is "etc" for "/etc/x" and "/etc/", ok false for "/etc" or "/".
func topComponent(p string) (string, bool) {
	if len(p) < 2 || p[0] != '/' {
		return "", false
	}
	i := strings.IndexByte(p[1:], '/')
	if i < 0 {
		return "", false
	}
	return p[1 : 1+i], true
}

func newOpenIndex(rules []*Rule, sets []pathSet) *typeIndex {
	ix := &typeIndex{rules: rules, exact: map[string][]pathHit{}, byTop: map[string][]pathHit{}, byBase: map[string][]pathHit{}}
	for i, s := range sets {
		if s.isAll() {
			ix.ungated = append(ix.ungated, i)
			continue
		}
		for _, r := range s {
			h := pathHit{rule: i, prefix: r.Path, flags: r.AnyFlags}
			switch top, ok := topComponent(r.Path); {
			case r.Suffix && strings.LastIndexByte(r.Path, '/') == 0:
				ix.byBase[r.Path[1:]] = append(ix.byBase[r.Path[1:]], h)
			case r.Suffix:
				ix.ends = append(ix.ends, h)
			case r.Exact:
				ix.exact[r.Path] = append(ix.exact[r.Path], h)
			case ok:
				ix.byTop[top] = append(ix.byTop[top], h)
			default:
				ix.other = append(ix.other, h)
			}
		}
	}
	return ix
}

func newExecIndex(rules []*Rule, names []nameResult) *typeIndex {
	ix := &typeIndex{rules: rules, byName: map[string][]int{}}
	for i, n := range names {
		if n.all {
			ix.ungated = append(ix.ungated, i)
			continue
		}
		for _, name := range n.names {
			ix.byName[name] = append(ix.byName[name], i)
		}
	}
	return ix
}

// markOpen sets mark[i] for every rule that may match an open of path.
func (ix *typeIndex) markOpen(path string, flags uint32, mark []bool) {
	for _, i := range ix.ungated {
		mark[i] = true
	}
	for _, h := range ix.exact[path] {
		if h.admits(flags) {
			mark[h.rule] = true
		}
	}
	if top, ok := topComponent(path); ok {
		for _, h := range ix.byTop[top] {
			if !mark[h.rule] && h.admits(flags) && strings.HasPrefix(path, h.prefix) {
				mark[h.rule] = true
			}
		}
	}
	for _, h := range ix.other {
		if !mark[h.rule] && h.admits(flags) && strings.HasPrefix(path, h.prefix) {
			mark[h.rule] = true
		}
	}
	if len(ix.byBase) > 0 {
		for _, h := range ix.byBase[path[strings.LastIndexByte(path, '/')+1:]] {
			if h.admits(flags) {
				mark[h.rule] = true
			}
		}
	}
	for _, h := range ix.ends {
		if !mark[h.rule] && h.admits(flags) && strings.HasSuffix(path, h.prefix) {
			mark[h.rule] = true
		}
	}
}

// markExec sets mark[i] for every rule that may match an exec of name.
func (ix *typeIndex) markExec(name string, mark []bool) {
	for _, i := range ix.ungated {
		mark[i] = true
	}
	for _, i := range ix.byName[name] {
		mark[i] = true
	}
}

// execNames over-approximates the proc.name values an expression can be
// true for on exec events; all is true when it does not constrain them.
func (an *analyzer) execNames(e ast.Expr, refs map[int64]*ast.ReferenceInfo) (names []string, all bool) {
	return an.stringValues(e, refs, event.TypeExec, "proc.name")
}

type nameResult struct {
	names []string
	all   bool
}
