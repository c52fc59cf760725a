package syslog

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine/event"
)

func mustNew(t testing.TB, c Config) *Sink {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEncodeRFC5424Exact(t *testing.T) {
	a := testAlert(t)
	s := mustNew(t, Config{Network: NetUDP, Address: "127.0.0.1:514", Facility: "local3"})
	got := string(s.frame(a))
	want := "<156>1 2026-11-22T05:00:00.123456Z node-1 vigil " + strconv.Itoa(os.Getpid()) + " alert " +
		`[vigil@32473 rule="Read sensitive file by untrusted program" priority="Warning"] ` + string(event.AppendAlertJSON(nil, a))
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEncodeRFC3164Exact(t *testing.T) {
	a := testAlert(t)
	stamp := a.Time.Local().Format(time.Stamp)
	body := string(event.AppendAlertJSON(nil, a))
	pid := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Network: NetUDP, Address: "h:514", Format: FormatRFC3164, Tag: "vigil-x"}, "<84>" + stamp + " node-1 vigil-x[" + pid + "]: " + body},
		// syslog(3) sends no hostname on the local socket.
		{Config{Facility: "daemon"}, "<28>" + stamp + " vigil[" + pid + "]: " + body},
	} {
		if got := string(mustNew(t, tc.c).frame(a)); got != tc.want {
			t.Errorf("%+v:\n got %s\nwant %s", tc.c, got, tc.want)
		}
	}
}

func TestPRI(t *testing.T) {
	a := testAlert(t)
	for name, code := range facilities {
		for level := -1; level <= 9; level++ {
			a.Level = level
			for _, format := range []string{FormatRFC5424, FormatRFC3164} {
				m := mustNew(t, Config{Network: NetUDP, Address: "h:514", Facility: name, Format: format}).frame(a)
				want := "<" + strconv.Itoa(code*8+min(max(level, 0), 7)) + ">"
				if !bytes.HasPrefix(m, []byte(want)) {
					t.Fatalf("facility %s level %d %s: got %.8q, want %s", name, level, format, m, want)
				}
			}
		}
	}
}

// An SD PARAM-VALUE is the alert text (event.AppendSafeText) with RFC
// 5424's escapes on top: a receiver that undoes them reads what the
// alert's JSON says.
func TestParamValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{`a"b\c]d`, `a\"b\\c\]d`},
		{"[x=1]", `[x=1\]`},
		{"new\nline\r\x00nul\x7fdel", `new\\nline\\r\\x00nul\\x7fdel`},
		{"\x1b[31mred", `\\x1b[31mred`},
		{"c1 \xc2\x9b csi \xc2\x85 nel", `c1 \\u009b csi \\u0085 nel`},
		{"bad \xff\xfe utf8 \xe2\x82", `bad \\xff\\xfe utf8 \\xe2\\x82`},
		{"été \u00a0 ok", `été \\u00a0 ok`},
		{"rlo \u202egnp.exe", `rlo \\u202egnp.exe`},
		{"sep \u2028 cesu \xed\xa0\x80", `sep \\u2028 cesu \\xed\\xa0\\x80`},
	} {
		if got := string(appendParamValue(nil, tc.in)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
	// Appending keeps what b held, whatever has to widen.
	if got := string(appendParamValue([]byte(`x="`), `a]"`)); got != `x="a\]\"` {
		t.Errorf("append: got %q", got)
	}
}

func TestHostname(t *testing.T) {
	long := strings.Repeat("h", 300)
	for _, tc := range []struct{ in, want, want3164 string }{
		{"", "-", "-"},
		{"node-1.example", "node-1.example", "node-1.example"},
		{"a b\nc\x00d", "a_b_c_d", "a_b_c_d"},
		{"hôte", "h__te", "h__te"},
		{"x:y[1]", "x:y[1]", "x_y_1_"},
		{long, long[:255], long[:255]},
	} {
		if got := string(appendHostname(nil, tc.in)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
		if got := string(appendHostname3164(nil, tc.in)); got != tc.want3164 {
			t.Errorf("rfc3164 %q: got %q, want %q", tc.in, got, tc.want3164)
		}
	}
}

func TestTimestamp(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 6789000, time.FixedZone("X", 3600)), "2026-01-02T02:04:05.006789Z"},
		{time.Time{}, "-"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "-"},
	} {
		if got := string(appendTimestamp(nil, &event.Alert{Time: tc.t})); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.t, got, tc.want)
		}
	}
}

