package plan

import (
	"reflect"
	"testing"
)

func TestTrieValues(t *testing.T) {
	const w, creat, trunc, app = 0x1 | 0x2, 0x40, 0x200, 0x400
	got := OpenFilter{Paths: []PathRule{
		{Path: "/etc/", AnyFlags: w},
		{Path: "/etc/shadow", Exact: true},
		{Path: "/etc/ssh/", AnyFlags: creat},
		{Path: "/var/log/", AnyFlags: trunc},
		{Path: "/var/log/", AnyFlags: app},
	}}.TrieValues()
	want := map[PathRule]uint32{
		{Path: "/etc/"}:                    w,
		{Path: "/etc/shadow", Exact: true}: 0,         // any open of it
		{Path: "/etc/ssh/"}:                w | creat, // covered by /etc/ too
		{Path: "/var/log/"}:                trunc | app,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("trie values:\n got %v\nwant %v", got, want)
	}
}

func TestWants(t *testing.T) {
	f := OpenFilter{Paths: []PathRule{{Path: "/etc/", AnyFlags: 0x3}, {Path: "/etc/shadow", Exact: true}}}
	vals := f.TrieValues()
	cases := []struct {
		raw   string
		flags uint32
		want  bool
	}{
		{"/etc/shadow", 0, true},
		{"/etc/shadowx", 0, false},
		{"/etc/shadowx", 1, true},
		{"/etc/passwd", 0, false},
		{"/etc/../etc/passwd", 0, true}, // unclean
		{"/etc//passwd", 0, true},
		{"/etc/", 0, true},
		{"/tmp/x", 0x241, false},
		{"rel", 0, true},
		{"", 0, true},
	}
	for _, c := range cases {
		if got := f.Wants(vals, c.raw, c.flags); got != c.want {
			t.Errorf("Wants(%q, %#x) = %v, want %v", c.raw, c.flags, got, c.want)
		}
	}
	if !(OpenFilter{All: true}).Wants(nil, "/x", 0) {
		t.Error("All wants nothing")
	}
}
