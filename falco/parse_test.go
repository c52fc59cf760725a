package falco

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestParseFormat parses conditions and prints them back canonically:
// the canonical form shows what was understood (operator, value text,
// quoting, grouping).
func TestParseFormat(t *testing.T) {
	tests := []struct{ in, want string }{
		// Every operator, with and without blanks where Falco allows it.
		{"proc.name=bash", "proc.name = bash"},
		{"proc.name==bash", "proc.name = bash"},
		{"proc.name != bash", "proc.name != bash"},
		{"evt.res<0", "evt.res < 0"},
		{"evt.res<=0", "evt.res <= 0"},
		{"evt.res>0", "evt.res > 0"},
		{"evt.res >= 0", "evt.res >= 0"},
		{"proc.cmdline contains nc", "proc.cmdline contains nc"},
		{"proc.cmdline icontains NC", "proc.cmdline icontains NC"},
		{"evt.buffer bcontains 7f454c46", "evt.buffer bcontains 7f454c46"},
		{"fd.name startswith /etc", "fd.name startswith /etc"},
		{"evt.buffer bstartswith 7f45", "evt.buffer bstartswith 7f45"},
		{"fd.name endswith .pem", "fd.name endswith .pem"},
		{"fd.name glob '/srv/*/keys/*'", `fd.name glob "/srv/*/keys/*"`},
		{"fd.name iglob '*.PEM'", `fd.name iglob "*.PEM"`},
		{`proc.name regex '^x[0-9]+$'`, `proc.name regex "^x[0-9]+$"`},
		{"proc.name in (vi, vim)", "proc.name in (vi, vim)"},
		{"evt.type in(open,openat)", "evt.type in (open, openat)"},
		{"proc.args intersects ('-e', '-c')", `proc.args intersects ("-e", "-c")`},
		{"fd.name pmatch (/srv/data, /opt)", "fd.name pmatch (/srv/data, /opt)"},
		{"proc.tty exists", "proc.tty exists"},
		{"not proc.tty exists", "not proc.tty exists"},
		{"proc.tty   exists", "proc.tty exists"},

		// Bare strings keep brackets, colons, slashes; quoted strings
		// keep everything and resolve Falco's escapes.
		{"proc.pname in (runc:[0:PARENT], runc:[1:CHILD], runc)", "proc.pname in (runc:[0:PARENT], runc:[1:CHILD], runc)"},
		{`proc.cmdline = "say \"hi\""`, `proc.cmdline = "say \"hi\""`},
		{`proc.cmdline = 'say "hi"'`, `proc.cmdline = "say \"hi\""`},
		{`proc.cmdline = 'it\'s'`, `proc.cmdline = "it's"`},
		{`proc.cmdline = "a\tb\nc\rd\be\ff"`, `proc.cmdline = "a\tb\nc\rd\be\ff"`},
		{`fd.name = "\/etc\/shadow"`, `fd.name = "/etc/shadow"`},
		{`fd.name = "C:\\dir"`, `fd.name = "C:\\dir"`},
		// Falco reads '\ ' as a backslash (for old rules), and a final
		// backslash can only be written that way.
		{`fd.name = "a\ b"`, `fd.name = "a\\b"`},
		{`fd.name = "dir\ "`, `fd.name = "dir\ "`},
		{`fd.name = ""`, `fd.name = ""`},
		{`fd.name = "x y" and proc.name=z`, `fd.name = "x y" and proc.name = z`},
		{`fd.name="a"or proc.name=b`, `fd.name = "a" or proc.name = b`},
		{"proc.name = 'multi\nline'", `proc.name = "multi\nline"`},

		// Lists.
		{"proc.name in ()", "proc.name in ()"},
		{"proc.name in ( )", "proc.name in ()"},
		{"proc.name in (\n  a,\n  'b c' ,\"d\"\n)", `proc.name in (a, "b c", "d")`},
		{"proc.name in shell_binaries", "proc.name in shell_binaries"},
		{"proc.name in (shell_binaries)", "proc.name in (shell_binaries)"},
		{"proc.name pmatch(dirs)", "proc.name pmatch (dirs)"},
		{"proc.name in val(proc.pname)", "proc.name in val(proc.pname)"},
		{"proc.name in tolower(proc.pname)", "proc.name in tolower(proc.pname)"},

		// Grouping: and binds tighter than or, not tighter than and;
		// parentheses that change nothing go, the others stay.
		{"a or b and c", "a or b and c"},
		{"(a or b) and c", "(a or b) and c"},
		{"a and (b or c)", "a and (b or c)"},
		{"(a and b) or c", "a and b or c"},
		{"(a and b) and c", "(a and b) and c"},
		{"a or (b or c)", "a or (b or c)"},
		{"((a))", "a"},
		{"not (a and b)", "not (a and b)"},
		{"not a and b", "not a and b"},
		{"not not a", "a"},
		{"not not not a", "not a"},
		{"not (not a)", "not (not a)"},
		{"not\tnot\na", "a"},

		// and(, or(, not( without blanks.
		{"a and(b or c)", "a and (b or c)"},
		{"a or(b and c)", "a or b and c"},
		{"not(a_macro)", "not a_macro"},
		{"not(a)and(b)", "not a and b"},
		{"a and not(b)", "a and not b"},
		{"not(not(a))", "not (not a)"},

		// Identifiers that start with keywords are macro names.
		{"not_a_macro", "not_a_macro"},
		{"notx and android or orange", "notx and android or orange"},
		{"nothing.x = 1", "nothing.x = 1"},

		// Transformers and val().
		{"tolower(proc.name) = bash", "tolower(proc.name) = bash"},
		{"toupper( proc.name ) = BASH", "toupper(proc.name) = BASH"},
		{"len(proc.args) > 2", "len(proc.args) > 2"},
		{"basename(proc.exe) in (sh, bash)", "basename(proc.exe) in (sh, bash)"},
		{"tolower(b64(evt.arg.data)) contains abc", "tolower(b64(evt.arg.data)) contains abc"},
		{"proc.name = val(proc.pname)", "proc.name = val(proc.pname)"},
		{"proc.name = val( proc.pname )", "proc.name = val(proc.pname)"},
		{"proc.pid > val(proc.ppid)", "proc.pid > val(proc.ppid)"},
		{"proc.name = tolower(proc.pname)", "proc.name = tolower(proc.pname)"},
		{"len(proc.args) >= len(proc.env)", "len(proc.args) >= len(proc.env)"},

		// Field names and arguments.
		{"evt.arg.flags contains O_TRUNC", "evt.arg.flags contains O_TRUNC"},
		{"evt.arg[1] = x", "evt.arg[1] = x"},
		{"proc.aname[2]=sshd", "proc.aname[2] = sshd"},
		{"container.mount.dest[/var/run/docker.sock] exists", "container.mount.dest[/var/run/docker.sock] exists"},
		{`k8s.pod.label["app.kubernetes.io/name"] = web`, `k8s.pod.label["app.kubernetes.io/name"] = web`},
		{`k8s.pod.label['a b'] = web`, `k8s.pod.label["a b"] = web`},
		{"proc.aname[x(y)] = z", "proc.aname[x(y)] = z"},

		// Numbers: hex first, then decimal with an optional signed
		// exponent. A string operator takes a number as a bare string.
		{"fd.num >= -1", "fd.num >= -1"},
		{"evt.arg.mode > 0x1F", "evt.arg.mode > 0x1F"},
		{"x.y < 1.5e+3", "x.y < 1.5e+3"},
		{"x.y <= +3.", "x.y <= +3."},
		{"fd.num = 0", "fd.num = 0"},
		// Falco's lexer lets a keyword follow a number directly.
		{"fd.num>=0and x", "fd.num >= 0 and x"},

		// Blanks, newlines and Falco's \b are all blanks.
		{"  a and\n  b\tor\r\nc  ", "a and b or c"},
		{"a\band\bb", "a and b"},
	}
	for _, tt := range tests {
		n, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := Format(n); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// tree prints the shape of a node, to test grouping without relying on
// Format's parentheses.
func tree(n Node) string {
	switch n := n.(type) {
	case *Or:
		return "(or " + trees(n.Terms) + ")"
	case *And:
		return "(and " + trees(n.Terms) + ")"
	case *Not:
		return "(not " + tree(n.X) + ")"
	case *Ident:
		return n.Name
	case *Check:
		return "{" + Format(n) + "}"
	}
	return "?"
}

func trees(ns []Node) string {
	var s []string
	for _, n := range ns {
		s = append(s, tree(n))
	}
	return strings.Join(s, " ")
}

func TestParseTree(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a or b and c", "(or a (and b c))"},
		{"a and b or c and d", "(or (and a b) (and c d))"},
		{"a and b and c", "(and a b c)"},
		{"a or b or c", "(or a b c)"},
		{"not a and b", "(and (not a) b)"},
		{"not a or not b", "(or (not a) (not b))"},
		{"not (a or b) and c", "(and (not (or a b)) c)"},
		{"a and (b and c)", "(and a (and b c))"},
		{"a and(b or c)", "(and a (or b c))"},
		{"not proc.name = x and y.z exists", "(and (not {proc.name = x}) {y.z exists})"},
	}
	for _, tt := range tests {
		n, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := tree(n); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestParseAST checks every field and offset of a parsed condition: the
// translator relies on them, and errors point with them.
func TestParseAST(t *testing.T) {
	//        0         1         2         3         4         5         6         7
	//        0123456789012345678901234567890123456789012345678901234567890123456789012345
	in := `not tolower(proc.aname['x']) in (a, "b") or (fd.num>=0x10 and m)`
	want := &Or{Off: 0, Terms: []Node{
		&Not{Off: 0, X: &Check{
			Off:   4,
			Field: Field{Off: 4, End: 28, NameOff: 12, Name: "proc.aname", Arg: "x", HasArg: true, ArgOff: 23, ArgQuote: true, Transformers: []string{"tolower"}},
			Op:    "in", OpOff: 29,
			List: &List{Off: 32, End: 40, Items: []Value{
				{Off: 33, End: 34, Text: "a"},
				{Off: 36, End: 39, Text: "b", Quoted: true},
			}},
		}},
		&And{Off: 45, Terms: []Node{
			&Check{
				Off:   45,
				Field: Field{Off: 45, End: 51, NameOff: 45, Name: "fd.num"},
				Op:    ">=", OpOff: 51,
				Value: &Value{Off: 53, End: 57, Text: "0x10"},
			},
			&Ident{Off: 62, Name: "m"},
		}},
	}}
	got, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(%q) =\n%s\nwant\n%s", in, dump(got), dump(want))
	}

	in = "proc.name = val(proc.pname) and proc.pid in pids"
	got, err = Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	wantVal := &Value{Off: 12, End: 27, Field: &Field{Off: 16, End: 26, NameOff: 16, Name: "proc.pname"}}
	if v := got.(*And).Terms[0].(*Check).Value; !reflect.DeepEqual(v, wantVal) {
		t.Errorf("val(): %#v, want %#v", v, wantVal)
	}
	wantList := &List{Off: 44, End: 48, Ref: "pids", RefOff: 44}
	if l := got.(*And).Terms[1].(*Check).List; !reflect.DeepEqual(l, wantList) {
		t.Errorf("list ref: %#v, want %#v", l, wantList)
	}
}

// dump prints a node with its pointers followed, for failure messages.
func dump(n Node) string {
	var b strings.Builder
	var walk func(n Node)
	walk = func(n Node) {
		switch n := n.(type) {
		case *Or:
			b.WriteString("Or{")
			for _, t := range n.Terms {
				walk(t)
				b.WriteString(", ")
			}
			b.WriteString("}")
		case *And:
			b.WriteString("And{")
			for _, t := range n.Terms {
				walk(t)
				b.WriteString(", ")
			}
			b.WriteString("}")
		case *Not:
			b.WriteString("Not{")
			walk(n.X)
			b.WriteString("}")
		case *Check:
			b.WriteString(sprint(*n))
			if n.Value != nil {
				b.WriteString(" Value:" + sprint(*n.Value))
				if n.Value.Field != nil {
					b.WriteString(" ValueField:" + sprint(*n.Value.Field))
				}
			}
			if n.List != nil {
				b.WriteString(" List:" + sprint(*n.List))
			}
		default:
			b.WriteString(sprint(n))
		}
	}
	walk(n)
	return b.String()
}

func sprint(v any) string { return fmt.Sprintf("%+v", v) }

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in  string
		off int
		msg string
	}{
		{"", 0, "empty condition"},
		{" \n\t", 0, "empty condition"},
		{"a and", 5, "expected a condition after 'and', found end of condition"},
		{"a or ", 5, "expected a field check, a macro name or '(' after 'or', found end of condition"},
		{"a andb", 5, "expected a blank or '(' after 'and', found 'b'"},
		{"a or)", 4, "expected a blank or '(' after 'or', found ')'"},
		{"a and and b", 6, "expected a field check, a macro name or '(' after 'and', found 'and'"},
		{"a and not", 9, "expected a field check, a macro name or '(' after 'not', found end of condition"},
		{"not ", 4, "expected a field check, a macro name or '(' after 'not', found end of condition"},
		{"(a", 2, "expected ')' after 'a', found end of condition"},
		{"(a b)", 3, "expected ')' after 'a', found 'b'"},
		{"not(a", 5, "expected ')' after 'a', found end of condition"},
		{"a)", 1, "unexpected ')' without a matching '('"},
		{"a b", 2, "unexpected 'b' after 'a', expected 'and', 'or' or the end of the condition"},
		{"proc.name = bash bash", 17, "unexpected 'bash' after 'bash', expected 'and', 'or' or the end of the condition"},
		{"a(b)", 1, "unexpected '(' after 'a', expected 'and', 'or' or the end of the condition"},

		// CEL spellings get a hint.
		{"a && b", 2, "unexpected '&&' after 'a', expected 'and', 'or' or the end of the condition (write 'and' instead of '&&')"},
		{`proc.name = "x" || b`, 16, `unexpected '||' after '"x"', expected 'and', 'or' or the end of the condition (write 'or' instead of '||')`},
		{"!a", 0, "expected a field check, a macro name or '(', found '!' (write 'not' instead of '!')"},
		{"a and !b", 6, "expected a field check, a macro name or '(' after 'and', found '!' (write 'not' instead of '!')"},

		// Operators and values.
		{"proc.name", 9, "expected an operator (one of " + allOps + ") after 'proc.name', found end of condition"},
		{"proc.name ~ x", 10, "expected an operator (one of " + allOps + ") after 'proc.name', found '~'"},
		{"proc.name =", 11, "expected a value after '=', found end of condition"},
		{"proc.name = )", 12, "expected a value after '=', found ')'"},
		{"proc.name contains", 18, "expected a value after 'contains', found end of condition"},
		{"proc.name contains(x)", 18, "expected a blank after 'contains', found '('"},
		{"proc.name globx", 14, "expected a blank after 'glob', found 'x'"},
		{"evt.res > x", 10, "expected a number after '>', found 'x'"},
		{"evt.res >= 0xg", 12, "unexpected 'xg' after '0', expected 'and', 'or' or the end of the condition"},
		{"proc.name in", 12, "expected a list in parentheses or a list name after 'in', found end of condition"},
		{"proc.name in 'a'", 13, "expected a list in parentheses or a list name after 'in', found \"'\""},
		{"proc.name in (a b)", 16, "expected ',' or ')' after 'a', found 'b'"},
		{"proc.name in (a,)", 16, "expected a value after ',', found ')'"},
		{"proc.name in (a, )", 17, "expected a value after ',', found ')'"},
		{"proc.name in (,a)", 14, "expected a value after '(', found ','"},
		{"proc.name in (a", 15, "expected ',' or ')' after 'a', found end of condition"},
		{"proc.name in (val(x.y))", 17, "expected ',' or ')' after 'val', found '('"},

		// Quoted strings.
		{`proc.name = "bash`, 12, "unterminated quoted string"},
		{`proc.name = 'bash`, 12, "unterminated quoted string"},
		{`proc.name = "a\\" or b`, 12, `unterminated quoted string (a quote right after a backslash never ends a string in Falco, even after \\)`},
		{`proc.name = "a\qb"`, 14, `unsupported escape sequence '\q' in quoted string`},
		{`proc.name = "a\'b"`, 14, `invalid \' escape in "-quoted string`},
		{`proc.name = 'a\"b'`, 14, `invalid \" escape in '-quoted string`},
		{"proc.name in (\"a\", 'b)", 19, "unterminated quoted string"},
		{`proc.name = "\x41"`, 13, `unsupported escape sequence '\x' in quoted string`},

		// Fields and their arguments.
		{"proc.aname[", 11, "expected a field argument after '[', found end of condition"},
		{"proc.aname[]", 11, "expected a field argument after '[', found ']'"},
		{"proc.aname[2 ]", 12, "expected ']' after '2', found ' '"},
		{"proc.aname[2", 12, "expected ']' after '2', found end of condition"},
		{"proc.aname['2' = x", 14, "expected ']' after \"'2'\", found ' '"},
		{"proc.aname [2] = x", 11, "expected an operator (one of " + allOps + ") after 'proc.aname', found '['"},
		{"fd.1 = x", 2, "unexpected '.1' after 'fd', expected 'and', 'or' or the end of the condition"},

		// Transformers and val().
		{"tolower(proc.name = x", 18, "expected ')' closing 'tolower(' after 'proc.name', found '='"},
		{"tolower() = x", 8, "expected a field after 'tolower(', found ')'"},
		{"tolower(x) = y", 8, "expected a field after 'tolower(', found 'x'"},
		{"tolower(a.b, c.d) = y", 11, "the 'tolower' field transformer takes one field"},
		{"join(',', proc.args) = x", 0, "the 'join' field transformer is not supported"},
		{"tolower(join(',', a.b)) = x", 8, "the 'join' field transformer is not supported"},
		{"tolower(proc.name)", 18, "expected an operator (one of " + allOps + ") after ')', found end of condition"},
		{"proc.name = val(x)", 16, "expected a field after 'val(', found 'x'"},
		{"proc.name = val(a.b", 19, "expected ')' closing 'val(' after 'a.b', found end of condition"},
		{"proc.name = val(tolower(a.b))", 16, "expected a field after 'val(', found 'tolower'"},
		{"tolower (proc.name) = x", 8, "unexpected '(' after 'tolower', expected 'and', 'or' or the end of the condition"},
	}
	for _, tt := range tests {
		n, err := Parse(tt.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, %v; want *Error", tt.in, n, err)
			continue
		}
		if e.Off != tt.off || e.Msg != tt.msg {
			t.Errorf("Parse(%q):\n got offset %d: %s\nwant offset %d: %s", tt.in, e.Off, e.Msg, tt.off, tt.msg)
		}
	}
	if got, want := (&Error{Off: 3, Msg: "m"}).Error(), "offset 3: m"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestParseDepth checks that nesting is limited to maxDepth levels, with
// an error at the first level too many, whatever nests.
func TestParseDepth(t *testing.T) {
	nest := func(open, inner, close string, n int) string {
		return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
	}
	tests := []struct {
		name        string
		open, inner string
		close       string
		width       int // bytes per level, to find the bad one
	}{
		{"parens", "(", "a", ")", 1},
		{"not(", "not(", "a", ")", 4},
		{"transformers", "tolower(", "a.b", ")", 8},
	}
	for _, tt := range tests {
		ok := nest(tt.open, tt.inner, tt.close, maxDepth)
		if tt.name == "transformers" {
			ok += " = x"
		}
		if _, err := Parse(ok); err != nil {
			t.Errorf("%s: %d levels: %v", tt.name, maxDepth, err)
		}
		bad := nest(tt.open, tt.inner, tt.close, maxDepth+1)
		if tt.name == "transformers" {
			bad += " = x"
		}
		_, err := Parse(bad)
		want := &Error{Off: maxDepth * tt.width, Msg: "exceeded max depth limit of 100"}
		if !reflect.DeepEqual(err, want) {
			t.Errorf("%s: %d levels: %v, want %v", tt.name, maxDepth+1, err, want)
		}
	}
	// A long flat chain is not deep.
	long := "a" + strings.Repeat(" and a", 10000)
	if n, err := Parse(long); err != nil || len(n.(*And).Terms) != 10001 {
		t.Errorf("long chain: %v", err)
	}
	// Many 'not's in a row are a loop, not nesting.
	if n, err := Parse(strings.Repeat("not ", 1001) + "a"); err != nil || tree(n) != "(not a)" {
		t.Errorf("many nots: %v", err)
	}
}

func TestParseListItem(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		quoted bool
	}{
		{"bash", "bash", false},
		{"runc:[0:PARENT]", "runc:[0:PARENT]", false},
		{`"sh -c uname -p 2> /dev/null"`, "sh -c uname -p 2> /dev/null", true},
		{`'/usr/bin/x'`, "/usr/bin/x", true},
		{`"say \"hi\""`, `say "hi"`, true},
		{`"a\tb"`, "a\tb", true},
		// Falco quotes an item with a space, so escapes in it count.
		{`two words`, "two words", true},
		{`tab\there x`, "tab\there x", true},
		// A backslash in an item without a space stays as written.
		{`a\tb`, `a\tb`, false},
		// Not one whole quoted string: taken as is.
		{`"a" "b"`, `"a" "b"`, false},
		{`"open`, `"open`, false},
		{`"bad \q"`, `"bad \q"`, false},
		{`C:\Program Files`, `C:\Program Files`, false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, quoted := ParseListItem(tt.in)
		if got != tt.want || quoted != tt.quoted {
			t.Errorf("ParseListItem(%q) = %q, %v; want %q, %v", tt.in, got, quoted, tt.want, tt.quoted)
		}
	}
}

// TestQuoteText checks that every text survives being quoted and lexed
// back, including the ones Falco's lexer makes awkward.
func TestQuoteText(t *testing.T) {
	for _, text := range []string{"", `\`, `\\`, `a\`, `"`, `\"`, `'`, "\x00\xff", "a\\\nb", `x\ `} {
		q := quoteText(text)
		if j := scanQuoted(q, 0); j != len(q) {
			t.Errorf("quoteText(%q) = %s: ends at %d", text, q, j)
			continue
		}
		if got, _, msg := unquote(q); got != text || msg != "" {
			t.Errorf("quoteText(%q) = %s, reads back as %q (%s)", text, q, got, msg)
		}
	}
}
