package syslog

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-project/vigil/engine/event"
)

func testAlert(t testing.TB) *event.Alert {
	t.Helper()
	e, err := event.FromFields(map[string]any{"evt.type": "open", "evt.time": "2026-11-22T05:00:00.123456789Z", "proc.name": "nginx",
		"proc.exe": "/usr/sbin/nginx", "proc.args": []any{"-g", "daemon off;"}, "file.path": "/etc/shadow", "user.name": "www-data", "proc.pid": 4242})
	if err != nil {
		t.Fatal(err)
	}
	return &event.Alert{Time: e.Time, Rule: "Read sensitive file by untrusted program", Priority: "Warning", Level: 4, Source: "syscall",
		Output: "Sensitive file opened for reading (file=/etc/shadow process=nginx)", Fields: []string{"file.path", "proc.name", "user.name"},
		Tags: []string{"filesystem", "mitre_credential_access"}, Hostname: "node-1", Action: "alert", Event: e}
}

// nasty is what a hostile process or file name can put in an alert:
// newlines (with a forged second message after them), NUL, ANSI escapes,
// C1 controls, invalid UTF-8, and syslog's own delimiters.
const nasty = "x\n<13>1 2026-01-01T00:00:00Z forged vigil 1 alert - {}\r\x00\x1b[31mred\x1b[0m\xc2\x9b2J\xff\xfe]\"\\ [a=\"b\"] \u2028end"

func hostileAlert(t testing.TB) *event.Alert {
	t.Helper()
	e, err := event.FromFields(map[string]any{"evt.type": "open", "evt.time": "2026-11-22T05:00:00Z", "proc.name": "ev\nil",
		"proc.args": []any{nasty, "-c"}, "file.path": "/tmp/" + nasty, "user.name": nasty, "proc.pid": 7})
	if err != nil {
		t.Fatal(err)
	}
	return &event.Alert{Time: e.Time, Rule: "Rule " + nasty, Priority: "Crit\nical", Level: 2, Source: "syscall",
		Output: "opened " + nasty, Fields: []string{"file.path", "proc.args", "no.such.field"}, Tags: []string{nasty},
		Hostname: "host " + nasty, Action: "alert", Event: e}
}

// msg5424 is a message taken apart by parse5424.
type msg5424 struct {
	pri                               int
	timestamp                         string
	hostname, app, procid, msgid, msg string
	sdID                              string
	params                            map[string]string // unescaped
}

// parse5424 takes a message apart strictly by RFC 5424's ABNF, for the
// one structured data element vigil writes, and fails the test on any
// departure from it.
func parse5424(t testing.TB, m []byte) msg5424 {
	t.Helper()
	var r msg5424
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("not RFC 5424 (%s): %q", fmt.Sprintf(format, args...), m)
	}
	rest := m
	pri, rest := parsePRI(t, rest)
	r.pri = pri
	if !bytes.HasPrefix(rest, []byte("1 ")) {
		fail("version")
	}
	rest = rest[2:]
	token := func(name string, maxLen int) string {
		t.Helper()
		i := bytes.IndexByte(rest, ' ')
		if i <= 0 || i > maxLen {
			fail("%s: length %d", name, i)
		}
		for _, c := range rest[:i] {
			if !printUSASCII(c) {
				fail("%s: byte %#x", name, c)
			}
		}
		v := string(rest[:i])
		rest = rest[i+1:]
		return v
	}
	r.timestamp = token("timestamp", 32)
	if r.timestamp != "-" {
		if _, err := time.Parse(time.RFC3339Nano, r.timestamp); err != nil {
			fail("timestamp: %v", err)
		}
	}
	r.hostname = token("hostname", 255)
	r.app = token("app-name", 48)
	r.procid = token("procid", 128)
	r.msgid = token("msgid", 32)
	if len(rest) == 0 || rest[0] != '[' {
		fail("structured data")
	}
	rest = rest[1:]
	i := bytes.IndexAny(rest, " ]")
	if i <= 0 || i > 32 {
		fail("sd-id")
	}
	r.sdID = string(rest[:i])
	for _, c := range rest[:i] {
		if !printUSASCII(c) || c == '=' || c == '"' {
			fail("sd-id byte %#x", c)
		}
	}
	rest = rest[i:]
	r.params = map[string]string{}
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
		eq := bytes.IndexByte(rest, '=')
		if eq <= 0 || eq > 32 {
			fail("param name")
		}
		name := string(rest[:eq])
		for _, c := range rest[:eq] {
			if !printUSASCII(c) || c == ']' || c == '"' {
				fail("param name byte %#x", c)
			}
		}
		rest = rest[eq+1:]
		if len(rest) == 0 || rest[0] != '"' {
			fail("param value quote")
		}
		rest = rest[1:]
		var v []byte
		for {
			if len(rest) == 0 {
				fail("unterminated param value")
			}
			c := rest[0]
			if c == '"' {
				rest = rest[1:]
				break
			}
			if c == ']' {
				fail("unescaped ] in param value")
			}
			if c == '\\' && len(rest) > 1 && (rest[1] == '"' || rest[1] == '\\' || rest[1] == ']') {
				v = append(v, rest[1])
				rest = rest[2:]
				continue
			}
			if c == '\\' {
				fail("lone backslash in param value")
			}
			v = append(v, c)
			rest = rest[1:]
		}
		if !utf8.Valid(v) {
			fail("param %s not UTF-8", name)
		}
		r.params[name] = string(v)
	}
	if len(rest) < 2 || rest[0] != ']' || rest[1] != ' ' {
		fail("end of structured data")
	}
	r.msg = string(rest[2:])
	return r
}

