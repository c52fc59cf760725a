package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/rules"
)

// Macros that share macros are analysed once each: 40 levels of
// d_i = d_{i-1} && d_{i-1} (2^40 paths through the graph) give the
// kernel filters of d_0, and every analysis remembers one answer per
// macro, type and field.
func TestAnalysisLinearInSharedMacros(t *testing.T) {
	const depth = 40
	var b strings.Builder
	b.WriteString("- macro: d0\n  condition: evt.type == \"ptrace\" && proc.name == \"gdb\" && ptrace.request == \"PTRACE_ATTACH\"\n")
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, "- macro: d%d\n  condition: d%d && d%d\n", i, i-1, i-1)
	}
	fmt.Fprintf(&b, "- rule: deep\n  desc: d\n  condition: d%d\n  output: o\n  priority: warning\n", depth)
	set, err := rules.LoadSources(rules.Source{Name: "deep.yaml", Data: []byte(b.String())})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCompiler(Options{Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	f := rs.Prefilter().Args
	if !slices.Equal(f.Names[event.TypePtrace], []string{"gdb"}) || !slices.Equal(f.PtraceRequests, []uint32{16}) {
		t.Errorf("filters through %d shared levels: names %v, ptrace requests %v", depth, f.Names, f.PtraceRequests)
	}
	// One entry per macro for each (type, field) asked about: nothing is
	// analysed twice, so nothing is analysed 2^depth times.
	for key := range rs.an.values {
		if !strings.HasPrefix(key, "d") {
			t.Errorf("values memo has %q, not a macro's", key)
		}
	}
	if n := len(rs.an.values); n > (depth+1)*len(event.Types())*2 {
		t.Errorf("%d memoised analyses for %d macros", n, depth+1)
	}
}
