package engine

import (
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"testing"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

func builtinRuleset(t testing.TB) *Ruleset {
	t.Helper()
	rs, err := CompilePaths(Options{Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// literals collects every string the rules mention: list items and string
// constants in conditions and exceptions.
func literals(rs *Ruleset) []string {
	seen := map[string]bool{}
	for _, l := range rs.an.lists {
		for _, it := range l.Items {
			seen[it] = true
		}
	}
	add := func(e ast.Expr) {
		visit(e, func(x ast.Expr) {
			if x.Kind() == ast.LiteralKind {
				if s, ok := x.AsLiteral().(types.String); ok {
					seen[string(s)] = true
				}
			}
		})
	}
	for _, m := range rs.an.macros {
		if m.ast != nil {
			add(m.ast.NativeRep().Expr())
		}
	}
	for _, r := range rs.Rules {
		add(r.cond.NativeRep().Expr())
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// pathVariants are paths at, below, beside and above a path a rule names.
func pathVariants(p string) []string {
	if strings.ContainsAny(p, "*?[") {
		// A glob: also the path its wildcards could stand for.
		filled := strings.NewReplacer("*", "1", "?", "1", "[", "", "]", "").Replace(p)
		return append(pathVariants(p[:strings.IndexAny(p, "*?[")]), filled, filled+"/x")
	}
	if i := strings.IndexAny(p, "*?["); i >= 0 {
		p = p[:i]
	}
	clean := path.Clean(p)
	d := path.Dir(clean)
	return []string{clean, clean + "x", clean + "/x", clean + "/.x", clean + "/a/b.conf", d, d + "/other", path.Join(d, "x", path.Base(clean)),
		clean + ".bak", "/home/u" + clean, "/root" + clean, "/proc/1/root" + clean}
}

// The kernel never drops an open that some built-in rule matches.
func TestPrefilterSoundBuiltin(t *testing.T) {
	rs := builtinRuleset(t)
	pf := rs.Prefilter()
	vals := pf.Open.TrieValues()
	lits := literals(rs)
	var paths, words []string
	for _, s := range lits {
		if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.Contains(s, "/") {
			for _, v := range pathVariants(s) {
				if strings.HasPrefix(v, "/") {
					paths = append(paths, v)
				}
			}
			if !strings.HasPrefix(s, "/") {
				paths = append(paths, "/root/"+s, "/home/u/"+s, "/tmp/"+s)
			}
		} else {
			words = append(words, s)
		}
	}
	paths = append(paths, "/", "/tmp/x", "/usr/lib/x.so", "/etc/hosts")
	words = append(words, "", "cat", "bash", "python3", "nginx", "sshd")
	flagSet := []uint32{0, 0x1 | 0x40 | 0x200, 0x2, 0x1 | 0x400, 0x2 | 0x40 | 0x80, 0x410002, 0x80000, 0x1}

	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	m := NewMatcher()
	matchedRules := map[string]int{}
	var alerts []*event.Alert
	checked, matched := 0, 0
	try := func(fields map[string]any) {
		e, err := event.FromFields(fields)
		if err != nil {
			t.Fatal(err)
		}
		alerts = m.Match(rs, e, alerts[:0])
		checked++
		if len(alerts) == 0 {
			return
		}
		matched++
		for _, a := range alerts {
			matchedRules[a.Rule]++
		}
		if !pf.Open.Wants(vals, e.File.RawPath, e.File.Flags) {
			t.Errorf("the kernel would drop an open that rule %q matches: path=%q flags=%s proc=%q",
				alerts[0].Rule, e.File.Path, event.OpenFlagsString(e.File.Flags), e.Proc.Name)
		}
	}
	// Every path with every flag set, with a process name from the rules.
	for _, p := range paths {
		for _, fl := range flagSet {
			try(map[string]any{"evt.type": "open", "file.path": p, "file.flags": int(fl), "proc.name": pick(words), "proc.pname": pick(words)})
		}
	}
	// Every literal path prefix followed by every word, opened for writing.
	for _, l := range lits {
		if !strings.HasPrefix(l, "/") {
			continue
		}
		for _, w := range words {
			p := strings.TrimSuffix(l, "/") + "/1/" + w
			try(map[string]any{"evt.type": "open", "file.path": p, "file.flags": 0x241, "proc.name": "sh", "container.id": "0123456789ab"})
		}
	}
	// Every directory the rules name, anywhere in a tree, holding a file
	// with an ending the rules name (site-packages/x.pth).
	var ends []string
	for _, l := range lits {
		if strings.HasPrefix(l, ".") && !strings.Contains(l, "/") {
			ends = append(ends, l)
		}
	}
	for _, l := range lits {
		if strings.HasPrefix(l, "/") && !strings.ContainsAny(l, "*?[") {
			for _, e := range ends {
				try(map[string]any{"evt.type": "open", "file.path": "/usr/lib" + strings.TrimSuffix(l, "/") + "/x" + e, "file.flags": 0x241, "proc.name": "sh"})
			}
		}
	}
	// Random combinations of everything the rules mention; paths also
	// end in a word the rules mention (/proc/1/mem), and the raw path is
	// sometimes a ../ detour to the same file.
	results := []int{0, 3, -2, -13, -26}
	for range 150000 {
		p := pick(paths)
		switch rng.IntN(4) {
		case 1:
			p = strings.TrimSuffix(p, "/") + "/" + pick(words)
		case 2:
			p = strings.TrimSuffix(p, "/") + "/1/" + pick(words)
		}
		raw := p
		if rng.IntN(4) == 0 {
			raw = "/tmp/a/../../" + strings.TrimPrefix(p, "/")
		}
		try(map[string]any{
			"evt.type": "open", "file.path": p, "file.rawpath": raw, "evt.res": results[rng.IntN(len(results))],
			"file.flags": int(flagSet[rng.IntN(len(flagSet))]),
			"proc.name":  pick(words), "proc.pname": pick(words), "proc.exe": "/usr/bin/" + pick(words),
			"container.id": []string{"", "0123456789ab"}[rng.IntN(2)], "proc.uid": rng.IntN(2) * 1000,
			"proc.ancestors": []any{pick(words), pick(words)}, "proc.args": []any{pick(words), pick(paths)},
		})
	}
	t.Logf("%d opens checked, %d matched some rule; open filter: all=%v, %d entries", checked, matched, pf.Open.All, len(pf.Open.Paths))
	var unmatched []string
	for _, r := range rs.byType[event.TypeOpen] {
		if matchedRules[r.Name] == 0 {
			unmatched = append(unmatched, r.Name)
		}
	}
	if len(unmatched) > 0 {
		t.Errorf("the generated opens never matched these open rules, so their soundness is untested: %q", unmatched)
	}
}

// Sound on hand-written conditions whose shapes the analysis knows.
func TestPrefilterShapes(t *testing.T) {
	cases := []struct {
		cond string
		want string // describe() of the rule's set, or "all"
	}{
		{`evt.type == "open" && file.path == "/etc/shadow"`, "/etc/shadow"},
		{`evt.type == "open" && file.path in ["/a", "/b"]`, "/a, /b"},
		{`evt.type == "open" && file.path.startsWith("/etc/") && file.write`, "/etc/* (flags any of O_WRONLY|O_RDWR)"},
		{`evt.type == "open" && file.path.under("/etc/ssh")`, "/etc/ssh, /etc/ssh/*"},
		{`evt.type == "open" && file.dir == "/tmp"`, "/tmp/*"},
		{`evt.type == "open" && file.path.glob("/etc/cron.*/x")`, "/etc/cron.*"},
		{`evt.type == "open" && (file.path == "/a" || file.path.startsWith("/b/"))`, "/a, /b/*"},
		{`evt.type == "open" && file.path.startsWith("/etc/") && file.path.startsWith("/etc/ssh/")`, "/etc/ssh/*"},
		{`evt.type == "open" && file.path.startsWith("/etc/") && file.path.startsWith("/usr/")`, ""},
		{`evt.type == "open" && !(file.path == "/a")`, "all"},
		{`evt.type == "open" && file.name == "id_rsa"`, "*/id_rsa"},
		{`evt.type == "open" && file.name in [".bashrc", ".zshrc"] && file.write`, "*/.bashrc (flags any of O_WRONLY|O_RDWR), */.zshrc (flags any of O_WRONLY|O_RDWR)"},
		{`evt.type == "open" && file.name.endsWith(".log") && file.trunc`, "*.log (flags any of O_TRUNC)"},
		{`evt.type == "open" && file.path.endsWithAny(["/.ssh/id_rsa", ".pem"])`, "*.pem, */.ssh/id_rsa"},
		{`evt.type == "open" && file.path.startsWith("/home/") && file.name == ".bashrc"`, "*/.bashrc"},
		{`evt.type == "open" && file.path == "/x/.bashrc" && file.name == ".bashrc"`, "/x/.bashrc"},
		{`evt.type == "open" && file.path == "/x/.profile" && file.name == ".bashrc"`, ""},
		{`evt.type == "open" && file.name.endsWith(".log") && file.name.endsWith("auth.log")`, "*auth.log"},
		{`evt.type == "open" && file.path.glob("*/.bash_history")`, "*/.bash_history"},
		{`evt.type == "open" && file.name.startsWith(".")`, "all"},
		{`evt.type == "open" && file.name == ""`, "all"},
		{`file.modified && file.modified_name == "authorized_keys"`, "*/authorized_keys (flags any of O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_TMPFILE)"},
		{`evt.type == "open" && file.path.contains("/.ssh/")`, "all"},
		{`(evt.type == "exec" && proc.name == "x") || (evt.type == "open" && file.path == "/x")`, "/x"},
		{`evt.type in ["open", "exec"] && file.trunc`, "* (flags any of O_TRUNC)"},
		{`evt.type == "open" && file.proc_other && file.name in ["mem", "environ"]`, "*/environ, */mem"},
		{`evt.type == "open" && !file.proc_other`, "all"},
		{`evt.type == "open" && file.proc_pid == 1`, "all"},
	}
	for _, c := range cases {
		rs := mustCompile(t, "- rule: R\n  desc: d\n  condition: '"+c.cond+"'\n  output: o\n  priority: info\n")
		pf := rs.Prefilter()
		got := "all"
		if !pf.Open.All {
			got = describe(pf.Open.Paths)
		}
		if got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.cond, got, c.want)
		}
	}
}

// The kernel sends environments only when some enabled rule reads
// proc.env: in its condition, through a macro, or in its output.
func TestPrefilterEnv(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       bool
	}{
		{"condition", `
- rule: R
  desc: d
  condition: evt.type == "exec" && "LD_PRELOAD" in proc.env
  output: x
  priority: WARNING
`, true},
		{"macro", `
- macro: preload
  condition: proc.env[?"LD_PRELOAD"].orValue("") != ""
- rule: R
  desc: d
  condition: evt.type == "exec" && preload
  output: x
  priority: WARNING
`, true},
		{"output", `
- rule: R
  desc: d
  condition: evt.type == "exec" && proc.name == "sh"
  output: env %proc.env
  priority: WARNING
`, true},
		{"none", `
- rule: R
  desc: d
  condition: evt.type == "exec" && proc.name == "sh"
  output: x %proc.name
  priority: WARNING
`, false},
		{"disabled", `
- rule: R
  desc: d
  condition: evt.type == "exec" && "LD_PRELOAD" in proc.env
  output: x
  priority: WARNING
  enabled: false
- rule: S
  desc: d
  condition: evt.type == "exec"
  output: x
  priority: WARNING
`, false},
	}
	for _, c := range cases {
		rs := mustCompile(t, c.yaml)
		if got := rs.Prefilter().Env; got != c.want {
			t.Errorf("%s: Prefilter().Env = %v, want %v", c.name, got, c.want)
		}
	}
}

// The kernel's filters for issue 7's types: command names, ptrace
// requests and setid calls asking for root, as the rules require them.
func TestPrefilterArgs(t *testing.T) {
	bf := builtinRuleset(t).Prefilter().Args
	if !slices.Equal(bf.PtraceRequests, []uint32{0, 16, 0x4206}) || !bf.SetidToRoot || len(bf.Names) != 0 || !slices.Equal(bf.BPFCmds, []uint32{5}) || !bf.NoSetidOld {
		t.Errorf("built-in rules: %+v; want requests TRACEME, ATTACH, SEIZE, setid to root, BPF_PROG_LOAD only, no name filter, no old ids", bf)
	}
	rs := mustCompile(t, `
- macro: web
  condition: proc.name in ["nginx", "haproxy"]
- rule: L
  desc: d
  condition: evt.type == "listen" && web
  output: x
  priority: WARNING
- rule: A
  desc: d
  condition: evt.type in ["listen", "accept"] && proc.name == "sshd" && !evt.failed
  output: x
  priority: WARNING
- rule: C
  desc: d
  condition: evt.type == "chmod" && file.setuid
  output: x
  priority: WARNING
- rule: P
  desc: d
  condition: evt.type == "ptrace" && (ptrace.request == "PTRACE_POKETEXT" || ptrace.request == "PTRACE_POKEDATA")
  output: x
  priority: WARNING
- rule: S
  desc: d
  condition: evt.type == "setuid" && evt.failed
  output: x %setid.old_effective
  priority: WARNING
- rule: N
  desc: d
  condition: evt.type == "prctl" && (prctl.option in ["PR_SET_NAME", "PR_SET_DUMPABLE"] || prctl.option == "PR_SET_PTRACER")
  output: x
  priority: WARNING
`)
	f := rs.Prefilter().Args
	want := map[event.Type][]string{
		event.TypeListen: {"haproxy", "nginx", "sshd"},
		event.TypeAccept: {"sshd"},
		event.TypePtrace: nil, // present: ptrace rules constrain no name
	}
	if !slices.Equal(f.Names[event.TypeListen], want[event.TypeListen]) || !slices.Equal(f.Names[event.TypeAccept], want[event.TypeAccept]) {
		t.Errorf("names: %v, want %v", f.Names, want)
	}
	if _, ok := f.Names[event.TypeChmod]; ok {
		t.Errorf("chmod filtered by name: %v", f.Names)
	}
	if _, ok := f.Names[event.TypePtrace]; ok {
		t.Errorf("ptrace filtered by name: %v", f.Names)
	}
	if !slices.Equal(f.PtraceRequests, []uint32{4, 5}) {
		t.Errorf("ptrace requests %v, want [4 5]", f.PtraceRequests)
	}
	if !slices.Equal(f.PrctlOptions, []uint32{4, 15, 0x59616d61}) {
		t.Errorf("prctl options %v, want [4 15 0x59616d61]", f.PrctlOptions)
	}
	if !slices.Equal(bf.PrctlOptions, []uint32{15}) {
		t.Errorf("built-in rules: prctl options %v, want [PR_SET_NAME (15)]: only the kernel-thread rename rule reads prctl", bf.PrctlOptions)
	}
	if f.SetidToRoot {
		t.Error("setid filtered to root although rule S does not require it")
	}
	if f.NoSetidOld {
		t.Error("rule S prints setid.old_effective, yet the entry programs would be left off")
	}
}

// The path filters of the built-in rules, and their soundness: every test
// case of a path type that fires a rule passes the kernel's decision (the
// Go model of file_wanted), with its paths as a process would pass them.
func TestPrefilterFiles(t *testing.T) {
	rs := builtinRuleset(t)
	f := rs.Prefilter().Args.Files
	// History files are judged by their names wherever they are: path
	// ends, not all of /home and /root.
	hist := plan.PathRule{Path: "/.bash_history", Suffix: true}
	if got := f[event.TypeUnlink].First; !slices.Contains(got, hist) || slices.Contains(got, plan.PathRule{Path: "/home/"}) || f[event.TypeUnlink].Second != nil {
		t.Errorf("unlink: %+v", f[event.TypeUnlink])
	}
	if got := f[event.TypeRename]; !slices.Contains(got.First, hist) || !slices.Contains(got.Second, plan.PathRule{Path: "/usr/local/bin/"}) {
		t.Errorf("rename: %+v", got)
	}
	if got := f[event.TypeSymlink]; !slices.Contains(got.Second, plan.PathRule{Path: "/etc/shadow", Exact: true}) ||
		!slices.Contains(got.First, plan.PathRule{Path: "/usr/bin/"}) {
		t.Errorf("symlink: %+v", got)
	}
	// The file-change rules reach chmod through file.modified_path.
	if got := f[event.TypeChmod]; !slices.Contains(got.First, plan.PathRule{Path: "/etc/sudoers"}) || slices.Contains(got.First, plan.PathRule{Path: "/tmp/"}) || len(got.Second) != 0 {
		t.Errorf("chmod: %+v", got)
	}
}

// The kernel filters see lists as conditions do: the lists a list names
// expanded, quotes taken off; a list(int) constrains no string field.
func TestPrefilterNamedLists(t *testing.T) {
	rs := mustCompile(t, `
- list: etc_files
  items: [/etc/shadow, /etc/sudoers]
- list: watched
  items: [etc_files, '"/tmp/x y"']
- list: daemons
  items: [servers, '"etc_files"']
- list: servers
  items: [nginx]
- list: ports
  items: [80, 443]
- rule: O
  desc: d
  condition: evt.type == "open" && file.path in watched
  output: x
  priority: WARNING
- rule: L
  desc: d
  condition: evt.type == "listen" && proc.name in daemons
  output: x
  priority: WARNING
- rule: A
  desc: d
  condition: evt.type == "accept" && net.sport in ports
  output: x
  priority: WARNING
`)
	pf := rs.Prefilter()
	if got := describe(pf.Open.Paths); got != "/etc/shadow, /etc/sudoers, /tmp/x y" {
		t.Errorf("open paths %q", got)
	}
	if got := pf.Args.Names[event.TypeListen]; !slices.Equal(got, []string{"etc_files", "nginx"}) {
		t.Errorf("listen names %q, want [etc_files nginx]", got)
	}
	if got, ok := pf.Args.Names[event.TypeAccept]; ok {
		t.Errorf("accept filtered by name %q, though its rule constrains no name", got)
	}
}

// A rule on file.modified and file.modified_path applies to every type
// that changes a file, and the kernel filters each on the path that names
// the changed file: a rename's new path, a link's new name, an open's path
// with the flags that change it.
func TestPrefilterChanges(t *testing.T) {
	rs := mustCompile(t, "- rule: R\n  desc: d\n  condition: 'file.modified && file.modified_path.startsWith(\"/etc/sudoers\") && !evt.failed'\n  output: o\n  priority: info\n")
	if got, want := rs.Types(), []event.Type{event.TypeOpen, event.TypeRename, event.TypeLink, event.TypeSymlink, event.TypeChmod,
		event.TypeTruncate, event.TypeChown, event.TypeUtimes, event.TypeXattr, event.TypeChattr}; !slices.Equal(got, want) {
		t.Errorf("types %v, want %v", got, want)
	}
	pf := rs.Prefilter()
	if got, want := describe(pf.Open.Paths), "/etc/sudoers* (flags any of O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_TMPFILE)"; pf.Open.All || got != want {
		t.Errorf("open filter %q, want %q", got, want)
	}
	sudoers := []plan.PathRule{{Path: "/etc/sudoers"}}
	for _, ty := range []event.Type{event.TypeLink, event.TypeSymlink, event.TypeChmod, event.TypeTruncate, event.TypeChown, event.TypeUtimes, event.TypeXattr, event.TypeChattr} {
		if got := pf.Args.Files[ty]; !slices.Equal(got.First, sudoers) || got.Second != nil {
			t.Errorf("%s filter %+v, want first path %v", ty, got, sudoers)
		}
	}
	if got := pf.Args.Files[event.TypeRename]; got.First != nil || !slices.Equal(got.Second, sudoers) {
		t.Errorf("rename filter %+v, want the new path %v", got, sudoers)
	}

	// file.change narrows the types and, for opens, the flags.
	rs = mustCompile(t, "- rule: R\n  desc: d\n  condition: 'file.change == \"truncate\" && file.modified_name.endsWith(\".log\")'\n  output: o\n  priority: info\n")
	if got := rs.Types(); !slices.Equal(got, []event.Type{event.TypeOpen, event.TypeTruncate}) {
		t.Errorf("truncate types %v", got)
	}
	if pf := rs.Prefilter(); pf.Open.All || describe(pf.Open.Paths) != "*.log (flags any of O_TRUNC)" {
		t.Errorf("truncate open filter %+v", pf.Open)
	}
	rs = mustCompile(t, "- rule: R\n  desc: d\n  condition: 'file.change in [\"rename\", \"link\"] && file.modified_dir == \"/etc/cron.d\"'\n  output: o\n  priority: info\n")
	if got := rs.Types(); !slices.Equal(got, []event.Type{event.TypeRename, event.TypeLink}) {
		t.Errorf("rename/link types %v", got)
	}
	cron := []plan.PathRule{{Path: "/etc/cron.d/"}}
	if f := rs.Prefilter().Args.Files; !slices.Equal(f[event.TypeRename].Second, cron) || !slices.Equal(f[event.TypeLink].First, cron) {
		t.Errorf("rename/link filters %+v", f)
	}
}

// An unknown change kind is a load error at its position.
func TestChangeConstant(t *testing.T) {
	_, err := compile(t, "- rule: R\n  desc: d\n  condition: 'file.modified && file.change == \"truncated\"'\n  output: o\n  priority: info\n")
	if want := `a.yaml:3:47: rule "R": file.change is compared with "truncated", which is not one of its values (did you mean truncate?) (LOAD_BAD_CONSTANT)`; err == nil || strings.SplitN(err.Error(), "\n", 2)[0] != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

// The types that change a file without opening it get the path filter
// from a rule on file.path, like chmod: the kernel's plan holds the
// rule's prefix, and the type's name filter is off (no proc.name).
func TestPrefilterFileChangeTypes(t *testing.T) {
	for _, typ := range []string{"truncate", "chown", "utimes", "xattr", "chattr"} {
		rs := mustCompile(t, `
- rule: R
  desc: d
  condition: evt.type == "`+typ+`" && file.path.startsWith("/etc/")
  output: x
  priority: WARNING
`)
		et, _ := event.ParseType(typ)
		f := rs.Prefilter().Args
		if got := f.Files[et]; !slices.Equal(got.First, []plan.PathRule{{Path: "/etc/"}}) || got.Second != nil {
			t.Errorf("%s: path filter %+v, want first [/etc/]", typ, got)
		}
		if _, ok := f.Names[et]; ok {
			t.Errorf("%s: name filter %v without a proc.name condition", typ, f.Names[et])
		}
	}
}

// The socket filter: per domain, the types some rule can match. The
// built-in rules want packet sockets of any type and raw inet ones; a
// rule on the type alone admits it in every domain; a negation or a
// rule that constrains neither field turns the filter off.
func TestSocketFilterDerived(t *testing.T) {
	want := func(pairs map[uint32]uint16) []uint16 {
		out := make([]uint16, plan.SocketDomains)
		for d, m := range pairs {
			out[d] = m
		}
		return out
	}
	const raw, dgram = 1 << 3, 1 << 2
	all := ^uint16(0)
	cases := []struct {
		name, cond string
		want       []uint16
	}{
		{"packet or raw inet", `evt.type == "socket" && (socket.domain == "AF_PACKET" || (socket.domain in ["AF_INET", "AF_INET6"] && socket.type == "SOCK_RAW"))`,
			want(map[uint32]uint16{17: all, 2: raw, 10: raw})},
		{"type alone", `evt.type == "socket" && socket.type in ["SOCK_RAW", "SOCK_DGRAM"]`,
			func() []uint16 {
				out := make([]uint16, plan.SocketDomains)
				for i := range out {
					out[i] = raw | dgram
				}
				return out
			}()},
		{"a domain by number", `evt.type == "socket" && socket.domain == "AF_99"`, want(map[uint32]uint16{63: all})},
		{"and of two domains", `evt.type == "socket" && socket.domain == "AF_INET" && socket.domain == "AF_UNIX"`, want(nil)},
		{"negation", `evt.type == "socket" && !(socket.domain == "AF_UNIX")`, nil},
		{"protocol only", `evt.type == "socket" && socket.protocol == 3`, nil},
	}
	for _, c := range cases {
		rs := mustCompile(t, "- rule: R\n  desc: d\n  condition: '"+c.cond+"'\n  output: x\n  priority: WARNING\n")
		if got := rs.Prefilter().Args.SocketTypes; !slices.Equal(got, c.want) {
			t.Errorf("%s: socket filter %v, want %v", c.name, got, c.want)
		}
	}
	if got, w := builtinRuleset(t).Prefilter().Args.SocketTypes, want(map[uint32]uint16{17: all, 2: raw, 10: raw}); !slices.Equal(got, w) {
		t.Errorf("built-in rules: socket filter %v, want AF_PACKET, AF_INET and AF_INET6 SOCK_RAW", got)
	}
}
