package rules

import (
	"strings"
	"testing"
	"unicode"
)

// loadOne loads srcs and fails the test on error.
func loadOne(t *testing.T, srcs ...Source) *Set {
	t.Helper()
	set, err := LoadSources(srcs...)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return set
}

// charAt returns the character at p in set's files.
func charAt(set *Set, p Pos) (rune, bool) {
	line := set.SourceLine(p)
	n := 1
	for _, r := range line {
		if n == p.Col {
			return r, true
		}
		n++
	}
	return 0, false
}

// checkVerbatim checks that every non-space character of t maps to the
// same character in the file.
func checkVerbatim(t *testing.T, set *Set, text Text) {
	t.Helper()
	for i, r := range text.S {
		if unicode.IsSpace(r) {
			continue
		}
		p := text.Pos(i)
		if got, ok := charAt(set, p); !ok || got != r {
			t.Errorf("offset %d (%q) maps to %s, which holds %q", i, r, p, got)
		}
	}
}

func TestTextPos(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     string // the condition of the macro m
		at       string // a substring of want
		pos      string // where at starts
		verbatim bool   // every character maps to itself
	}{
		{
			name: "plain",
			yaml: "- macro: m\n  condition: evt.type == \"exec\" && proc.tty != 0\n",
			want: `evt.type == "exec" && proc.tty != 0`,
			at:   "proc.tty", pos: "f.yaml:2:36", verbatim: true,
		},
		{
			name: "plain on several lines",
			yaml: "- macro: m\n  condition: evt.type == \"exec\"\n    && proc.name == \"bash\"\n      && proc.tty != 0\n",
			want: `evt.type == "exec" && proc.name == "bash" && proc.tty != 0`,
			at:   "proc.tty", pos: "f.yaml:4:10", verbatim: true,
		},
		{
			name: "folded, third line",
			yaml: "- macro: m\n  condition: >-\n    evt.type == \"exec\"\n    && proc.name in shell_binaries\n    && container.id != \"\"\n",
			want: `evt.type == "exec" && proc.name in shell_binaries && container.id != ""`,
			at:   "container.id", pos: "f.yaml:5:8", verbatim: true,
		},
		{
			name: "folded with blank and more-indented lines",
			yaml: "- macro: m\n  condition: >\n    a &&\n\n    b &&\n      c\n    && d\n",
			want: "a &&\nb &&\n  c\n&& d\n",
			at:   "d", pos: "f.yaml:7:8", verbatim: true,
		},
		{
			name: "literal, keep",
			yaml: "- macro: m\n  condition: |+ # comment\n    a # not a comment\n      && b\n\n    && c\n\n",
			want: "a # not a comment\n  && b\n\n&& c\n\n",
			at:   "&& c", pos: "f.yaml:6:5", verbatim: true,
		},
		{
			name: "literal with indentation indicator",
			yaml: "- macro: m\n  condition: |1\n      a\n     && b\n",
			want: "   a\n  && b\n",
			at:   "b", pos: "f.yaml:4:9", verbatim: true,
		},
		{
			name: "single quoted",
			yaml: "- macro: m\n  condition: 'proc.name == ''it''''s'' && x'\n",
			want: `proc.name == 'it''s' && x`,
			at:   "x", pos: "f.yaml:2:43",
		},
		{
			name: "double quoted with escapes",
			yaml: "- macro: m\n  condition: \"proc.name == \\\"caf\\u00e9\\\"\\t&& x\"\n",
			want: "proc.name == \"café\"\t&& x",
			at:   "x", pos: "f.yaml:2:46",
		},
		{
			name: "double quoted, escaped line break",
			yaml: "- macro: m\n  condition: \"a && \\\n    b\\x20&& c\"\n",
			want: "a && b && c",
			at:   "c", pos: "f.yaml:3:13",
		},
		{
			name: "double quoted, escape position",
			yaml: "- macro: m\n  condition: \"a == \\\"b\\\"\"\n",
			want: `a == "b"`,
			at:   `"b`, pos: "f.yaml:2:20", // the backslash
		},
		{
			name: "characters, not bytes",
			yaml: "- macro: m\n  condition: proc.name == \"zażółć\" && x\n",
			want: `proc.name == "zażółć" && x`,
			at:   "x", pos: "f.yaml:2:39", verbatim: true,
		},
		{
			name: "anchor and tag",
			yaml: "- macro: m\n  condition: &c !!str a && b\n",
			want: "a && b",
			at:   "b", pos: "f.yaml:2:28", verbatim: true,
		},
		{
			name: "alias maps to the anchor",
			yaml: "- macro: n\n  condition: &c >\n    a &&\n    b\n- macro: m\n  condition: *c\n",
			want: "a && b\n",
			at:   "b", pos: "f.yaml:4:5", verbatim: true,
		},
		{
			name: "flow mapping",
			yaml: "- {macro: m, condition: \"a && b\"}\n",
			want: "a && b",
			at:   "b", pos: "f.yaml:1:31", verbatim: true,
		},
		{
			name: "CRLF",
			yaml: "- macro: m\r\n  condition: >-\r\n    a &&\r\n    b\r\n",
			want: "a && b",
			at:   "b", pos: "f.yaml:4:5", verbatim: true,
		},
		{
			name: "tab inside the value",
			yaml: "- macro: m\n  condition: |-\n    a\t&& b\n",
			want: "a\t&& b",
			at:   "b", pos: "f.yaml:3:10", verbatim: true,
		},
		{
			name: "byte order mark",
			yaml: "\ufeff- macro: m\n  condition: a && b\n",
			want: "a && b",
			at:   "b", pos: "f.yaml:2:19", verbatim: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := loadOne(t, Source{Name: "f.yaml", Data: []byte(tt.yaml)})
			var m *Macro
			for _, x := range set.Macros {
				if x.Name == "m" {
					m = x
				}
			}
			c := m.Condition
			if c.S != tt.want {
				t.Fatalf("condition = %q, want %q", c.S, tt.want)
			}
			if got := c.Pos(strings.Index(c.S, tt.at)).String(); got != tt.pos {
				t.Errorf("Pos(offset of %q) = %s, want %s", tt.at, got, tt.pos)
			}
			if tt.verbatim {
				checkVerbatim(t, set, c)
			}
			for i := -1; i <= len(c.S)+1; i++ {
				if p := c.Pos(i); p.File != "f.yaml" || p.Line < 1 || p.Col < 1 {
					t.Errorf("Pos(%d) = %s", i, p)
				}
			}
		})
	}
}