func parsePRI(t testing.TB, m []byte) (int, []byte) {
	t.Helper()
	end := bytes.IndexByte(m, '>')
	if len(m) == 0 || m[0] != '<' || end < 2 || end > 4 {
		t.Fatalf("no PRI: %q", m)
	}
	pri, err := strconv.Atoi(string(m[1:end]))
	if err != nil || pri < 0 || pri > 191 || (m[1] == '0' && end > 2) {
		t.Fatalf("bad PRI %q", m[:end+1])
	}
	return pri, m[end+1:]
}

// msg3164 is a message taken apart by parse3164.
type msg3164 struct {
	pri                           int
	timestamp, hostname, tag, pid string
	msg                           string
}

// parse3164 takes an RFC 3164 message apart as syslog(3) writes it, with
// the hostname when withHost.
func parse3164(t testing.TB, m []byte, withHost bool) msg3164 {
	t.Helper()
	var r msg3164
	pri, rest := parsePRI(t, m)
	r.pri = pri
	if len(rest) < 16 || rest[15] != ' ' {
		t.Fatalf("no RFC 3164 timestamp: %q", m)
	}
	r.timestamp = string(rest[:15])
	if _, err := time.Parse(time.Stamp, r.timestamp); err != nil {
		t.Fatalf("timestamp %q: %v", r.timestamp, err)
	}
	rest = rest[16:]
	if withHost {
		i := bytes.IndexByte(rest, ' ')
		if i <= 0 {
			t.Fatalf("no hostname: %q", m)
		}
		r.hostname = string(rest[:i])
		rest = rest[i+1:]
	}
	open := bytes.IndexByte(rest, '[')
	end := bytes.Index(rest, []byte("]: "))
	if open <= 0 || end < open {
		t.Fatalf("no TAG[PID]: %q", m)
	}
	r.tag, r.pid = string(rest[:open]), string(rest[open+1:end])
	r.msg = string(rest[end+3:])
	return r
}

// checkBody checks that a message body is the alert's JSON, on one line.
func checkBody(t testing.TB, body string, a *event.Alert) {
	t.Helper()
	want := string(event.AppendAlertJSON(nil, a))
	if body != want {
		t.Fatalf("body differs from the alert's JSON:\n got %q\nwant %q", body, want)
	}
	if !json.Valid([]byte(body)) {
		t.Fatalf("body is not JSON: %q", body)
	}
	for i := 0; i < len(body); i++ {
		if body[i] < 0x20 || body[i] == 0x7f {
			t.Fatalf("control byte %#x in body at %d", body[i], i)
		}
	}
}

// pki is a CA with a server and a client certificate, in PEM files.
type pki struct {
	caFile, certFile, keyFile string // client side
	server                    tls.Certificate
	pool                      *x509.CertPool // the CA, for the server to check clients
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.DNSNames = []string{"syslog.test"}
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	keyPEM := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf("PRIVATE KEY", der)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := &pki{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = write("ca.pem", pemOf("CERTIFICATE", caDER))
	srvDER, srvKey := issue(2, "syslog.test", x509.ExtKeyUsageServerAuth)
	p.server, err = tls.X509KeyPair(pemOf("CERTIFICATE", srvDER), keyPEM(srvKey))
	if err != nil {
		t.Fatal(err)
	}
	cliDER, cliKey := issue(3, "vigil-client", x509.ExtKeyUsageClientAuth)
	p.certFile = write("client.pem", pemOf("CERTIFICATE", cliDER))
	p.keyFile = write("client-key.pem", keyPEM(cliKey))
	return p
}
