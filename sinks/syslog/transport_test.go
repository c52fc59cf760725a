package syslog

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// receiver is a test syslog server: it hands over each message it gets,
// and reports any departure from the framing.
type receiver struct {
	msgs chan []byte
	errs chan error
}

func newReceiver() *receiver {
	return &receiver{msgs: make(chan []byte, 1024), errs: make(chan error, 16)}
}

// next returns the next message, failing the test on a framing error or
// after a few seconds.
func (r *receiver) next(t testing.TB) []byte {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case err := <-r.errs:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	return nil
}

// none fails the test if a message or an error arrives soon.
func (r *receiver) none(t testing.TB) {
	t.Helper()
	select {
	case m := <-r.msgs:
		t.Fatalf("unexpected message %q", m)
	case err := <-r.errs:
		t.Fatal(err)
	case <-time.After(100 * time.Millisecond):
	}
}

func (r *receiver) readDatagrams(c net.PacketConn) {
	buf := make([]byte, 256<<10)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		r.msgs <- append([]byte(nil), buf[:n]...)
	}
}

// readFrames reads RFC 6587 octet-counted frames: MSG-LEN (no leading
// zero) SP MSG, nothing else, until the connection ends.
func (r *receiver) readFrames(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		head, err := br.ReadString(' ')
		if err != nil {
			if err != io.EOF || head != "" {
				r.errs <- fmt.Errorf("frame header %q: %w", head, err)
			}
			return
		}
		digits := strings.TrimSuffix(head, " ")
		n, err := strconv.Atoi(digits)
		if err != nil || n <= 0 || len(digits) > 10 || digits[0] == '0' || strings.ContainsAny(digits, "+-") {
			r.errs <- fmt.Errorf("bad MSG-LEN %q", head)
			return
		}
		m := make([]byte, n)
		if _, err := io.ReadFull(br, m); err != nil {
			r.errs <- fmt.Errorf("frame of %d bytes: %w", n, err)
			return
		}
		r.msgs <- m
	}
}

func listenUnixgram(t testing.TB, path string) (*receiver, net.PacketConn) {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	r := newReceiver()
	go r.readDatagrams(c)
	t.Cleanup(func() { c.Close() })
	return r, c
}

func listenUDP(t testing.TB) (*receiver, string) {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := newReceiver()
	go r.readDatagrams(c)
	t.Cleanup(func() { c.Close() })
	return r, c.LocalAddr().String()
}

