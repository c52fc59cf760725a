package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/rules"
)

// Rule sets shaped like the ones that made loading slow (issue 13): a
// chain of macros each naming the one before, and many rules sharing a
// deep stack of macros, as Falco's rules do.
func chainRules(n int) string {
	var b strings.Builder
	b.WriteString("- macro: c0\n  condition: evt.type == \"exec\"\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "- macro: c%d\n  condition: c%d && proc.name != \"x_%d\"\n", i, i-1, i)
	}
	fmt.Fprintf(&b, "- rule: chain\n  desc: d\n  condition: c%d\n  output: o\n  priority: warning\n", n)
	return b.String()
}

func sharedRules(nrules, depth int) string {
	var b strings.Builder
	b.WriteString("- list: l0\n  items: [a, b, c]\n- macro: m0\n  condition: evt.type == \"exec\" && proc.name in l0\n")
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, "- macro: m%d\n  condition: m%d && proc.pname != \"p_%d\"\n", i, i-1, i)
	}
	for r := 0; r < nrules; r++ {
		fmt.Fprintf(&b, "- rule: r%d\n  desc: d\n  condition: m%d && proc.cmdline.contains(\"z%d\")\n  output: o %%proc.name\n  priority: warning\n", r, depth, r)
	}
	return b.String()
}

func benchCompile(b *testing.B, src string) {
	set, err := rules.LoadSources(rules.Source{Name: "bench.yaml", Data: []byte(src)})
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCompiler(Options{Hostname: "h"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Compile(set); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileChain(b *testing.B) {
	for _, n := range []int{100, 200, 400, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchCompile(b, chainRules(n)) })
	}
}

func BenchmarkCompileShared(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d/depth=40", n), func(b *testing.B) { benchCompile(b, sharedRules(n, 40)) })
	}
}
