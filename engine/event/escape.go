package event

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The encoding of untrusted bytes (docs/rules.md, "Encoding of untrusted
// bytes"). Strings from the kernel (paths, arguments, names, environment)
// are any bytes; every format vigil writes is valid UTF-8 that keeps them
// recoverable, with one escape character, the backslash, and one decoder,
// Unescape.
//
//   - An event's strings in JSON (AppendJSONString: the values of
//     output_fields and event, list items, map keys and values): a byte
//     that does not start valid UTF-8 is the text \xNN and a backslash is
//     \\; nothing else changes. Characters that are not printable are
//     written with JSON's own \uNNNN escapes, which JSON decoders turn back
//     into the same characters, so the JSON text itself is safe on a
//     terminal.
//   - The text escape (AppendEscaped: values in an alert's output; quoted,
//     AppendQuoted, in the text formats): the same two escapes, plus \n,
//     \r, \t, \xNN for the other C0 controls and DEL, and \uNNNN (or
//     \UNNNNNNNN beyond U+FFFF) for every other character that is not
//     printable: C1 controls, format characters (Cf: the bidi controls
//     U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C, zero width
//     characters, U+FEFF), separators other than the ASCII space (U+00A0,
//     U+2028, U+2029, ...), private use and unassigned code points.
//     Printable is strconv.IsPrint: letters, marks, numbers, punctuation,
//     symbols and the ASCII space.
//   - An alert's own strings (rule, output, tags, hostname, ...) are text
//     vigil wrote or the rule author did: AppendSafeText writes the text
//     escape of what is not printable or not valid UTF-8 and leaves
//     backslashes alone, so an output, whose values are escaped already,
//     is written unchanged.
//
// Unescape decodes the first two (after the JSON decoder for JSON).

// textPlain marks the ASCII bytes text keeps as they are: printable,
// except the backslash and the double quote (which only a quoted token
// escapes).
var textPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '\\' && c != '"'
	}
	return t
}()

// escapeLetter marks the characters that may follow a backslash in an
// escape (\\ \" \n \r \t \xNN \uNNNN \UNNNNNNNN). A backslash of the
// input is doubled only before one of them, or before a character the
// encoding escapes; any other backslash is written as it is, and
// Unescape reads a backslash that starts no escape as itself. So
// `grep '\d'` stays `grep '\d'`, as Falco writes it, and `\x41` (four
// characters) becomes `\\x41`.
var escapeLetter = func() (t [utf8.RuneSelf]bool) {
	for _, c := range `\"nrtxuU` {
		t[c] = true
	}
	return t
}()

// backslashBefore reports whether a backslash followed by rest must be
// doubled; escaped(rest) says whether the encoding escapes what starts
// rest.
func backslashBefore(rest string, escaped func(string) bool) bool {
	if rest == "" {
		return false
	}
	if c := rest[0]; c < utf8.RuneSelf && escapeLetter[c] {
		return true
	}
	return escaped(rest)
}

// textEscapes reports whether the text escape escapes what starts s.
func textEscapes(s string) bool {
	if c := s[0]; c < utf8.RuneSelf {
		return !textPlain[c] && c != '"'
	}
	r, size := utf8.DecodeRuneInString(s)
	return r == utf8.RuneError && size == 1 || !strconv.IsPrint(r)
}

// jsonEscapes reports whether a JSON value's byte escape escapes what
// starts s (after the JSON decoder: only invalid bytes).
func jsonEscapes(s string) bool {
	if s[0] < utf8.RuneSelf {
		return false
	}
	r, size := utf8.DecodeRuneInString(s)
	return r == utf8.RuneError && size == 1
}

// textMode says where an escaped text goes.
type textMode uint8

const (
	// textValue doubles a backslash of s where an escape could follow
	// (escapeLetter), so that Unescape gives s back; without it s is text
	// vigil already escaped (an alert's output).
	textValue textMode = 1 << iota
	// textQuoted writes a double quote as \" (inside a "..." token), and
	// doubles every backslash: the token is a Go string literal.
	textQuoted
	// textInJSON writes the text as the contents of a JSON string.
	textInJSON
)

// AppendEscaped appends s in the text escape: reversible with Unescape,
// valid UTF-8, and nothing in it can move the cursor, change colours or
// the direction of the text, or start a line on a terminal. It is how
// field values are written into an alert's output.
func AppendEscaped(b []byte, s string) []byte {
	return appendText(b, s, textValue)
}

// AppendQuoted appends s as a double-quoted token: the text escape with
// \" for a double quote. The result is also a Go string literal that
// strconv.Unquote reads back as s.
func AppendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendText(b, s, textValue|textQuoted)
	return append(b, '"')
}

// AppendSafeText appends text that vigil already escaped (an alert's
// output, whose values AppendEscaped wrote) so that it is safe on a
// terminal whoever built it: whatever is not printable or not valid
// UTF-8 is escaped as AppendEscaped does, and backslashes are kept as
// they are, so escaped text is written unchanged.
func AppendSafeText(b []byte, s string) []byte {
	return appendText(b, s, 0)
}

