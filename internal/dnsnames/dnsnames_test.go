package dnsnames

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is a DNS server on 127.0.0.1 over UDP that answers A and AAAA
// queries from its zone, "no such name" for names outside it, SERVFAIL
// while failing is set, and nothing at all while silent is.
type server struct {
	conn net.PacketConn

	mu      sync.Mutex
	zone    map[string][]netip.Addr
	failing bool
	silent  bool
	queries map[string]int
}

func startServer(t testing.TB) *server {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{conn: conn, zone: map[string][]netip.Addr{}, queries: map[string]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := s.answer(buf[:n]); resp != nil {
				conn.WriteTo(resp, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

func (s *server) set(name string, addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zone[name] = nil
	for _, a := range addrs {
		s.zone[name] = append(s.zone[name], netip.MustParseAddr(a))
	}
}

func (s *server) setMode(failing, silent bool) {
	s.mu.Lock()
	s.failing, s.silent = failing, silent
	s.mu.Unlock()
}

func (s *server) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[name]
}

// answer builds the response to the query q, or nil to say nothing.
func (s *server) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	// The question: labels, then type and class.
	off := 12
	var labels []string
	for off < len(q) && q[off] != 0 {
		l := int(q[off])
		if off+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[off+1:off+1+l]))
		off += 1 + l
	}
	off++
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	question := q[12 : off+4]
	name := strings.ToLower(strings.Join(labels, "."))

	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries[name]++
	if s.silent {
		return nil
	}
	addrs, known := s.zone[name]
	rcode := uint16(0)
	switch {
	case s.failing:
		rcode = 2 // SERVFAIL
	case !known:
		rcode = 3 // NXDOMAIN
	}
	var answers [][]byte
	for _, a := range addrs {
		if rcode != 0 || (a.Is4() && qtype != 1) || (a.Is6() && qtype != 28) {
			continue
		}
		rr := []byte{0xc0, 12} // the name: a pointer to the question's
		rr = binary.BigEndian.AppendUint16(rr, qtype)
		rr = binary.BigEndian.AppendUint16(rr, 1) // IN
		rr = binary.BigEndian.AppendUint32(rr, 5) // TTL
		rr = binary.BigEndian.AppendUint16(rr, uint16(a.BitLen()/8))
		answers = append(answers, append(rr, a.AsSlice()...))
	}
	resp := append([]byte(nil), q[:2]...)                    // id
	resp = binary.BigEndian.AppendUint16(resp, 0x8580|rcode) // QR, AA, RD, RA
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(answers)))
	resp = binary.BigEndian.AppendUint32(resp, 0) // no authority, no additional
	resp = append(resp, question...)
	return append(resp, bytes.Join(answers, nil)...)
}

// resolver is Go's own resolver, sending every query to s.
func (s *server) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.conn.LocalAddr().String())
	}}
}

// waitFor polls until ok holds, failing t after 5 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func addrs(l ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range l {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

var ip = netip.MustParseAddr