// streamServer accepts connections (TLS when cfg is set) and reads frames
// from each; close ends the listener and every accepted connection, as a
// daemon that stops does.
type streamServer struct {
	*receiver
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func listenStream(t testing.TB, addr string, cfg *tls.Config) *streamServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	s := &streamServer{receiver: newReceiver(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go s.readFrames(c)
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *streamServer) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// transport is one way to a test receiver.
type transport struct {
	name   string
	config func(t *testing.T) (Config, *receiver)
}

func transports(p *pki) []transport {
	serverTLS := func(mutual bool) *tls.Config {
		c := &tls.Config{Certificates: []tls.Certificate{p.server}}
		if mutual {
			c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, p.pool
		}
		return c
	}
	return []transport{
		{"unixgram", func(t *testing.T) (Config, *receiver) {
			path := filepath.Join(t.TempDir(), "log.sock")
			r, _ := listenUnixgram(t, path)
			return Config{Network: NetUnixgram, Address: path}, r
		}},
		{"udp", func(t *testing.T) (Config, *receiver) {
			r, addr := listenUDP(t)
			return Config{Network: NetUDP, Address: addr}, r
		}},
		{"tcp", func(t *testing.T) (Config, *receiver) {
			s := listenStream(t, "127.0.0.1:0", nil)
			return Config{Network: NetTCP, Address: s.ln.Addr().String()}, s.receiver
		}},
		{"tls", func(t *testing.T) (Config, *receiver) {
			s := listenStream(t, "127.0.0.1:0", serverTLS(false))
			_, port, _ := net.SplitHostPort(s.ln.Addr().String())
			// By name, to check ServerName is used for verification.
			return Config{Network: NetTCPTLS, Address: "127.0.0.1:" + port, CA: p.caFile, ServerName: "syslog.test"}, s.receiver
		}},
		{"mtls", func(t *testing.T) (Config, *receiver) {
			s := listenStream(t, "127.0.0.1:0", serverTLS(true))
			return Config{Network: NetTCPTLS, Address: s.ln.Addr().String(), CA: p.caFile, Cert: p.certFile, Key: p.keyFile}, s.receiver
		}},
	}
}

// TestTransports: for every transport and format, a batch arrives as one
// message per alert, byte-exact in its header and body.
func TestTransports(t *testing.T) {
	p := newPKI(t)
	pid := strconv.Itoa(os.Getpid())
	for _, tr := range transports(p) {
		for _, format := range []string{FormatRFC5424, FormatRFC3164} {
			t.Run(tr.name+"/"+format, func(t *testing.T) {
				c, r := tr.config(t)
				c.Format, c.Facility, c.Tag = format, "local5", "vigil-test"
				s := mustNew(t, c)
				defer s.Close(context.Background())
				crit, debug := testAlert(t), testAlert(t)
				crit.Level, crit.Priority, crit.Rule = 2, "Critical", `Rule "quoted" [x] \ back`
				debug.Level, debug.Priority, debug.Hostname = 7, "Debug", ""
				if err := s.Send(context.Background(), []*event.Alert{crit, debug}); err != nil {
					t.Fatal(err)
				}
				for _, tc := range []struct {
					a    *event.Alert
					pri  int
					host string
				}{{crit, 21*8 + 2, "node-1"}, {debug, 21*8 + 7, "-"}} {
					m := r.next(t)
					if format == FormatRFC3164 {
						withHost := c.Network != NetUnixgram
						got := parse3164(t, m, withHost)
						want := msg3164{pri: tc.pri, timestamp: tc.a.Time.Local().Format(time.Stamp), tag: "vigil-test", pid: pid, msg: got.msg}
						if withHost {
							want.hostname = tc.host
						}
						if got != want {
							t.Fatalf("got %+v\nwant %+v", got, want)
						}
						checkBody(t, got.msg, tc.a)
						continue
					}
					got := parse5424(t, m)
					if got.pri != tc.pri || got.timestamp != "2026-11-22T05:00:00.123456Z" || got.hostname != tc.host ||
						got.app != "vigil-test" || got.procid != pid || got.msgid != "alert" || got.sdID != "vigil@32473" ||
						len(got.params) != 2 || got.params["rule"] != tc.a.Rule || got.params["priority"] != tc.a.Priority {
						t.Fatalf("header: %+v", got)
					}
					checkBody(t, got.msg, tc.a)
				}
				r.none(t)
				if n := s.Counters().Retried; n != 0 {
					t.Fatalf("retried %d", n)
				}
			})
		}
	}
}

// TestInjection: an alert full of newlines, NULs, escapes and invalid
// UTF-8 is exactly one message on every transport, and the alert after
// it arrives intact.
func TestInjection(t *testing.T) {
	p := newPKI(t)
	for _, tr := range transports(p) {
		for _, format := range []string{FormatRFC5424, FormatRFC3164} {
			t.Run(tr.name+"/"+format, func(t *testing.T) {
				c, r := tr.config(t)
				c.Format = format
				s := mustNew(t, c)
				defer s.Close(context.Background())
				bad, good := hostileAlert(t), testAlert(t)
				if err := s.Send(context.Background(), []*event.Alert{bad, good, bad}); err != nil {
					t.Fatal(err)
				}
				withHost := format == FormatRFC5424 || c.Network != NetUnixgram
				checkHostile(t, bad, r.next(t), format, withHost)
				checkHostile(t, good, r.next(t), format, withHost)
				checkHostile(t, bad, r.next(t), format, withHost)
				r.none(t)
			})
		}
	}
}

// TestReconnect: the receiver goes away and comes back at the same
// address between two sends; the second alert arrives on a new connection
// and counts as retried. While it is away, Send fails.
func TestReconnect(t *testing.T) {
	p := newPKI(t)
	for _, mode := range []string{"tcp", "tls", "unixgram"} {
		t.Run(mode, func(t *testing.T) {
			var (
				c    Config
				r    *receiver
				stop func()
				up   func() *receiver
			)
			switch mode {
			case "unixgram":
				path := filepath.Join(t.TempDir(), "log.sock")
				c = Config{Network: NetUnixgram, Format: FormatRFC5424, Address: path}
				up = func() *receiver {
					r, pc := listenUnixgram(t, path)
					// A restarting daemon removes its socket and binds a new one.
					stop = func() { pc.Close(); os.Remove(path) }
					return r
				}
			default:
				var cfg *tls.Config
				if mode == "tls" {
					cfg = &tls.Config{Certificates: []tls.Certificate{p.server}}
				}
				srv := listenStream(t, "127.0.0.1:0", cfg)
				addr := srv.ln.Addr().String()
				srv.close()
				c = Config{Network: NetTCP, Address: addr}
				if cfg != nil {
					c.Network, c.CA = NetTCPTLS, p.caFile
				}
				up = func() *receiver {
					srv := listenStream(t, addr, cfg)
					stop = srv.close
					return srv.receiver
				}
			}
			r = up()
			c.Timeout = time.Second
			s := mustNew(t, c)
			defer s.Close(context.Background())
			ctx := context.Background()
			first, second, third := testAlert(t), testAlert(t), testAlert(t)
			first.Rule, second.Rule, third.Rule = "first", "second", "third"
			if err := s.Send(ctx, []*event.Alert{first}); err != nil {
				t.Fatal(err)
			}
			checkBody(t, parse5424(t, r.next(t)).msg, first)

			stop()
			r = up()
			if err := s.Send(ctx, []*event.Alert{second}); err != nil {
				t.Fatal(err)
			}
			checkBody(t, parse5424(t, r.next(t)).msg, second)
			if n := s.Counters().Retried; n != 1 {
				t.Fatalf("retried %d, want 1", n)
			}

			stop()
			err := s.Send(ctx, []*event.Alert{third, third})
			if err == nil || !strings.Contains(err.Error(), "0 of 2 alerts sent") {
				t.Fatalf("send with the receiver away: %v", err)
			}
			var de *sinks.DropError
			if !errors.As(err, &de) || de.Counts[sinks.ReasonUnavailable] != 2 || de.Total() != 2 {
				t.Fatalf("send with the receiver away: %#v, want 2 dropped as unavailable", err)
			}
			r = up()
			if err := s.Send(ctx, []*event.Alert{third}); err != nil {
				t.Fatal(err)
			}
			checkBody(t, parse5424(t, r.next(t)).msg, third)
			r.none(t)
		})
	}
}

func TestTLSVerification(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	for _, tc := range []struct {
		name   string
		server *tls.Config
		c      Config
		ok     bool
		errHas string // any of, |-separated
	}{
		{"unknown authority", &tls.Config{Certificates: []tls.Certificate{p.server}}, Config{CA: other.caFile}, false, "certificate"},
		{"system roots", &tls.Config{Certificates: []tls.Certificate{p.server}}, Config{}, false, "certificate"},
		{"wrong name", &tls.Config{Certificates: []tls.Certificate{p.server}}, Config{CA: p.caFile, ServerName: "other.test"}, false, "other.test"},
		{"insecure", &tls.Config{Certificates: []tls.Certificate{p.server}}, Config{InsecureSkipVerify: true}, true, ""},
		{"client certificate missing", &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool},
			// The server's alert races with its reset of our write.
			Config{CA: p.caFile}, false, "certificate|broken pipe|connection reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := listenStream(t, "127.0.0.1:0", tc.server)
			c := tc.c
			c.Network, c.Address, c.Timeout = NetTCPTLS, srv.ln.Addr().String(), 2*time.Second
			s := mustNew(t, c)
			defer s.Close(context.Background())
			err := s.Send(context.Background(), []*event.Alert{testAlert(t)})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				srv.next(t)
				return
			}
			// With TLS 1.3 the client learns the server refused its
			// certificate only after its first write: then the message
			// must not be taken as delivered.
			if err == nil {
				select {
				case m := <-srv.msgs:
					t.Fatalf("delivered despite the failed handshake: %q", m)
				case <-time.After(200 * time.Millisecond):
				}
				err = s.Send(context.Background(), []*event.Alert{testAlert(t)})
			}
			if err == nil || !slices.ContainsFunc(strings.Split(tc.errHas, "|"), func(s string) bool { return strings.Contains(err.Error(), s) }) {
				t.Fatalf("got %v, want an error about %q", err, tc.errHas)
			}
			t.Log(err)
		})
	}
}

