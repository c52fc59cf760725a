package nats

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-project/vigil/engine/event"
)

func TestSubjectToken(t *testing.T) {
	long := strings.Repeat("a", 300)
	for _, tc := range []struct{ in, want string }{
		{"Terminal shell in container", "terminal_shell_in_container"},
		{"Read sensitive file (shadow)", "read_sensitive_file__shadow_"},
		{"rule.with.dots", "rule_with_dots"},
		{"star*rule", "star_rule"},
		{"*", "_"},
		{">", "_"},
		{"a.>", "a__"},
		{"tab\there\nnewline", "tab_here_newline"},
		{"", "_"},
		{"Warning", "warning"},
		{"snake_case-and-dash-09", "snake_case-and-dash-09"},
		{"Übergriff", "_bergriff"}, // one "_" per character, not per byte
		{"日本語", "___"},
		{"bad\xffutf8", "bad_utf8"},
		{"node-1.example.com", "node-1_example_com"},
		{long, long[:maxTokenBytes]},
	} {
		if got := SubjectToken(tc.in); got != tc.want {
			t.Errorf("SubjectToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzSubjectToken(f *testing.F) {
	for _, s := range []string{"", "a.b", "*", ">", "Ü", "\xff", "x y"} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^[a-z0-9_-]{1,128}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got := SubjectToken(s); !valid.MatchString(got) {
			t.Fatalf("SubjectToken(%q) = %q", s, got)
		}
	})
}

func TestTemplate(t *testing.T) {
	a := &event.Alert{Rule: "Shell.in container", Priority: "Warning", Hostname: "Node-1.example"}
	for _, tc := range []struct {
		tmpl, subject, wildcard, err string
	}{
		{tmpl: DefaultSubject, subject: "vigil.alerts.warning.shell_in_container", wildcard: "vigil.alerts.*.*"},
		{tmpl: "alerts.{hostname}.{priority}.{rule}", subject: "alerts.node-1_example.warning.shell_in_container", wildcard: "alerts.*.*.*"},
		{tmpl: "alerts.p-{priority}.x", subject: "alerts.p-warning.x", wildcard: "alerts.*.x"},
		{tmpl: "static", subject: "static", wildcard: "static"},
		{tmpl: "alerts.{nope}", err: "unknown placeholder {nope}"},
		{tmpl: "alerts.{rule", err: "unclosed {"},
		{tmpl: "alerts.*", err: "wildcards"},
		{tmpl: "alerts.>", err: "wildcards"},
		{tmpl: "alerts .x", err: "white space"},
		{tmpl: "alerts..{rule}", err: "empty token"},
		{tmpl: ".{rule}", err: "empty token"},
		{tmpl: "{rule}.", err: "empty token"},
		{tmpl: "a}", err: "}"},
	} {
		tm, err := parseTemplate(tc.tmpl)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrConfig) {
				t.Errorf("parseTemplate(%q) = %v, want an ErrConfig naming %q", tc.tmpl, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseTemplate(%q): %v", tc.tmpl, err)
			continue
		}
		if got := string(tm.appendSubject(nil, a)); got != tc.subject {
			t.Errorf("%q renders %q, want %q", tc.tmpl, got, tc.subject)
		}
		if tm.wildcard != tc.wildcard {
			t.Errorf("%q covers %q, want %q", tc.tmpl, tm.wildcard, tc.wildcard)
		}
	}
}

func TestCheckSubscribeSubject(t *testing.T) {
	for s, ok := range map[string]bool{
		"vigil.alerts.>": true, "vigil.*.critical.*": true, ">": true, "a": true,
		"": false, "a.>.b": false, "a.b*": false, "a..b": false, "a b": false, "a.>x": false,
	} {
		if err := checkSubscribeSubject(s); (err == nil) != ok {
			t.Errorf("checkSubscribeSubject(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		err  string // "" for valid
	}{
		{name: "zero is valid", c: Config{}},
		{name: "full", c: Config{URL: "nats://a:4222, nats://b:4222", Subject: "x.{rule}", JetStream: true, Stream: "VIGIL", Auth: Auth{User: "u", Password: "p"}, TLS: TLS{Cert: "c", Key: "k"}, Spool: SpoolConfig{Dir: "/var/lib/vigil/spool"}}},
		{name: "empty server", c: Config{URL: "nats://a:4222,"}, err: "empty server"},
		{name: "two auth methods", c: Config{Auth: Auth{Token: "t", CredsFile: "f"}}, err: "choose one"},
		{name: "password alone", c: Config{Auth: Auth{Password: "p"}}, err: "password without user"},
		{name: "cert without key", c: Config{TLS: TLS{Cert: "c"}}, err: "tls.cert and tls.key"},
		{name: "bad subject", c: Config{Subject: "a.>"}, err: "wildcards"},
		{name: "negative buffer", c: Config{ReconnectBufferBytes: -1}, err: "reconnect_buffer_bytes"},
		{name: "huge buffer", c: Config{ReconnectBufferBytes: MaxReconnectBufferBytes + 1}, err: "reconnect_buffer_bytes"},
		{name: "negative wait", c: Config{ReconnectWait: -time.Second}, err: "reconnect_wait"},
		{name: "negative ack timeout", c: Config{AckTimeout: -time.Second}, err: "ack_timeout"},
		{name: "retries", c: Config{MaxRetries: -2}, err: "max_retries"},
		{name: "stream without jetstream", c: Config{Stream: "S"}, err: "jetstream: true"},
		{name: "stream name", c: Config{JetStream: true, Stream: "a.b"}, err: "stream"},
		{name: "spool size without dir", c: Config{Spool: SpoolConfig{MaxBytes: 10}}, err: "spool.max_bytes without spool.dir"},
	} {
		err := tc.c.Validate()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrConfig)):
			t.Errorf("%s: got %v, want an ErrConfig naming %q", tc.name, err, tc.err)
		}
	}
}

