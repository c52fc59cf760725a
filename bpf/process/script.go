package process

import (
	"path"
	"regexp"
	"slices"
	"strings"
)

// interpreter is how one family of interpreters reads its command line:
// options first, then the script file and its arguments.
type interpreter struct {
	none  string // option letters after which no script file runs (-c code, -m module)
	value string // letters taking a value: the rest of the argument, else the next one
	// attached are letters whose value, if any, is attached: the rest of
	// the argument (""), only the characters of a set, then further
	// letters (perl -l0ne), or one character (".", ruby -Ke).
	attached map[byte]string
	file     string   // letters whose value is the script (php -f file)
	longNone []string // long options after which no script file runs
	// longValue are long options whose value is the next argument when
	// not given as --name=value.
	longValue []string
	plus      bool // options may start with '+' too (set +o)
	dashEnds  bool // "-" ends the options (shells); elsewhere it means stdin
}

var (
	shell = interpreter{none: "cs", value: "oO", plus: true, dashEnds: true,
		longValue: []string{"rcfile", "init-file", "emulate"}}
	interpreters = []struct {
		name *regexp.Regexp
		in   interpreter
	}{
		{regexp.MustCompile(`^(sh|bash|dash|zsh|ksh|ksh93|mksh|ash|hush)$`), shell},
		{regexp.MustCompile(`^python[0-9.]*$`), interpreter{none: "cm", value: "WX", longValue: []string{"check-hash-based-pycs"}}},
		{regexp.MustCompile(`^perl[0-9.]*$`), interpreter{none: "eE", value: "I", attached: map[byte]string{
			'M': "", 'm': "", 'x': "", 'i': "", 'd': "", 'D': "", 'V': "", 'F': "",
			'l': digits, '0': digits + "abcdefABCDEFxX", 'C': digits + "IOEiSoDALa"}}},
		{regexp.MustCompile(`^ruby[0-9.]*$`), interpreter{none: "e", value: "IrCE", attached: map[byte]string{
			'W': "", 'F': "", 'i': "", 'x': "", 'K': ".", '0': digits, 'T': digits},
			longValue: []string{"enable", "disable", "encoding", "external-encoding", "internal-encoding"}}},
		{regexp.MustCompile(`^(node|nodejs)$`), interpreter{none: "ep", value: "r", longNone: []string{"eval", "print"},
			longValue: []string{"require", "import", "loader", "experimental-loader", "conditions", "title", "input-type"}}},
		{regexp.MustCompile(`^php[0-9.]*$`), interpreter{none: "raSR", value: "dcztBE", file: "fF"}},
		{regexp.MustCompile(`^lua[0-9.]*$`), interpreter{value: "el"}},
	}
	tclsh = regexp.MustCompile(`^tclsh[0-9.]*$`)
)

const digits = "0123456789"

// Script is the absolute, cleaned path of the script file that argv
// makes exe (a shell, python, perl, ruby, node, php, lua or tclsh) run,
// relative paths taken against cwd; "" when exe is no such interpreter or
// runs no file (-c code, a module, stdin, interactive). The kernel has
// already turned a #! script's exec into its interpreter's, with the
// script's path as an argument.
func Script(exe string, argv []string, cwd string) string {
	if len(argv) == 0 {
		return ""
	}
	name := path.Base(strings.TrimSuffix(exe, " (deleted)"))
	if name == "busybox" {
		// The applet is argv[0]'s name, or argv[1] after "busybox".
		if name = path.Base(argv[0]); name == "busybox" {
			argv = argv[1:]
			if len(argv) == 0 {
				return ""
			}
			name = argv[0]
		}
	}
	var s string
	switch {
	case tclsh.MatchString(name):
		s = tclScript(argv)
	default:
		for _, in := range interpreters {
			if in.name.MatchString(name) {
				s = in.in.script(argv)
				break
			}
		}
	}
	if s == "" {
		return ""
	}
	if s[0] == '/' || cwd == "" {
		return path.Clean(s)
	}
	return path.Join(cwd, s)
}

// script is the script file of argv, "" when there is none.
func (in *interpreter) script(argv []string) string {
	next := func(i int) string {
		if i < len(argv) {
			return argv[i]
		}
		return ""
	}
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "":
			return "" // no file has that name
		case a == "--":
			return next(i + 1)
		case a == "-":
			if in.dashEnds {
				return next(i + 1)
			}
			return "" // the program comes from stdin
		case strings.HasPrefix(a, "--"):
			name, _, eq := strings.Cut(a[2:], "=")
			if slices.Contains(in.longNone, name) {
				return ""
			}
			if !eq && slices.Contains(in.longValue, name) {
				i++
			}
		case a[0] == '-' || in.plus && a[0] == '+':
			var file string
			var stop bool
			i, file, stop = in.cluster(argv, i)
			if stop {
				return file
			}
		default:
			return a
		}
	}
	return ""
}

// cluster reads the option letters of argv[i] ("-xo" of "-xo pipefail"),
// returning the index of the last argument it used and, when the
// options settle the question (-c: no file; php's -f file: that file),
// stop and the file.
func (in *interpreter) cluster(argv []string, i int) (int, string, bool) {
	a := argv[i]
	for j := 1; j < len(a); j++ {
		c := a[j]
		switch {
		case strings.IndexByte(in.none, c) >= 0:
			return i, "", true
		case strings.IndexByte(in.file, c) >= 0:
			if j+1 < len(a) {
				return i, a[j+1:], true
			}
			if i+1 < len(argv) {
				return i + 1, argv[i+1], true
			}
			return i, "", true
		case strings.IndexByte(in.value, c) >= 0:
			if j+1 == len(a) {
				i++
			}
			return i, "", false
		default:
			set, ok := in.attached[c]
			switch {
			case !ok:
			case set == "":
				return i, "", false
			case set == ".":
				j++
			default:
				for j+1 < len(a) && strings.IndexByte(set, a[j+1]) >= 0 {
					j++
				}
			}
		}
	}
	return i, "", false
}

// tclScript: tclsh ?-encoding name? ?fileName arg ...?; a first argument
// that is another option makes every argument the interactive shell's.
func tclScript(argv []string) string {
	args := argv[1:]
	if len(args) >= 2 && args[0] == "-encoding" {
		args = args[2:]
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return ""
	}
	return args[0]
}