func TestTooLargeDatagram(t *testing.T) {
	r, addr := listenUDP(t)
	s := mustNew(t, Config{Network: NetUDP, Address: addr})
	defer s.Close(context.Background())
	big := testAlert(t)
	big.Output = strings.Repeat("x", 70000)
	err := s.Send(context.Background(), []*event.Alert{testAlert(t), big, testAlert(t)})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1 of 3 alerts sent") {
		t.Fatalf("got %v, want ErrTooLarge after 1 alert", err)
	}
	if n := s.Counters().Retried; n != 0 {
		t.Fatalf("retried %d", n)
	}
	r.next(t)
	r.none(t)
}

// TestCancelBlockedWrite: a receiver that stops reading blocks the writes;
// cancelling Send's context (the fan-out's close deadline) ends them long
// before the write timeout.
func TestCancelBlockedWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			held <- c
		}
	}()
	s := mustNew(t, Config{Network: NetTCP, Address: ln.Addr().String(), Timeout: time.Minute})
	big := testAlert(t)
	big.Output = strings.Repeat("x", 64<<10)
	batch := make([]*event.Alert, 1024) // 64 MiB: more than any socket buffers
	for i := range batch {
		batch[i] = big
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(ctx, batch)
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Send took %v after its context ended", d)
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelClose()
	s.Close(closeCtx)
	if c := <-held; c != nil {
		c.Close()
	}
}

func TestClose(t *testing.T) {
	r, addr := listenUDP(t)
	s := mustNew(t, Config{Network: NetUDP, Address: addr})
	if err := s.Send(context.Background(), []*event.Alert{testAlert(t)}); err != nil {
		t.Fatal(err)
	}
	r.next(t)
	for range 2 {
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Send(context.Background(), []*event.Alert{testAlert(t)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
}
