package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// refused matches the errors of a client whose certificate the server
// refused.
const refused = `certificate|broken pipe|connection reset|EOF`

// ca is a certificate authority made for one test.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // PEM of cert
}

func newCA(t *testing.T, name string) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	c := &ca{cert: cert, key: key, file: filepath.Join(t.TempDir(), name+".pem")}
	writePEM(t, c.file, "CERTIFICATE", der)
	return c
}

// issue makes a leaf certificate: a server's for the names given, or a
// client's. It returns the pair and the PEM files holding it.
func (c *ca) issue(t *testing.T, cn string, client bool, dns []string, ips []net.IP) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: dns, IPAddresses: ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsServer starts an HTTPS endpoint; with clients set it requires a
// client certificate signed by that CA, and reports the CN it saw.
func tlsServer(t *testing.T, cert tls.Certificate, clients *ca, sawCN *string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if len(r.TLS.PeerCertificates) > 0 {
			*sawCN = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if clients != nil {
		pool := x509.NewCertPool()
		pool.AddCert(clients.cert)
		srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point of some cases
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestTLS(t *testing.T) {
	serverCA, clientCA, otherCA := newCA(t, "server-ca"), newCA(t, "client-ca"), newCA(t, "other-ca")
	byIP, _, _ := serverCA.issue(t, "by-ip", false, nil, []net.IP{net.IPv4(127, 0, 0, 1)})
	byName, _, _ := serverCA.issue(t, "by-name", false, []string{"webhook.test"}, nil)
	_, clientCert, clientKey := clientCA.issue(t, "vigil-node-1", true, nil, nil)
	_, rogueCert, rogueKey := otherCA.issue(t, "rogue", true, nil, nil)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)

	cases := []struct {
		name    string
		server  tls.Certificate
		mtls    bool
		tls     TLSConfig
		newErr  string // New fails
		sendErr string // Send fails
		check   func(error) bool
		wantCN  string
	}{
		{name: "custom CA", server: byIP, tls: TLSConfig{CA: serverCA.file}},
		{name: "server name", server: byName, tls: TLSConfig{CA: serverCA.file, ServerName: "webhook.test"}},
		{name: "server name mismatch", server: byName, tls: TLSConfig{CA: serverCA.file}, sendErr: "127.0.0.1",
			check: func(err error) bool { var h x509.HostnameError; return errors.As(err, &h) }},
		{name: "unknown CA", server: byIP, tls: TLSConfig{CA: otherCA.file}, sendErr: "certificate",
			check: func(err error) bool { var u x509.UnknownAuthorityError; return errors.As(err, &u) }},
		{name: "system roots do not know a private CA", server: byIP, sendErr: "certificate"},
		{name: "insecure skip verify", server: byName, tls: TLSConfig{InsecureSkipVerify: true}},
		{name: "mTLS", server: byIP, mtls: true, tls: TLSConfig{CA: serverCA.file, Cert: clientCert, Key: clientKey}, wantCN: "vigil-node-1"},
		// With TLS 1.3 the server refuses the client certificate after the
		// client's handshake is done: the client sees the refusal, or, if
		// its request write races it, a broken connection. Either way the
		// request never reaches the handler (sawCN stays empty).
		{name: "mTLS without a client certificate", server: byIP, mtls: true, tls: TLSConfig{CA: serverCA.file}, sendErr: refused},
		{name: "mTLS with a certificate of another CA", server: byIP, mtls: true, tls: TLSConfig{CA: serverCA.file, Cert: rogueCert, Key: rogueKey}, sendErr: refused},
		{name: "CA file not PEM", server: byIP, tls: TLSConfig{CA: notPEM}, newErr: "tls.ca: no PEM certificate"},
		{name: "CA file missing", server: byIP, tls: TLSConfig{CA: "/nonexistent/ca.pem"}, newErr: "tls.ca: open /nonexistent/ca.pem"},
		{name: "key does not match", server: byIP, tls: TLSConfig{CA: serverCA.file, Cert: clientCert, Key: rogueKey}, newErr: "tls.cert, tls.key:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var clients *ca
			if c.mtls {
				clients = clientCA
			}
			var sawCN string
			srv := tlsServer(t, c.server, clients, &sawCN)
			s, err := New(Config{URL: srv.URL, TLS: c.tls, Retries: new(0)})
			if c.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.newErr) {
					t.Fatalf("New: %v, want %q", err, c.newErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(t.Context())
			err = s.Send(t.Context(), alerts(0, 1))
			switch {
			case c.sendErr == "" && err != nil:
				t.Fatalf("Send: %v", err)
			case c.sendErr != "" && (err == nil || !regexp.MustCompile(c.sendErr).MatchString(err.Error())):
				t.Fatalf("Send: %v, want an error with %q", err, c.sendErr)
			case c.check != nil && !c.check(err):
				t.Fatalf("Send: %v: not the expected verification error", err)
			}
			if sawCN != c.wantCN {
				t.Fatalf("server saw client %q, want %q", sawCN, c.wantCN)
			}
		})
	}
}