// TestEncodeHostile: whatever the alert holds, one well-formed message
// whose body is the alert's JSON, and no control byte anywhere.
func TestEncodeHostile(t *testing.T) {
	a := hostileAlert(t)
	rule := checkHostile(t, a, mustNew(t, Config{Network: NetUDP, Address: "h:514"}).frame(a), FormatRFC5424, true)
	if want := `Rule x\n<13>1 2026-01-01T00:00:00Z forged vigil 1 alert - {}\r\x00\x1b[31mred\x1b[0m\u009b2J\xff\xfe]"\ [a="b"] \u2028end`; rule != want {
		t.Fatalf("rule param %q, want %q", rule, want)
	}
	checkHostile(t, a, mustNew(t, Config{Network: NetUDP, Address: "h:514", Format: FormatRFC3164}).frame(a), FormatRFC3164, true)
	checkHostile(t, a, mustNew(t, Config{Network: NetUnixgram, Format: FormatRFC3164}).frame(a), FormatRFC3164, false)
}

// checkHostile checks m is one well-formed message for a in format, and
// returns its rule parameter (RFC 5424).
func checkHostile(t testing.TB, a *event.Alert, m []byte, format string, withHost bool) string {
	t.Helper()
	for i, c := range m {
		if c < 0x20 || c == 0x7f {
			t.Fatalf("control byte %#x at %d: %q", c, i, m)
		}
	}
	if format == FormatRFC3164 {
		r := parse3164(t, m, withHost)
		checkBody(t, r.msg, a)
		if withHost && strings.ContainsAny(r.hostname, "[]: ") {
			t.Fatalf("hostname %q", r.hostname)
		}
		return ""
	}
	r := parse5424(t, m)
	checkBody(t, r.msg, a)
	if r.sdID != sdID || len(r.params) != 2 || r.msgid != msgID {
		t.Fatalf("header: %+v", r)
	}
	return r.params["rule"]
}

func FuzzEncode(f *testing.F) {
	f.Add("Rule "+nasty, "host "+nasty, "Warning", nasty, 4)
	f.Add("", "", "", "", -3)
	f.Fuzz(func(t *testing.T, rule, host, priority, path string, level int) {
		e := &event.Event{Type: event.TypeOpen, Proc: &event.Process{Name: path}, File: event.File{Path: path}}
		a := &event.Alert{Time: time.Unix(1700000000, 0), Rule: rule, Priority: priority, Level: level, Hostname: host,
			Output: path, Fields: []string{"file.path"}, Tags: []string{path}, Event: e}
		for _, c := range []Config{
			{Network: NetTCP, Address: "h:514"},
			{Network: NetTCP, Address: "h:514", Format: FormatRFC3164},
			{Network: NetUnixgram},
		} {
			s := mustNew(t, c)
			frame := s.frame(a)
			sp := bytes.IndexByte(frame, ' ')
			n, err := strconv.Atoi(string(frame[:max(sp, 0)]))
			if !s.stream {
				n, sp = len(frame), -1
			} else if err != nil || n != len(frame)-sp-1 {
				t.Fatalf("octet count %q for %d bytes", frame[:max(sp, 0)], len(frame)-sp-1)
			}
			format := FormatRFC5424
			if s.enc.rfc3164 {
				format = FormatRFC3164
			}
			checkHostile(t, a, frame[sp+1:], format, s.enc.hostname)
		}
	})
}

// BenchmarkEncode is the cost of one alert's frame (RFC 5424, octet
// counted) on top of the JSON every sink pays for.
func BenchmarkEncode(b *testing.B) {
	a := testAlert(b)
	for _, format := range []string{FormatRFC5424, FormatRFC3164} {
		b.Run(format, func(b *testing.B) {
			s := mustNew(b, Config{Network: NetTCP, Address: "h:514", Format: format})
			b.ReportAllocs()
			for b.Loop() {
				s.frame(a)
			}
		})
	}
}
