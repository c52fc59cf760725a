package falco

import (
	"strconv"
	"strings"
)

// The scanners below match the token classes of libsinsp's filter parser
// (userspace/libsinsp/filter/parser.cpp). Falco matches them with POSIX
// regular expressions in longest-match mode, anchored at the cursor; each
// function here returns the end of that longest match starting at i, or i
// when nothing matches. They work on bytes, as Falco's do.

// isLexBlank reports whether c is skipped between tokens. The set is
// Falco's lex_blank: it has '\b' but not '\f' or '\v'.
func isLexBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\b' || c == '\r' || c == '\n'
}

// isLexSpace reports whether c is in POSIX [[:space:]], which Falco's
// regular expressions use (after 'not', and to end bare strings).
func isLexSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

func isLexLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isLexDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLexHex(c byte) bool { return isLexDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

func isLexIdentChar(c byte) bool { return isLexLetter(c) || isLexDigit(c) || c == '_' }

// skipBlanks returns the offset of the first byte at or after i that is
// not a blank.
func skipBlanks(s string, i int) int {
	for i < len(s) && isLexBlank(s[i]) {
		i++
	}
	return i
}

// scanIdent matches Identifier: [a-zA-Z]+[a-zA-Z0-9_]*.
func scanIdent(s string, i int) int {
	if i >= len(s) || !isLexLetter(s[i]) {
		return i
	}
	j := i + 1
	for j < len(s) && isLexIdentChar(s[j]) {
		j++
	}
	return j
}

// scanFieldName matches FieldName: an Identifier followed by one or more
// '.' Identifier, so evt.arg.flags is one name of three components.
func scanFieldName(s string, i int) int {
	j := scanIdent(s, i)
	if j == i {
		return i
	}
	parts := 0
	for j < len(s) && s[j] == '.' {
		k := scanIdent(s, j+1)
		if k == j+1 {
			break
		}
		j = k
		parts++
	}
	if parts == 0 {
		return i
	}
	return j
}

// scanNotBlank matches 'not' followed by at least one [[:space:]].
func scanNotBlank(s string, i int) int {
	if !strings.HasPrefix(s[i:], "not") {
		return i
	}
	j := i + 3
	for j < len(s) && isLexSpace(s[j]) {
		j++
	}
	if j == i+3 {
		return i
	}
	return j
}

// scanFieldArgBare matches a bare field argument: [^][\"'[:space:]]+.
func scanFieldArgBare(s string, i int) int {
	j := i
	for j < len(s) {
		c := s[j]
		if c == '[' || c == ']' || c == '"' || c == '\'' || isLexSpace(c) {
			break
		}
		j++
	}
	return j
}

// scanBare matches BareStr: [^()\"'[:space:]=,]+. Brackets and colons
// are allowed, so runc:[0:PARENT] is one bare string.
func scanBare(s string, i int) int {
	j := i
	for j < len(s) {
		c := s[j]
		if c == '(' || c == ')' || c == '"' || c == '\'' || c == '=' || c == ',' || isLexSpace(c) {
			break
		}
		j++
	}
	return j
}

// scanHex matches HexNumber: 0[xX][0-9a-fA-F]+.
func scanHex(s string, i int) int {
	if i+2 >= len(s) || s[i] != '0' || s[i+1]|0x20 != 'x' || !isLexHex(s[i+2]) {
		return i
	}
	j := i + 3
	for j < len(s) && isLexHex(s[j]) {
		j++
	}
	return j
}

// scanNumber matches Number: [+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?. The
// exponent needs its sign, as in Falco.
func scanNumber(s string, i int) int {
	j := i
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	start := j
	for j < len(s) && isLexDigit(s[j]) {
		j++
	}
	if j == start {
		return i
	}
	if j < len(s) && s[j] == '.' {
		j++
	}
	for j < len(s) && isLexDigit(s[j]) {
		j++
	}
	if j+2 < len(s) && s[j]|0x20 == 'e' && (s[j+1] == '+' || s[j+1] == '-') && isLexDigit(s[j+2]) {
		j += 3
		for j < len(s) && isLexDigit(s[j]) {
			j++
		}
	}
	return j
}

// scanQuoted matches a QuotedStr starting at s[i] (a ' or "). It returns
// the end just after the closing quote, or -1 if the string is not
// terminated. Like Falco, it ends the string at the first delimiter not
// preceded by a backslash, looking at the raw bytes: "a\\" does not end
// at its last quote.
func scanQuoted(s string, i int) int {
	delim := s[i]
	prev := delim
	for j := i + 1; j < len(s); j++ {
		if s[j] == delim && prev != '\\' {
			return j + 1
		}
		prev = s[j]
	}
	return -1
}

// unquote returns the text of the quoted string q (delimiters included),
// with Falco's escapes resolved (libsinsp's unescape_str). On a bad
// escape it returns the offset of its backslash within q and a message.
func unquote(q string) (string, int, string) {
	delim := q[0]
	body := q[1 : len(q)-1]
	if !strings.Contains(body, `\`) {
		return body, 0, ""
	}
	var b strings.Builder
	for k := 0; k < len(body); k++ {
		c := body[k]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if k+1 >= len(body) {
			// The scanner never ends a string after a backslash, so
			// this is reached only by ParseListItem's wrapped items.
			return "", 1 + k, `unterminated escape sequence '\'`
		}
		k++
		switch e := body[k]; e {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case ' ', '\\':
			// Falco turns '\ ' into a backslash, for old rules
			// that wrote one that way.
			b.WriteByte('\\')
		case '/':
			b.WriteByte('/')
		case '"', '\'':
			if e != delim {
				return "", k, `invalid \` + string(e) + ` escape in ` + string(delim) + `-quoted string`
			}
			b.WriteByte(e)
		default:
			return "", k, `unsupported escape sequence ` + quoteTok(`\`+string(e)) + ` in quoted string`
		}
	}
	return b.String(), 0, ""
}

// quoteText writes text as a double-quoted string that scanQuoted and
// unquote turn back into text. A trailing backslash is written '\ ':
// written '\\' it would keep the closing quote from ending the string.
func quoteText(text string) string {
	var b strings.Builder
	b.WriteByte('"')
	for k := 0; k < len(text); k++ {
		switch c := text[k]; c {
		case '\\':
			if k == len(text)-1 {
				b.WriteString(`\ `)
			} else {
				b.WriteString(`\\`)
			}
		case '"':
			b.WriteString(`\"`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// quoteTok shows a piece of the input in an error message: between single
// quotes when it is printable ASCII without quotes, else Go-quoted.
func quoteTok(t string) string {
	for k := 0; k < len(t); k++ {
		if t[k] < ' ' || t[k] > '~' || t[k] == '\'' {
			return strconv.Quote(t)
		}
	}
	return "'" + t + "'"
}
