package ruletest

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/rules"
)

var update = flag.Bool("update", false, "rewrite docs/detections.md from the built-in rules and their tests")

// detectionsDoc is the coverage table, relative to this package.
const detectionsDoc = "../../docs/detections.md"

// docs/detections.md is the table of behaviour -> rule -> test, made from
// the built-in rules (their descriptions, priorities and ATT&CK tags), the
// rule-test cases that name each rule, and the Go tests that name it; it
// lists every built-in rule and is never edited by hand. After changing
// rules or tests: go test ./engine/ruletest -run TestDetectionsDoc -update
func TestDetectionsDoc(t *testing.T) {
	set, err := rules.Load(rules.Builtin)
	if err != nil {
		t.Fatal(err)
	}
	cases := builtinCases(t)
	names := map[string]bool{}
	for _, r := range set.Rules {
		names[r.Name] = true
	}
	goTests, err := goTestsNaming("../..", names)
	if err != nil {
		t.Fatal(err)
	}
	got := renderDetections(set.Rules, cases, goTests)
	if *update {
		if err := os.WriteFile(detectionsDoc, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(detectionsDoc)
	if err != nil {
		t.Fatalf("%v (make it with: go test ./engine/ruletest -run TestDetectionsDoc -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/detections.md is not what the rules and tests make: go test ./engine/ruletest -run TestDetectionsDoc -update")
	}
	// The table is what it claims: every rule, once.
	for _, r := range set.Rules {
		if n := bytes.Count(got, []byte("| "+mdCell(r.Name)+" |")); n != 1 {
			t.Errorf("rule %q is in the table %d times", r.Name, n)
		}
	}
}

const detectionsHeader = `# Detections: behaviour, rule, test

What the built-in rules detect, and what proves it. One row per built-in
rule, grouped by rules file, in definition order:

- **Behaviour** is the first sentence of the rule's ` + "`desc`" + `.
- **ATT&CK** are the technique tags (` + "`vigil rules list --mitre`" + ` prints
  the same coverage by technique, for any rule set).
- **Rule tests** count the cases of ` + "`rules/builtin/tests/`" + ` that expect
  the rule to fire and that expect it not to (near misses); ` + "`vigil rules test`" + `
  and ` + "`make test`" + ` run them all.
- **Live and end-to-end tests** are the Go tests that name the rule: they
  perform the behaviour for real (real syscalls, real programs, real
  containers) and check the alert, or check that a near miss stays quiet.
  A dash means the rule is tested by its rule-test cases only.

This file is generated and checked by ` + "`TestDetectionsDoc`" + ` (engine/ruletest):
after changing rules or tests, run
` + "`go test ./engine/ruletest -run TestDetectionsDoc -update`" + `.
`

func renderDetections(rs []*rules.Rule, cases []Case, goTests map[string][]string) []byte {
	fire, miss := map[string]int{}, map[string]int{}
	for _, c := range cases {
		for _, n := range c.Fire {
			fire[n]++
		}
		for _, n := range c.NoFire {
			miss[n]++
		}
	}
	var b bytes.Buffer
	b.WriteString(detectionsHeader)
	file := ""
	for _, r := range rs {
		if f := path.Base(r.Pos.File); f != file {
			file = f
			fmt.Fprintf(&b, "\n## %s\n\n", file)
			b.WriteString("| Rule | Priority | ATT&CK | Behaviour | Rule tests (fire / near miss) | Live and end-to-end tests |\n")
			b.WriteString("|---|---|---|---|---|---|\n")
		}
		var techs []string
		for _, tag := range r.Tags {
			if rules.IsTechniqueTag(tag) {
				techs = append(techs, tag)
			}
		}
		live := "-"
		if ts := goTests[r.Name]; len(ts) > 0 {
			live = strings.Join(ts, "<br>")
		}
		state := ""
		if !r.Enabled {
			state = " (disabled)"
		}
		fmt.Fprintf(&b, "| %s | %s%s | %s | %s | %d / %d | %s |\n", mdCell(r.Name), r.Priority, state,
			strings.Join(techs, " "), mdCell(firstSentence(r.Desc)), fire[r.Name], miss[r.Name], mdCell(live))
	}
	return b.Bytes()
}

// firstSentence is the text up to the first full stop that ends a
// sentence, whitespace folded.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// mdCell escapes what would end a table cell.
func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// goTestsNaming finds, in the project's Go tests below root (this package
// aside), the tests and subtests whose code holds a string literal that is
// exactly a rule's name: "pkg/file_test.go: TestX/sub", by rule, sorted.
func goTestsNaming(root string, names map[string]bool) (map[string][]string, error) {
	found := map[string]map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if n := d.Name(); rel != "." && (strings.HasPrefix(n, ".") || n == "testdata" || rel == filepath.Join("engine", "ruletest")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Body == nil {
				continue
			}
			walkTest(fn.Body, fn.Name.Name, func(test, rule string) {
				if !names[rule] {
					return
				}
				if found[rule] == nil {
					found[rule] = map[string]bool{}
				}
				found[rule][filepath.ToSlash(rel)+": "+test] = true
			})
		}
		return nil
	})
	out := map[string][]string{}
	for rule, ts := range found {
		for k := range ts {
			out[rule] = append(out[rule], k)
		}
		slices.Sort(out[rule])
	}
	return out, err
}

// walkTest calls found with the (sub)test name and the value of every
// string literal below n; a t.Run("name", func...) call names its subtest
// as go test does (spaces as underscores).
func walkTest(n ast.Node, test string, found func(test, lit string)) {
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Run" || len(n.Args) != 2 {
				return true
			}
			lit, ok := n.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			name, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			walkTest(n.Args[1], test+"/"+strings.ReplaceAll(name, " ", "_"), found)
			return false
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if s, err := strconv.Unquote(n.Value); err == nil {
					found(test, s)
				}
			}
		}
		return true
	})
}
