package soak

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Load is the mixed load: marker actions the ledger records, and
// background work no soak rule matches (exec /bin/true, opens of one
// file, loopback connects), plus bursts of both.
type Load struct {
	Layout  Layout
	Ledger  *Ledger
	Connect int // the marker port (a listener on every loopback address)
	BgPort  int // the background connect port

	seq      [3]atomic.Uint64
	bgOps    atomic.Uint64
	Failures atomic.Uint64 // marker actions that failed (recorded as failed)
	firstErr atomic.Value
}

func kindIndex(k Kind) int {
	switch k {
	case Exec:
		return 0
	case Open:
		return 1
	}
	return 2
}

// Background counts the background operations done.
func (l *Load) Background() uint64 { return l.bgOps.Load() }

// FirstError is the first marker action failure, or "".
func (l *Load) FirstError() string {
	s, _ := l.firstErr.Load().(string)
	return s
}

// Marker performs one marker action of kind k and records it.
func (l *Load) Marker(k Kind) {
	seq := l.seq[kindIndex(k)].Add(1)
	start := time.Now()
	var err error
	switch k {
	case Exec:
		err = exec.Command(l.Layout.MarkerBin(), strconv.FormatUint(seq, 10)).Run()
	case Open:
		p := filepath.Join(l.Layout.MarkDir(), openPrefix+strconv.FormatUint(seq, 10))
		var f *os.File
		if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.Close()
			os.Remove(p)
		}
	case Connect:
		var c net.Conn
		addr := netip.AddrPortFrom(ConnectAddr(seq), uint16(l.Connect))
		if c, err = net.DialTimeout("tcp4", addr.String(), 2*time.Second); err == nil {
			c.Close()
		}
	}
	end := time.Now()
	if err != nil {
		l.Failures.Add(1)
		l.firstErr.CompareAndSwap(nil, fmt.Sprintf("%s %d: %v", k, seq, err))
		l.Ledger.RecordFailed(Key{Kind: k, Seq: seq}, start, end)
		return
	}
	l.Ledger.Record(Key{Kind: k, Seq: seq}, start, end)
}

// background runs one round of work no soak rule matches.
func (l *Load) background(opens, connects int, runExec bool) {
	p := filepath.Join(l.Layout.Dir, "bg")
	for range opens {
		if f, err := os.Open(p); err == nil {
			f.Close()
		}
		l.bgOps.Add(1)
	}
	for range connects {
		if c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", l.BgPort), time.Second); err == nil {
			c.Close()
		}
		l.bgOps.Add(1)
	}
	if runExec {
		exec.Command("/bin/true").Run()
		l.bgOps.Add(1)
	}
}

// Rates of the steady load, per second: marker execs, opens, connects;
// background opens, connects, execs. Moderate for a 2-core host: the soak
// checks correctness, not the ceiling.
const (
	markerExecPerSec, markerOpenPerSec, markerConnectPerSec = 5, 20, 10
	bgOpenPerSec, bgConnectPerSec, bgExecPerSec             = 2000, 200, 20
)

// Run runs the steady load until ctx ends, with a burst every
// burstEvery.
func (l *Load) Run(ctx context.Context, burstEvery time.Duration) {
	var wg sync.WaitGroup
	every := func(rate int, f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(time.Second / time.Duration(rate))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					f()
				}
			}
		}()
	}
	every(markerExecPerSec, func() { l.Marker(Exec) })
	every(markerOpenPerSec, func() { l.Marker(Open) })
	every(markerConnectPerSec, func() { l.Marker(Connect) })
	// Background in 20 rounds a second.
	every(20, func() { l.background(bgOpenPerSec/20, bgConnectPerSec/20, false) })
	every(bgExecPerSec, func() { l.background(0, 0, true) })
	every2 := time.NewTicker(burstEvery)
	defer every2.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-every2.C:
			l.Burst()
		}
	}
}

// Burst is a short spike: 100 marker execs, 500 marker opens and 200
// marker connects as fast as four goroutines go, with 50,000 background
// opens.
func (l *Load) Burst() {
	var wg sync.WaitGroup
	run := func(n int, f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				f()
			}
		}()
	}
	run(100, func() { l.Marker(Exec) })
	run(500, func() { l.Marker(Open) })
	run(200, func() { l.Marker(Connect) })
	run(1, func() { l.background(50000, 0, false) })
	wg.Wait()
}

// Listen accepts and closes connections on port (0: any) of every IPv4
// address, until ctx ends; it returns the port.
func Listen(ctx context.Context, port int) (int, error) {
	ln, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		return 0, err
	}
	go func() { <-ctx.Done(); ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
