package soak

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestConnectAddr(t *testing.T) {
	for _, seq := range []uint64{0, 1, 255, 256, 65535, 65536, 254<<16 - 1} {
		a := ConnectAddr(seq)
		got, ok := connectSeq(a)
		if !ok || got != seq {
			t.Errorf("seq %d: address %s gives %d, %v", seq, a, got, ok)
		}
	}
	if a := ConnectAddr(1); a != netip.MustParseAddr("127.1.0.1") {
		t.Errorf("ConnectAddr(1) = %s, want 127.1.0.1", a)
	}
}

func TestParseAlert(t *testing.T) {
	for _, c := range []struct {
		in, rule string
		key      Key
		marker   bool
		err      string
	}{
		{`{"rule":"Soak marker exec","output_fields":{"proc.cmdline":"soakmark 42"}}`, "Soak marker exec", Key{Exec, 42}, true, ""},
		{`{"rule":"Soak marker open","output_fields":{"file.path":"/var/tmp/s/mark/o7"}}`, "Soak marker open", Key{Open, 7}, true, ""},
		{`{"rule":"Soak marker connect","output_fields":{"net.dip":"127.1.1.2"}}`, "Soak marker connect", Key{Connect, 258}, true, ""},
		{`{"rule":"Terminal shell in container","output_fields":{}}`, "Terminal shell in container", Key{}, false, ""},
		{`{"rule":"Soak marker exec","output_fields":{"proc.cmdline":"true 42"}}`, "Soak marker exec", Key{}, false,
			`alert "Soak marker exec": output_fields["proc.cmdline"] = "true 42": not a marker exec`},
		{`{"rule":"Soak marker connect","output_fields":{"net.dip":"10.0.0.1"}}`, "Soak marker connect", Key{}, false,
			`alert "Soak marker connect": output_fields["net.dip"] = "10.0.0.1": not a marker connect`},
		{`{"rule":"Soak marker open","output_fields":{"file.path":7}}`, "Soak marker open", Key{}, false,
			`alert "Soak marker open": output_fields["file.path"] = "": not a marker open`},
		{`{"output_fields":{}}`, "", Key{}, false, "alert: no rule"},
		{`{"rule":"x"`, "", Key{}, false, "alert: unexpected end of JSON input"},
	} {
		rule, k, ok, err := ParseAlert([]byte(c.in))
		if rule != c.rule || k != c.key || ok != c.marker || fmt.Sprint(err) != fmt.Sprint(errOrNil(c.err)) {
			t.Errorf("%s: got %q %v %v %v, want %q %v %v %q", c.in, rule, k, ok, err, c.rule, c.key, c.marker, c.err)
		}
	}
}

func errOrNil(s string) error {
	if s == "" {
		return nil
	}
	return fmt.Errorf("%s", s)
}

// FuzzParseAlert: any input gives a marker key, a rule or an error, never
// a panic; a marker key's rule is its kind's marker rule.
func FuzzParseAlert(f *testing.F) {
	f.Add([]byte(`{"rule":"Soak marker exec","output_fields":{"proc.cmdline":"soakmark 42"}}`))
	f.Add([]byte(`{"rule":"Soak marker connect","output_fields":{"net.dip":"127.1.1.2"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rule, k, ok, err := ParseAlert(b)
		if ok && (err != nil || rule != markerRule[k.Kind]) {
			t.Errorf("%q: rule %q key %v err %v", b, rule, k, err)
		}
	})
}
