package sinks_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// hostilePath holds what the encodings must keep recoverable and harmless:
// an invalid byte, NUL, an ANSI sequence, RLO, a line separator, a
// surrogate in CESU-8 and a literal "\x41".
const hostilePath = "/tmp/\xff\x00\x1b[31m\u202e\u2028\xed\xa0\x80\\x41"

func hostileAlert(t *testing.T) *event.Alert {
	t.Helper()
	e, err := event.FromFields(map[string]any{"evt.type": "open", "evt.time": "2026-11-22T05:00:00Z", "proc.name": "cat", "file.path": hostilePath})
	if err != nil {
		t.Fatal(err)
	}
	return &event.Alert{Time: e.Time, Rule: "Open", Priority: "Warning", Level: 4, Source: "syscall",
		Output: "open " + string(event.AppendEscaped(nil, hostilePath)), Fields: []string{"file.path"}, Action: "alert", Event: e}
}

// Each format's exact rendering of the hostile path, with nothing in the
// line a terminal would act on, and the JSON value decoding to the bytes.
func TestFormatsHostile(t *testing.T) {
	encode := func(f sinks.Format) string {
		enc, err := f.Encoder()
		if err != nil {
			t.Fatal(err)
		}
		line := string(enc(nil, hostileAlert(t)))
		if !utf8.ValidString(line) || strings.IndexFunc(line, func(r rune) bool { return !strconv.IsPrint(r) }) >= 0 {
			t.Errorf("%s: unprintable or invalid UTF-8 in %q", f, line)
		}
		return line
	}
	text := encode(sinks.FormatText)
	if want := `2026-11-22T05:00:00.000000Z Warning "Open" open /tmp/\xff\x00\x1b[31m\u202e\u2028\xed\xa0\x80\\x41`; text != want {
		t.Errorf("text:\n got %s\nwant %s", text, want)
	}
	line := encode(sinks.FormatJSON)
	for _, want := range []string{
		`"output":"open /tmp/\\xff\\x00\\x1b[31m\\u202e\\u2028\\xed\\xa0\\x80\\\\x41"`,
		`"output_fields":{"file.path":"/tmp/\\xff\u0000\u001b[31m\u202e\u2028\\xed\\xa0\\x80\\\\x41"}`,
		`"file.path":"/tmp/\\xff\u0000\u001b[31m\u202e\u2028\\xed\\xa0\\x80\\\\x41"`,
	} {
		if !strings.Contains(line, want) {
			t.Errorf("json: no %s in\n%s", want, line)
		}
	}
	var a struct {
		Fields map[string]string `json:"output_fields"`
	}
	if err := json.Unmarshal([]byte(line), &a); err != nil {
		t.Fatal(err)
	}
	if back, err := event.Unescape(a.Fields["file.path"]); err != nil || back != hostilePath {
		t.Errorf("output_fields file.path unescapes to %q, %v", back, err)
	}
}
