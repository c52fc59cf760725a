package rules

import (
	"fmt"
	"unicode/utf8"
)

// Limits on what a rules file may hold. They are checked before any
// expensive work (YAML parsing, CEL compilation), each with the position
// of what exceeds it, so that a hostile or broken file costs bounded time
// and memory. Each is far above what real rule sets need: Falco's largest
// rules file is 95 KB, its longest condition about 2 KB, its longest list
// about 300 items, its deepest macro chain under 10.
const (
	// MaxFileBytes is the largest rules file read.
	MaxFileBytes = 8 << 20
	// MaxTotalBytes bounds the rules files loaded together. Compiled, a
	// rule takes about 9 KB and 140 us: 16 MiB of rules is about 130,000
	// rules, 1.2 GB and 20 s.
	MaxTotalBytes = 16 << 20
	// MaxConditionBytes is the largest condition (after appends).
	MaxConditionBytes = 1 << 20
	// MaxListItems is the largest list (after appends).
	MaxListItems = 200_000
	// MaxMacroDepth is the longest chain of macros naming macros.
	MaxMacroDepth = 100
)

// checkBytes reports what yaml.v3 would refuse without a position:
// invalid UTF-8 and control characters (YAML allows tab, line breaks and
// NEL of C0 and C1). One error per line, at the first bad byte.
func (r *reader) checkBytes() bool {
	data := r.src.data
	lastLine := 0
	for i := 0; i < len(data); {
		c, size := utf8.DecodeRune(data[i:])
		var msg string
		switch {
		case c == utf8.RuneError && size == 1:
			msg = fmt.Sprintf("invalid UTF-8 (byte 0x%02x); rules files must be UTF-8", data[i])
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7f, c >= 0x80 && c < 0xa0 && c != 0x85,
			c == 0xfffe, c == 0xffff, c >= 0xd800 && c < 0xe000:
			msg = fmt.Sprintf("control character U+%04X is not allowed in YAML; in a double-quoted string write it as \"\\u%04X\"", c, c)
		}
		if msg != "" {
			if p := r.src.pos(i); p.Line != lastLine {
				lastLine = p.Line
				r.errorf(p, "", CodeYAML, "%s", msg)
			}
		}
		i += size
	}
	return len(r.errs) == 0
}