// logBuffer collects what the cache logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestCache(t *testing.T) {
	srv := startServer(t)
	srv.set("api.cluster.test", "10.96.0.1", "fd00::1")
	srv.set("pool.miner.test", "192.0.2.10", "192.0.2.11")
	var logs logBuffer
	c := New(Options{Resolver: srv.resolver(), Refresh: 50 * time.Millisecond, Hold: time.Hour, Timeout: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer c.Close()

	// Before any name is set, and before its first answer, nothing matches.
	if c.Resolves("api.cluster.test", ip("10.96.0.1")) {
		t.Fatal("matched before the name was set")
	}
	c.SetNames([]string{"API.cluster.test.", "pool.miner.test", "gone.example.test"})
	waitFor(t, "api.cluster.test resolved", func() bool { return c.Resolves("api.cluster.test", ip("10.96.0.1")) })
	waitFor(t, "pool.miner.test resolved", func() bool { return len(c.Addrs("pool.miner.test")) == 2 })

	for _, tt := range []struct {
		name string
		ip   string
		want bool
	}{
		{"api.cluster.test", "10.96.0.1", true},
		{"API.Cluster.Test.", "10.96.0.1", true},
		{"api.cluster.test", "::ffff:10.96.0.1", true}, // an IPv4-mapped address is its IPv4 one
		{"api.cluster.test", "fd00::1", true},
		{"api.cluster.test", "10.96.0.2", false},
		{"api.cluster.test", "192.0.2.10", false}, // another name's address
		{"pool.miner.test", "192.0.2.11", true},
		{"gone.example.test", "10.96.0.1", false},
		{"unknown.test", "10.96.0.1", false}, // never set: never looked up
	} {
		if got := c.Resolves(tt.name, ip(tt.ip)); got != tt.want {
			t.Errorf("Resolves(%q, %s) = %v, want %v", tt.name, tt.ip, got, tt.want)
		}
	}
	if c.Resolves("api.cluster.test", netip.Addr{}) {
		t.Error("the zero address matched")
	}
	if got, want := c.Addrs("api.cluster.test"), addrs("10.96.0.1", "fd00::1"); !slices.Equal(got, want) {
		t.Errorf("Addrs = %v, want %v", got, want)
	}
	if srv.count("unknown.test") != 0 {
		t.Error("a name never set was looked up")
	}
	waitFor(t, "gone.example.test answered", func() bool { return c.Stats().NotFound > 0 })

	// A new answer adds its addresses; those of earlier answers stay for
	// Hold (an hour here).
	srv.set("pool.miner.test", "192.0.2.12")
	waitFor(t, "the new pool address", func() bool { return c.Resolves("pool.miner.test", ip("192.0.2.12")) })
	if !c.Resolves("pool.miner.test", ip("192.0.2.10")) {
		t.Error("an address of the last answer but one was dropped within Hold")
	}

	// A resolver that fails keeps the last answer, logs once, counts each
	// failure, and says when it works again.
	srv.setMode(true, false)
	before := c.Stats().Errors
	waitFor(t, "errors counted", func() bool { return c.Stats().Errors >= before+4 })
	if !c.Resolves("api.cluster.test", ip("10.96.0.1")) {
		t.Error("the last answer was dropped while the server failed")
	}
	srv.setMode(false, true) // timeouts
	before = c.Stats().Errors
	waitFor(t, "timeouts counted", func() bool { return c.Stats().Errors >= before+2 })
	if !c.Resolves("api.cluster.test", ip("fd00::1")) {
		t.Error("the last answer was dropped while the server was silent")
	}
	if n := strings.Count(logs.String(), `msg="dns lookup failed; keeping the last answer" name=api.cluster.test addrs=2`); n != 1 {
		t.Errorf("failure logged %d times for api.cluster.test:\n%s", n, logs.String())
	}
	srv.setMode(false, false)
	srv.set("api.cluster.test", "10.96.0.9")
	waitFor(t, "the answer after the outage", func() bool { return c.Resolves("api.cluster.test", ip("10.96.0.9")) })
	if !strings.Contains(logs.String(), `msg="dns lookup answered again" name=api.cluster.test`) {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}

	// Names dropped from the set are forgotten at once.
	c.SetNames([]string{"pool.miner.test"})
	if c.Resolves("api.cluster.test", ip("10.96.0.9")) || !c.Resolves("pool.miner.test", ip("192.0.2.12")) {
		t.Error("SetNames did not keep exactly the names given")
	}
	if s := c.Stats(); s.Names != 1 || s.Resolved != 1 {
		t.Errorf("stats %+v", s)
	}
}

// An address that no answer has had for Hold goes.
func TestHold(t *testing.T) {
	srv := startServer(t)
	srv.set("rotating.pool.test", "198.51.100.1")
	c := New(Options{Resolver: srv.resolver(), Refresh: 20 * time.Millisecond, Hold: 100 * time.Millisecond})
	defer c.Close()
	c.SetNames([]string{"rotating.pool.test"})
	waitFor(t, "first answer", func() bool { return c.Resolves("rotating.pool.test", ip("198.51.100.1")) })
	srv.set("rotating.pool.test", "198.51.100.2")
	waitFor(t, "second answer", func() bool { return c.Resolves("rotating.pool.test", ip("198.51.100.2")) })
	waitFor(t, "first address dropped after Hold", func() bool { return !c.Resolves("rotating.pool.test", ip("198.51.100.1")) })
	if got := c.Addrs("rotating.pool.test"); !slices.Equal(got, addrs("198.51.100.2")) {
		t.Errorf("Addrs = %v", got)
	}
}

// The hosts file answers too: the default resolver is the host's.
func TestDefaultResolver(t *testing.T) {
	c := New(Options{})
	defer c.Close()
	c.SetNames([]string{"localhost"})
	waitFor(t, "localhost resolved", func() bool { return c.Resolves("localhost", ip("127.0.0.1")) })
}

// Resolves is what the event path calls: no allocation.
func TestResolvesAllocs(t *testing.T) {
	c := New(Options{Resolver: startServer(t).resolver()})
	defer c.Close()
	a := ip("10.0.0.1")
	if n := testing.AllocsPerRun(100, func() { c.Resolves("api.cluster.test", a) }); n != 0 {
		t.Errorf("Resolves allocates %v times", n)
	}
}

func BenchmarkResolves(b *testing.B) {
	c := New(Options{Resolver: startServer(b).resolver()})
	defer c.Close()
	names := make([]string, 100)
	for i := range names {
		names[i] = "n" + string(rune('a'+i%26)) + ".example.test"
	}
	c.SetNames(names)
	a := ip("10.0.0.1")
	for b.Loop() {
		c.Resolves("nb.example.test", a)
	}
}
