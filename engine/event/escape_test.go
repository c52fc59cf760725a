package event

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostileStrings are what a process can put in a path, an argument or a
// name, with the exact bytes of each encoding.
var hostileStrings = []struct {
	name string
	in   string
	text string // AppendEscaped
	json string // AppendJSONString, as written
}{
	{"plain", "/usr/bin/cat", `/usr/bin/cat`, `"/usr/bin/cat"`},
	{"empty", "", ``, `""`},
	{"invalid byte", "a\xffb", `a\xffb`, `"a\\xffb"`},
	{"NUL", "a\x00b", `a\x00b`, `"a\u0000b"`},
	{"ANSI colour", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`, `"\u001b[31mred\u001b[0m"`},
	{"newline, tab, CR", "a\nb\tc\rd", `a\nb\tc\rd`, `"a\nb\tc\rd"`},
	{"forged line", "x\n2026-01-01T00:00:00Z Critical", `x\n2026-01-01T00:00:00Z Critical`, `"x\n2026-01-01T00:00:00Z Critical"`},
	{"DEL", "\x7f", `\x7f`, `"\u007f"`},
	{"C1 CSI and NEL", "\u009b2J\u0085", `\u009b2J\u0085`, `"\u009b2J\u0085"`},
	{"RLO", "invoice\u202egnp.exe", `invoice\u202egnp.exe`, `"invoice\u202egnp.exe"`},
	{"bidi isolates and marks", "\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u202a\u202b\u202c\u202d",
		`\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u202a\u202b\u202c\u202d`,
		`"\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u202a\u202b\u202c\u202d"`},
	{"line and paragraph separators", "a\u2028b\u2029c", `a\u2028b\u2029c`, `"a\u2028b\u2029c"`},
	{"zero width, BOM, soft hyphen", "\u200b\u200d\ufeff\u00ad", `\u200b\u200d\ufeff\u00ad`, `"\u200b\u200d\ufeff\u00ad"`},
	{"non-ASCII spaces", "a\u00a0b\u3000c", `a\u00a0b\u3000c`, `"a\u00a0b\u3000c"`},
	{"format character beyond U+FFFF", "tag\U000e0041", `tag\U000e0041`, `"tag\udb40\udc41"`},
	{"private use", "\ue000", `\ue000`, `"\ue000"`},
	{"lone surrogate in CESU-8", "\xed\xa0\x80", `\xed\xa0\x80`, `"\\xed\\xa0\\x80"`},
	{"surrogate pair in CESU-8", "\xed\xa0\xbd\xed\xb8\x80", `\xed\xa0\xbd\xed\xb8\x80`, `"\\xed\\xa0\\xbd\\xed\\xb8\\x80"`},
	{"overlong slash", "\xc0\xaf", `\xc0\xaf`, `"\\xc0\\xaf"`},
	{"truncated sequence", "\xe2\x82", `\xe2\x82`, `"\\xe2\\x82"`},
	{"literal escape", `\x41`, `\\x41`, `"\\\\x41"`},
	{"backslash and quote", `q"\`, `q"\`, `"q\"\\"`},
	{"regex backslash, as Falco writes it", `grep '\d+' \.`, `grep '\d+' \.`, `"grep '\\d+' \\."`},
	{"backslash before escape letters", `C:\Users\new\x`, `C:\\Users\\new\\x`, `"C:\\\\Users\\\\new\\\\x"`},
	{"backslashes in a row", `a\\b\\\\`, `a\\\b\\\\\\\`, `"a\\\\\\b\\\\\\\\\\\\\\"`},
	{"backslash before an invalid byte", "\\\xff", `\\\xff`, `"\\\\\\xff"`},
	{"backslash before a control", "\\\x1b", `\\\x1b`, `"\\\u001b"`},
	{"printable non-ASCII", "été 🙂 日本", "été 🙂 日本", `"été 🙂 日本"`},
	{"valid U+FFFD", "\ufffd", "\ufffd", "\"\ufffd\""},
}

func TestEscapeHostile(t *testing.T) {
	for _, c := range hostileStrings {
		t.Run(c.name, func(t *testing.T) {
			if got := string(AppendEscaped(nil, c.in)); got != c.text {
				t.Errorf("AppendEscaped(%q) = %s, want %s", c.in, got, c.text)
			}
			if got := string(AppendJSONString(nil, c.in)); got != c.json {
				t.Errorf("AppendJSONString(%q) = %s, want %s", c.in, got, c.json)
			}
			checkRoundTrips(t, c.in)
		})
	}
}

// The quoted token of the text formats: the text escape with \" for a
// quote, which is also a Go string literal.
func TestAppendQuoted(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `""`},
		{"a b", `"a b"`},
		{`say "hi"`, `"say \"hi\""`},
		{`\x41`, `"\\x41"`},
		{"a\xffb\u202e\n", `"a\xffb\u202e\n"`},
	} {
		if got := string(AppendQuoted(nil, c.in)); got != c.want {
			t.Errorf("AppendQuoted(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// Text vigil escaped already passes unchanged; what is unsafe in text
// built elsewhere is escaped, with backslashes left alone.
func TestAppendSafeText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`file=/tmp/a\xffb\\c`, `file=/tmp/a\xffb\\c`},
		{"a\xffb\\c", `a\xffb\c`},
		{"x\u202ey \x1b[2J\nz \"q\"", `x\u202ey \x1b[2J\nz "q"`},
	} {
		if got := string(AppendSafeText(nil, c.in)); got != c.want {
			t.Errorf("AppendSafeText(%q) = %s, want %s", c.in, got, c.want)
		}
		var back string
		if err := json.Unmarshal(appendJSONText(nil, c.in), &back); err != nil || back != c.want {
			t.Errorf("appendJSONText(%q) decodes to %q, %v; want %s", c.in, back, err, c.want)
		}
	}
}

// A backslash that starts no escape is itself, and so is one before too
// few hex digits: the encoders write such backslashes as they are. Only
// a \u or \U of what is not a character is an error.
func TestUnescapeLiteralBackslashes(t *testing.T) {
	for _, in := range []string{`abc\`, `a\q`, `ab\x4`, `\xZZ`, `\u12`, `\U0000004`, "\\\xff", `grep '\d+'`} {
		if got, err := Unescape(in); err != nil || got != in {
			t.Errorf("Unescape(%q) = %q, %v; want it unchanged", in, got, err)
		}
	}
	if got, err := Unescape(`ok\\\u12`); err != nil || got != `ok\\u12` {
		t.Errorf("Unescape(ok\\\\\\u12) = %q, %v", got, err)
	}
	for _, c := range []struct{ in, want string }{
		{`\ud800`, `offset 0: bad escape: \ud800 is not a character`},
		{`x\U00110000`, `offset 1: bad escape: \U00110000 is not a character`},
	} {
		if _, err := Unescape(c.in); err == nil || err.Error() != c.want {
			t.Errorf("Unescape(%q): %v, want %s", c.in, err, c.want)
		}
	}
	// Upper-case hex digits and escapes vigil never writes read too.
	if got, err := Unescape(`\xFF\x41\u00E9\U0001F642\"`); err != nil || got != "\xffAé🙂\"" {
		t.Errorf("Unescape: %q, %v", got, err)
	}
}

// checkRoundTrips: every encoding of s is valid UTF-8 with nothing a
// terminal acts on, and decodes back to s.
func checkRoundTrips(t *testing.T, s string) {
	t.Helper()
	text := string(AppendEscaped(nil, s))
	checkPrintable(t, "AppendEscaped", s, text)
	if back, err := Unescape(text); err != nil || back != s {
		t.Errorf("Unescape(AppendEscaped(%q)) = %q, %v", s, back, err)
	}
	quoted := string(AppendQuoted(nil, s))
	checkPrintable(t, "AppendQuoted", s, quoted)
	if back, err := Unescape(quoted[1 : len(quoted)-1]); err != nil || back != s {
		t.Errorf("Unescape(AppendQuoted(%q)) = %q, %v", s, back, err)
	}
	if back, err := strconv.Unquote(quoted); err != nil || back != s {
		t.Errorf("strconv.Unquote(AppendQuoted(%q)) = %q, %v", s, back, err)
	}
	j := AppendJSONString(nil, s)
	checkPrintable(t, "AppendJSONString", s, string(j))
	var decoded string
	if err := json.Unmarshal(j, &decoded); err != nil {
		t.Fatalf("AppendJSONString(%q) = %s: %v", s, j, err)
	}
	if !utf8.ValidString(decoded) {
		t.Errorf("AppendJSONString(%q) decodes to invalid UTF-8 %q", s, decoded)
	}
	if back, err := Unescape(decoded); err != nil || back != s {
		t.Errorf("Unescape(JSON of %q) = %q, %v", s, back, err)
	}
	// The byte escape leaves the rest as it is: what decodes to valid
	// UTF-8 without a backslash was s itself.
	if utf8.ValidString(s) && !strings.Contains(s, `\`) && decoded != s {
		t.Errorf("JSON of %q decodes to %q", s, decoded)
	}
}

// checkPrintable fails if enc holds invalid UTF-8 or a character that is
// not printable (the ASCII space apart).
func checkPrintable(t *testing.T, what, s, enc string) {
	t.Helper()
	if !utf8.ValidString(enc) {
		t.Errorf("%s(%q) = %q: invalid UTF-8", what, s, enc)
	}
	for _, r := range enc {
		if !strconv.IsPrint(r) {
			t.Errorf("%s(%q) = %q holds %U", what, s, enc, r)
			return
		}
	}
}

// FuzzEscape: any bytes, through every encoding, come back unchanged, and
// each encoding is printable UTF-8. Seeds: testdata/fuzz/FuzzEscape.
func FuzzEscape(f *testing.F) {
	for _, c := range hostileStrings {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkRoundTrips(t, s)
		safe := string(AppendSafeText(nil, s))
		checkPrintable(t, "AppendSafeText", s, safe)
		if again := string(AppendSafeText(nil, safe)); again != safe {
			t.Errorf("AppendSafeText is not idempotent on %q: %q then %q", s, safe, again)
		}
		var decoded string
		if err := json.Unmarshal(appendJSONText(nil, s), &decoded); err != nil || decoded != safe {
			t.Errorf("appendJSONText(%q) decodes to %q, %v; want %q", s, decoded, err, safe)
		}
		// Unescape never panics, whatever it reads.
		Unescape(s)
	})
}

// FuzzUnescape: whatever Unescape accepts, the text escape of what it
// gives decodes to the same bytes.
func FuzzUnescape(f *testing.F) {
	for _, c := range hostileStrings {
		f.Add(c.text)
	}
	f.Add(`\x4`)
	f.Add(`\U0010ffff\ud7ff`)
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Unescape(s)
		if err != nil {
			return
		}
		if back, err := Unescape(string(AppendEscaped(nil, u))); err != nil || back != u {
			t.Errorf("%q: Unescape gave %q, and its escape decodes to %q, %v", s, u, back, err)
		}
	})
}