func TestMsgID(t *testing.T) {
	base := testAlert("Rule A", "Warning", "node-1", 1)
	same := *base
	if msgID(base) != msgID(&same) {
		t.Fatal("the same alert got two ids")
	}
	if id := msgID(base); !regexp.MustCompile(`^node-1-\d+-[0-9a-f]{16}$`).MatchString(id) {
		t.Errorf("id %q: want host-timens-hash", id)
	}
	seen := map[string]string{msgID(base): "base"}
	for name, a := range map[string]*event.Alert{
		"time":   testAlert("Rule A", "Warning", "node-1", 2),
		"rule":   testAlert("Rule B", "Warning", "node-1", 1),
		"host":   testAlert("Rule A", "Warning", "node-2", 1),
		"output": func() *event.Alert { a := testAlert("Rule A", "Warning", "node-1", 1); a.Output += "!"; return a }(),
		"tid":    func() *event.Alert { a := testAlert("Rule A", "Warning", "node-1", 1); a.Event.TID++; return a }(),
	} {
		id := msgID(a)
		if other, dup := seen[id]; dup {
			t.Errorf("%s: same id as %s: %s", name, other, id)
		}
		seen[id] = name
	}
}

func TestRecord(t *testing.T) {
	b := appendRecord(nil, "vigil.alerts.x", "id-1", []byte(`{"rule":"x"}`))
	r, err := decodeRecord(b)
	if err != nil || r.subject != "vigil.alerts.x" || r.id != "id-1" || string(r.data) != `{"rule":"x"}` {
		t.Fatalf("round trip: %+v, %v", r, err)
	}
	for _, bad := range [][]byte{nil, {2}, {1}, {1, 5, 'a'}, {1, 0, 0}, {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		if _, err := decodeRecord(bad); !errors.Is(err, errBadRecord) {
			t.Errorf("decodeRecord(%q) = %v, want errBadRecord", bad, err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, "a.b", "id", []byte("{}")))
	f.Add([]byte{1, 1, 'a', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := decodeRecord(appendRecord(nil, r.subject, r.id, r.data))
		if err != nil || again.subject != r.subject || again.id != r.id || string(again.data) != string(r.data) {
			t.Fatalf("re-encoding %q changed it: %+v, %v", b, again, err)
		}
	})
}

// The keys a user writes under a `type: nats` sink, decoded strictly as
// the config loader does.
func TestConfigYAML(t *testing.T) {
	const doc = `
url: nats://n1:4222,nats://n2:4222
subject: vigil.{hostname}.{priority}.{rule}
user: vigil
password: secret
tls:
  ca: /etc/vigil/ca.pem
  insecure_skip_verify: true
reconnect_wait: 500ms
reconnect_buffer_bytes: 1048576
jetstream: true
stream: VIGIL
ack_timeout: 2s
max_retries: 5
spool:
  dir: /var/lib/vigil/spool/nats
  max_bytes: 1073741824
`
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := Config{
		URL: "nats://n1:4222,nats://n2:4222", Subject: "vigil.{hostname}.{priority}.{rule}",
		Auth: Auth{User: "vigil", Password: "secret"}, TLS: TLS{CA: "/etc/vigil/ca.pem", InsecureSkipVerify: true},
		ReconnectWait: 500 * time.Millisecond, ReconnectBufferBytes: 1 << 20,
		JetStream: true, Stream: "VIGIL", AckTimeout: 2 * time.Second, MaxRetries: 5,
		Spool: SpoolConfig{Dir: "/var/lib/vigil/spool/nats", MaxBytes: 1 << 30},
	}
	if c != want {
		t.Errorf("decoded %+v\nwant    %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}