// appendJSONText appends text vigil already escaped (an alert's output) as
// a JSON string: the JSON decoder gives what AppendSafeText writes.
func appendJSONText(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendText(b, s, textInJSON)
	return append(b, '"')
}

func appendText(b []byte, s string, m textMode) []byte {
	esc := `\`
	if m&textInJSON != 0 {
		esc = `\\`
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if textPlain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\':
				b = append(b, esc...)
				if m&textQuoted != 0 || m&textValue != 0 && backslashBefore(s[i+1:], textEscapes) {
					b = append(b, esc...)
				}
			case '"':
				if m&textQuoted != 0 {
					b = append(b, esc...)
				}
				if m&textInJSON != 0 {
					b = append(b, '\\')
				}
				b = append(b, '"')
			case '\n':
				b = append(append(b, esc...), 'n')
			case '\r':
				b = append(append(b, esc...), 'r')
			case '\t':
				b = append(append(b, esc...), 't')
			default:
				b = append(append(b, esc...), 'x', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(append(b, esc...), 'x', hexDigits[c>>4], hexDigits[c&0xf])
		case !strconv.IsPrint(r):
			b = append(b, s[start:i]...)
			b = appendRuneEscape(append(b, esc...), r)
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// appendRuneEscape writes r as uNNNN, or UNNNNNNNN beyond U+FFFF, after
// the backslash its caller wrote.
func appendRuneEscape(b []byte, r rune) []byte {
	n := 4
	if r > 0xffff {
		b = append(b, 'U')
		n = 8
	} else {
		b = append(b, 'u')
	}
	for shift := 4 * (n - 1); shift >= 0; shift -= 4 {
		b = append(b, hexDigits[r>>shift&0xf])
	}
	return b
}

// Unescape reverses the escapes of AppendEscaped, AppendQuoted (without
// its quotes) and AppendJSONString (after the JSON decoder): \\, \", \n,
// \r, \t, \xNN (the byte NN), \uNNNN and \UNNNNNNNN (the character). For
// every s, Unescape(string(AppendEscaped(nil, s))) == s. A backslash that
// starts no escape (followed by another character, or by too few hex
// digits) is itself: the encoders write such backslashes as they are.
// The error is for a \u or \U escape of what is not a character.
func Unescape(s string) (string, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, nil
	}
	b := append(make([]byte, 0, len(s)), s[:i]...)
	for i < len(s) {
		j := strings.IndexByte(s[i:], '\\')
		if j < 0 {
			b = append(b, s[i:]...)
			break
		}
		b = append(b, s[i:i+j]...)
		i += j
		n, err := unescapeOne(b, s[i:])
		if err != nil {
			return "", fmt.Errorf("offset %d: %w", i, err)
		}
		b = n.b
		i += n.used
	}
	return string(b), nil
}

type unescaped struct {
	b    []byte
	used int // bytes of the escape read
}

var errBadEscape = errors.New("bad escape")

// unescapeOne decodes the escape that starts s (s[0] is a backslash).
func unescapeOne(b []byte, s string) (unescaped, error) {
	literal := unescaped{append(b, '\\'), 1}
	if len(s) < 2 {
		return literal, nil
	}
	switch s[1] {
	case '\\', '"':
		return unescaped{append(b, s[1]), 2}, nil
	case 'n':
		return unescaped{append(b, '\n'), 2}, nil
	case 'r':
		return unescaped{append(b, '\r'), 2}, nil
	case 't':
		return unescaped{append(b, '\t'), 2}, nil
	case 'x':
		v, ok := unhex(s[2:], 2)
		if !ok {
			return literal, nil
		}
		return unescaped{append(b, byte(v)), 4}, nil
	case 'u', 'U':
		n := 4
		if s[1] == 'U' {
			n = 8
		}
		v, ok := unhex(s[2:], n)
		if !ok {
			return literal, nil
		}
		if v > utf8.MaxRune || v >= 0xd800 && v < 0xe000 {
			return unescaped{}, fmt.Errorf("%w: \\%s is not a character", errBadEscape, s[1:2+n])
		}
		return unescaped{utf8.AppendRune(b, rune(v)), 2 + n}, nil
	}
	return literal, nil
}

// unhex reads n hex digits at the start of s.
func unhex(s string, n int) (uint32, bool) {
	if len(s) < n {
		return 0, false
	}
	var v uint32
	for i := 0; i < n; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(c)
	}
	return v, true
}

// unescapeValues unescapes, in place, the strings of a JSON object as
// AppendJSON writes them (strings, lists of strings, objects of strings),
// so that a decoded event holds the bytes the kernel gave.
func unescapeValues(m map[string]any) error {
	for k, v := range m {
		u, err := unescapeValue(v)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		m[k] = u
	}
	return nil
}

func unescapeValue(v any) (any, error) {
	switch v := v.(type) {
	case string:
		return Unescape(v)
	case []any:
		for i, x := range v {
			u, err := unescapeValue(x)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			v[i] = u
		}
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			uk, err := Unescape(k)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			u, err := unescapeValue(x)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			out[uk] = u
		}
		return out, nil
	}
	return v, nil
}
