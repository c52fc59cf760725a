package syslog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestValidateDefaults(t *testing.T) {
	for _, tc := range []struct{ in, want Config }{
		{Config{}, Config{Network: NetUnixgram, Address: "/dev/log", Format: FormatRFC3164, Facility: "authpriv", Tag: "vigil", Timeout: 5 * time.Second}},
		{Config{Network: NetUDP, Address: "h:514"}, Config{Network: NetUDP, Address: "h:514", Format: FormatRFC5424, Facility: "authpriv", Tag: "vigil", Timeout: 5 * time.Second}},
		{Config{Network: NetUnixgram, Format: FormatRFC5424, Facility: "local7", Tag: "t", Timeout: time.Second},
			Config{Network: NetUnixgram, Address: "/dev/log", Format: FormatRFC5424, Facility: "local7", Tag: "t", Timeout: time.Second}},
	} {
		got := tc.in
		if err := got.Validate(); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%+v: got %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	tls := func(c Config) Config { c.Network, c.Address = NetTCPTLS, "h:6514"; return c }
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Network: "tcp+ssl"}, `network "tcp+ssl": want unixgram, udp, tcp or tcp+tls`},
		{Config{Network: NetUDP}, "address: required for network udp"},
		{Config{Network: NetTCP, Address: "logs.example"}, `address "logs.example": want host:port`},
		{Config{Network: NetTCP, Address: ":514"}, `address ":514": want host:port`},
		{Config{Format: "rfc9999"}, `syslog_format "rfc9999": want rfc5424 or rfc3164`},
		{Config{Facility: "local8"}, `facility "local8": want one of kern,`},
		{Config{Facility: "LOCAL0"}, `facility "LOCAL0"`},
		{Config{Tag: "my app"}, `tag "my app": only printable ASCII`},
		{Config{Tag: "vigil\n"}, `tag "vigil\n": only printable ASCII`},
		{Config{Format: FormatRFC5424, Tag: strings.Repeat("t", 49)}, "at most 48 characters for rfc5424"},
		{Config{Format: FormatRFC3164, Tag: strings.Repeat("t", 33)}, "at most 32 characters for rfc3164"},
		{Config{Format: FormatRFC3164, Tag: "a:b"}, `tag "a:b": no '[', ']' or ':'`},
		{Config{Timeout: -time.Second}, "timeout -1s: must be positive"},
		{Config{CA: "ca.pem"}, "ca: only for network tcp+tls (network is unixgram)"},
		{Config{Network: NetTCP, Address: "h:1", InsecureSkipVerify: true}, "insecure_skip_verify: only for network tcp+tls"},
		{Config{Network: NetUDP, Address: "h:1", ServerName: "x"}, "server_name: only for network tcp+tls"},
		{tls(Config{Cert: "c.pem"}), "cert and key: give both"},
		{tls(Config{Key: "k.pem"}), "cert and key: give both"},
	} {
		c := tc.c
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.c, err, tc.want)
		}
		if _, err := New(tc.c); err == nil {
			t.Errorf("%+v: New accepted it", tc.c)
		}
	}
}

// TestYAML: the keys as vigil.yaml spells them, decoded the way the
// caller does (KnownFields).
func TestYAML(t *testing.T) {
	decode := func(doc string) (Config, error) {
		var c Config
		d := yaml.NewDecoder(strings.NewReader(doc))
		d.KnownFields(true)
		err := d.Decode(&c)
		return c, err
	}
	got, err := decode(`
network: tcp+tls
address: logs.example:6514
syslog_format: rfc5424
facility: local4
tag: vigil-node
ca: /etc/vigil/ca.pem
cert: /etc/vigil/client.pem
key: /etc/vigil/client-key.pem
server_name: logs.example
insecure_skip_verify: false
timeout: 2500ms
`)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Network: NetTCPTLS, Address: "logs.example:6514", Format: FormatRFC5424, Facility: "local4", Tag: "vigil-node",
		CA: "/etc/vigil/ca.pem", Cert: "/etc/vigil/client.pem", Key: "/etc/vigil/client-key.pem", ServerName: "logs.example", Timeout: 2500 * time.Millisecond}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	for doc, wantErr := range map[string]string{
		"timeout: 5":      "cannot unmarshal",
		"timeout: soon":   "cannot unmarshal",
		"format: rfc5424": "field format not found",
	} {
		if _, err := decode(doc); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: got %v, want %q", doc, err, wantErr)
		}
	}
}

func TestNewTLSFiles(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := Config{Network: NetTCPTLS, Address: "127.0.0.1:6514"}
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{CA: filepath.Join(dir, "missing.pem")}, "ca: open "},
		{Config{CA: notPEM}, "no PEM certificate"},
		{Config{CA: p.caFile, Cert: p.certFile, Key: notPEM}, "cert and key:"},
		{Config{CA: p.caFile, Cert: p.caFile, Key: p.keyFile}, "cert and key:"},
	} {
		c := tc.c
		c.Network, c.Address = base.Network, base.Address
		_, err := New(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.c, err, tc.want)
		}
	}
	if _, err := New(Config{Network: NetTCPTLS, Address: "h:6514", CA: p.caFile, Cert: p.certFile, Key: p.keyFile}); err != nil {
		t.Fatal(err)
	}
}

// TestClientCertReload: a renewed client certificate is used at the next
// connection; a half-written one is ignored for the last good one.
func TestClientCertReload(t *testing.T) {
	p, renewed := newPKI(t), newPKI(t)
	s := mustNew(t, Config{Network: NetTCPTLS, Address: "h:6514", CA: p.caFile, Cert: p.certFile, Key: p.keyFile})
	get := s.tls.GetClientCertificate
	first, err := get(nil)
	if err != nil {
		t.Fatal(err)
	}
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(renewed.certFile, p.certFile)
	copyFile(renewed.keyFile, p.keyFile)
	second, _ := get(nil)
	if bytes.Equal(first.Certificate[0], second.Certificate[0]) {
		t.Fatal("renewed certificate not loaded")
	}
	if err := os.WriteFile(p.keyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	third, err := get(nil)
	if err != nil || !bytes.Equal(third.Certificate[0], second.Certificate[0]) {
		t.Fatalf("got %v, want the last good certificate", err)
	}
}