func TestTextPosEnds(t *testing.T) {
	set := loadOne(t, Source{Name: "f.yaml", Data: []byte("- macro: m\n  condition: a && bc\n- rule: r\n  desc: d\n  condition: m\n  output: ''\n  priority: info\n")})
	c := set.Macros[0].Condition
	for _, tc := range []struct {
		off  int
		want string
	}{
		{-5, "f.yaml:2:14"},
		{0, "f.yaml:2:14"},
		{len(c.S) - 1, "f.yaml:2:20"},
		{len(c.S), "f.yaml:2:21"}, // just after the text, where "unexpected end" errors point
		{len(c.S) + 10, "f.yaml:2:21"},
	} {
		if got := c.Pos(tc.off).String(); got != tc.want {
			t.Errorf("Pos(%d) = %s, want %s", tc.off, got, tc.want)
		}
	}
	if got := set.Rules[0].Output.Pos(0).String(); got != "f.yaml:6:11" {
		t.Errorf("empty output: Pos(0) = %s, want the quote at f.yaml:6:11", got)
	}
	if p := (Text{S: "x"}).Pos(0); p != (Pos{}) {
		t.Errorf("Text without spans: Pos(0) = %v, want the zero Pos", p)
	}
}

// An appended condition is "(old) new": its parts map to both files, and
// the inserted parentheses and space to the nearest real byte.
func TestTextPosAppend(t *testing.T) {
	set := loadOne(t,
		Source{Name: "a.yaml", Data: []byte("- macro: m\n  condition: >-\n    x &&\n    y\n")},
		Source{Name: "b.yaml", Data: []byte("- macro: m\n  condition: |-\n    && z\n  override: {condition: append}\n")},
		Source{Name: "c.yaml", Data: []byte("- macro: m\n  condition: '|| w'\n  override:\n    condition: append\n")},
	)
	c := set.Macros[0].Condition
	if want := "((x && y) && z) || w"; c.S != want {
		t.Fatalf("condition = %q, want %q", c.S, want)
	}
	for _, tc := range []struct {
		off  int
		want string
	}{
		{0, "a.yaml:3:5"},   // ( of the second append: x
		{1, "a.yaml:3:5"},   // ( of the first append: x
		{2, "a.yaml:3:5"},   // x
		{7, "a.yaml:4:5"},   // y
		{8, "a.yaml:4:5"},   // ): y
		{9, "b.yaml:3:5"},   // space: &&
		{10, "b.yaml:3:5"},  // &&
		{13, "b.yaml:3:8"},  // z
		{14, "b.yaml:3:8"},  // ): z
		{15, "c.yaml:2:15"}, // space: ||
		{16, "c.yaml:2:15"}, // ||
		{19, "c.yaml:2:18"}, // w
		{20, "c.yaml:2:19"}, // end
	} {
		if got := c.Pos(tc.off).String(); got != tc.want {
			t.Errorf("Pos(%d) (%q) = %s, want %s", tc.off, c.S[min(tc.off, len(c.S)-1):], got, tc.want)
		}
	}
	for i, r := range c.S {
		if r == '(' || r == ')' || r == ' ' {
			continue
		}
		if got, _ := charAt(set, c.Pos(i)); got != r {
			t.Errorf("offset %d (%q) maps to %s, which holds %q", i, r, c.Pos(i), got)
		}
	}
}

// Lines are numbered as yaml.v3 numbers them: CR LF, LF, a lone CR and
// the YAML 1.1 breaks NEL, LS and PS each end a line.
func TestSourceLines(t *testing.T) {
	set := loadOne(t, src("f.yaml", "- macro: a\r\n  condition: x\r- macro: b\u0085  condition: y\u2028- macro: c\n  condition: é && z\n"))
	for i, want := range []string{"f.yaml:2:14", "f.yaml:4:14", "f.yaml:6:19"} {
		c := set.Macros[i].Condition
		if got := c.Pos(len(c.S) - 1).String(); got != want {
			t.Errorf("macro %s: Pos = %s, want %s", set.Macros[i].Name, got, want)
		}
	}
	for n, want := range []string{"", "- macro: a", "  condition: x", "- macro: b", "  condition: y", "- macro: c", "  condition: é && z", "", ""} {
		if got := set.SourceLine(Pos{File: "f.yaml", Line: n}); got != want {
			t.Errorf("SourceLine(%d) = %q, want %q", n, got, want)
		}
	}
	if got := set.SourceLine(Pos{File: "other.yaml", Line: 1}); got != "" {
		t.Errorf("SourceLine of an unknown file = %q", got)
	}
}
