package event

import (
	"bytes"
	"strings"
	"testing"
)

// What `vigil events --format json` prints, `vigil replay` reads back to
// the same event.
func TestDecodeJSONRoundTrip(t *testing.T) {
	for _, e := range []*Event{sampleOpen(), sampleConnect()} {
		first := AppendJSON(nil, e)
		back, err := DecodeJSON(first)
		if err != nil {
			t.Fatalf("decode %s: %v", first, err)
		}
		if second := AppendJSON(nil, back); !bytes.Equal(first, second) {
			t.Errorf("round trip:\n got %s\nwant %s", second, first)
		}
	}
}

func sampleConnect() *Event {
	e := sampleOpen()
	e.Type = TypeConnect
	e.File = File{}
	e.Res = -111
	e.Net = Net{Family: "ipv4", Proto: "tcp", SockType: "stream"}
	return e
}

func TestFromFieldsErrors(t *testing.T) {
	cases := []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"file.name": "x"}, "file.name is derived from file.path; set file.path instead"},
		{map[string]any{"proc.nme": "x"}, `unknown field "proc.nme"`},
		{map[string]any{"evt.type": "opne"}, `evt.type: unknown event type "opne"`},
		{map[string]any{"proc.uid": "root"}, "proc.uid: want an integer, got string"},
		{map[string]any{"net.dip": "1.2.3"}, `net.dip: ParseAddr("1.2.3"): IPv4 address too short`},
		{map[string]any{"proc.args": "a b"}, "proc.args: want a list of strings, got string"},
	}
	for _, c := range cases {
		_, err := FromFields(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("FromFields(%v) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestFromFieldsDefaults(t *testing.T) {
	e, err := FromFields(map[string]any{
		"evt.type": "exec", "proc.name": "curl", "proc.args": []any{"-s", "http://x"}, "proc.uid": 1000,
		"proc.pname": "bash", "file.path": "/tmp/a",
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.Proc.Cmdline != "curl -s http://x" || strings.Join(e.Proc.Args(), " ") != "-s http://x" || e.User.UID != 1000 ||
		e.File.RawPath != "/tmp/a" || e.Parent == nil || e.Parent.Name != "bash" || e.Parent.Cmdline != "bash" {
		t.Errorf("defaults: proc=%+v user=%+v file=%+v parent=%+v", e.Proc, e.User, e.File, e.Parent)
	}
}
