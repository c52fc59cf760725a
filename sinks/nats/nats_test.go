package nats

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

var _ sinks.Sink = (*Sink)(nil)
var _ sinks.Reporter = (*Sink)(nil)

// startServer runs a nats-server in-process on 127.0.0.1 (port -1: a free
// one), with JetStream storing in dir.
func startServer(t testing.TB, port int, dir string) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

func stopServer(srv *server.Server) {
	srv.Shutdown()
	srv.WaitForShutdown()
}

var testTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testAlert is alert n of a test: its time (and so its message id) is
// unique per n.
func testAlert(rule, priority, host string, n int) *event.Alert {
	p, _ := event.ParsePriority(priority)
	proc := &event.Process{PID: 4242, PPID: 1, Name: "bash", Exe: "/usr/bin/bash", Argv: []string{"bash", "-i"}, Cmdline: "bash -i"}
	return &event.Alert{
		Time: testTime.Add(time.Duration(n) * time.Microsecond), Rule: rule, Priority: priority, Level: p.Level(),
		Source: "syscall", Output: fmt.Sprintf("Shell in container (n=%d)", n), Fields: []string{"proc.name"},
		Tags: []string{"shell"}, Hostname: host, Action: "alert",
		Event: &event.Event{Type: event.TypeExec, Time: testTime, TID: 4242, Proc: proc},
	}
}

func newSink(t testing.TB, c Config) *Sink {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Alerts arrive, as their JSON, on the subjects of the template, whatever
// the rule and host names hold.
func TestSubjects(t *testing.T) {
	srv := startServer(t, -1, t.TempDir())
	sub, err := connect(t, srv.ClientURL()).SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	s := newSink(t, Config{URL: srv.ClientURL(), Subject: "vigil.{hostname}.{priority}.{rule}"})
	cases := []struct{ rule, priority, host, subject string }{
		{"Terminal shell in container", "Warning", "node-1", "vigil.node-1.warning.terminal_shell_in_container"},
		{"read.etc.shadow", "Critical", "node-1.example.com", "vigil.node-1_example_com.critical.read_etc_shadow"},
		{"wild * card", "Error", "h", "vigil.h.error.wild___card"},
		{"all >", "Notice", "h", "vigil.h.notice.all__"},
		{"Zugriff auf /etc/passwd über Ärger", "Debug", "", "vigil._.debug.zugriff_auf__etc_passwd__ber__rger"},
		{"", "", "h", "vigil.h._._"},
	}
	var batch []*event.Alert
	for i, c := range cases {
		batch = append(batch, testAlert(c.rule, c.priority, c.host, i))
	}
	if err := s.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("alert %d: %v", i, err)
		}
		if m.Subject != c.subject {
			t.Errorf("rule %q host %q: subject %q, want %q", c.rule, c.host, m.Subject, c.subject)
		}
		if want := event.AppendAlertJSON(nil, batch[i]); string(m.Data) != string(want) {
			t.Errorf("alert %d: body %s, want %s", i, m.Data, want)
		}
	}
	if st := s.Stats(); st.Published != uint64(len(cases)) || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// JetStream across a 10 s outage of the server, which stops while alerts
// are being sent: every alert is stored exactly once. What was sent during
// the outage went through the spool (asserted); a copy published twice
// (an in-flight batch flushed from the reconnect buffer, then from the
// spool) is dropped by the stream's duplicate window thanks to the ids.
func TestJetStreamOutage(t *testing.T) {
	const outage = 10 * time.Second
	store := t.TempDir()
	srv := startServer(t, -1, store)
	port := srv.Addr().(*net.TCPAddr).Port
	s := newSink(t, Config{
		URL: srv.ClientURL(), JetStream: true, Stream: "VIGIL",
		ReconnectWait: 100 * time.Millisecond, AckTimeout: time.Second, MaxRetries: 2,
		Spool: SpoolConfig{Dir: t.TempDir()},
	})
	ctx := context.Background()

	// The fan-out's worker: batches of 5 every 20 ms until stopped.
	var all []*event.Alert
	stop := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				sent <- nil
				return
			case <-time.After(20 * time.Millisecond):
			}
			b := make([]*event.Alert, 5)
			for i := range b {
				n := len(all)
				b[i] = testAlert(fmt.Sprintf("Rule %d", n%7), []string{"Critical", "Warning", "Notice"}[n%3], "node-1", n)
				all = append(all, b[i])
			}
			if err := s.Send(ctx, b); err != nil {
				sent <- fmt.Errorf("send of alerts %d..%d: %w", len(all)-len(b), len(all), err)
				return
			}
		}
	}()
	time.Sleep(time.Second)
	stopServer(srv)
	time.Sleep(outage)
	spooled := s.Stats().Spooled
	srv = startServer(t, port, store)
	time.Sleep(2 * time.Second)
	close(stop)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if spooled == 0 {
		t.Fatal("nothing spooled during the outage")
	}
	closeCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	t.Logf("%d alerts, %d spooled at the end of the outage; stats %+v", len(all), spooled, st)
	if st.Failed != 0 || st.Spooled != 0 || st.SpooledTotal < spooled {
		t.Errorf("stats %+v: want no failure, an empty spool, and the spool used", st)
	}

	js, err := jetstream.New(connect(t, srv.ClientURL()))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, "VIGIL")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(len(all)) {
		t.Errorf("stream holds %d messages, want %d", info.State.Msgs, len(all))
	}
	// Each alert exactly once, by its id.
	want := map[string]bool{}
	for _, a := range all {
		want[msgID(a)] = true
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range info.State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got[m.Headers().Get(jetstream.MsgIDHeader)]++
	}
	for id, n := range got {
		if !want[id] || n != 1 {
			t.Errorf("id %s stored %d times (ours: %v)", id, n, want[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct ids stored, want %d", len(got), len(want))
	}
}

// An alert published again (a retry whose first copy did arrive, a
// spooled copy) carries the same id, and the stream keeps one.
func TestJetStreamDuplicateDropped(t *testing.T) {
	srv := startServer(t, -1, t.TempDir())
	ctx := context.Background()
	c := Config{URL: srv.ClientURL(), JetStream: true, Stream: "VIGIL"}
	batch := []*event.Alert{testAlert("A", "Warning", "h", 1), testAlert("B", "Warning", "h", 2)}
	first, again := newSink(t, c), newSink(t, c)
	if err := first.Send(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := again.Send(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if st := again.Stats(); st.Published != 2 || st.Duplicates != 2 {
		t.Errorf("stats %+v: want 2 published, both duplicates", st)
	}
	stream, err := first.js.Stream(ctx, "VIGIL")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d messages, want 2", info.State.Msgs)
	}
}

// With the server down, core NATS buffers up to ReconnectBufferBytes and
// no more: publishing past it fails, and every refused alert is counted.
func TestCoreReconnectBufferBounded(t *testing.T) {
	const limit = 64 << 10
	srv := startServer(t, -1, t.TempDir())
	s := newSink(t, Config{URL: srv.ClientURL(), ReconnectBufferBytes: limit, ReconnectWait: time.Minute})
	stopServer(srv)
	waitFor(t, "the sink to notice", 5*time.Second, func() bool { return !s.connected() })

	batch := make([]*event.Alert, 20)
	var refused, size int
	for round := range 10 {
		for i := range batch {
			batch[i] = testAlert("Big", "Warning", "node-1", round*len(batch)+i)
			batch[i].Output = strings.Repeat("x", 1000)
		}
		size = len(event.AppendAlertJSON(nil, batch[0]))
		err := s.Send(context.Background(), batch)
		if err != nil {
			if !errors.Is(err, ErrUndelivered) || !errors.Is(err, nats.ErrReconnectBufExceeded) {
				t.Fatalf("round %d: %v", round, err)
			}
			refused++
		}
	}
	buffered, err := s.nc.Buffered()
	if err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	t.Logf("alert %d bytes: %d buffered bytes, stats %+v", size, buffered, st)
	// nats.go checks the limit before appending: one message may cross it.
	if buffered > limit+size+256 {
		t.Errorf("%d bytes buffered, limit %d", buffered, limit)
	}
	if refused == 0 || st.Failed == 0 || st.Failed+st.Published != 200 {
		t.Errorf("%d sends refused, stats %+v: want failures counted, failed+published = 200", refused, st)
	}
	if st.Published > uint64(limit/size+1) {
		t.Errorf("%d alerts buffered: more than %d bytes hold", st.Published, limit)
	}
	// Closing while the server is away loses the buffer, and says so.
	if err := s.Close(context.Background()); !errors.Is(err, ErrDisconnected) {
		t.Errorf("close: %v, want ErrDisconnected", err)
	}
}

// Core NATS with a spool: what the reconnect buffer cannot hold is spooled
// and published once the server is back. A stream on the first server
// (recovered by the second) records what arrives, since a subscriber made
// after the restart could miss what the sink sends as soon as it
// reconnects.
func TestCoreSpool(t *testing.T) {
	store := t.TempDir()
	srv := startServer(t, -1, store)
	port := srv.Addr().(*net.TCPAddr).Port
	ctx := context.Background()
	js, err := jetstream.New(connect(t, srv.ClientURL()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "CAPTURE", Subjects: []string{"vigil.>"}}); err != nil {
		t.Fatal(err)
	}
	s := newSink(t, Config{
		URL: srv.ClientURL(), ReconnectBufferBytes: 8 << 10, ReconnectWait: 50 * time.Millisecond,
		Spool: SpoolConfig{Dir: t.TempDir()},
	})
	stopServer(srv)
	waitFor(t, "the sink to notice", 5*time.Second, func() bool { return !s.connected() })
	var all []*event.Alert
	for i := range 50 {
		all = append(all, testAlert("Rule", "Warning", "node-1", i))
	}
	for b := range slices.Chunk(all, 10) {
		if err := s.Send(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if s.Stats().Spooled == 0 {
		t.Fatal("nothing spooled")
	}
	srv = startServer(t, port, store)
	waitFor(t, "the spool to drain", 10*time.Second, func() bool { return s.Stats().Spooled == 0 })
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Failed != 0 || st.Published != 50 || st.SpooledTotal == 0 {
		t.Errorf("stats %+v: want 50 published, none failed, some spooled", st)
	}
	js, err = jetstream.New(connect(t, srv.ClientURL()))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, "CAPTURE")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats %+v; %d stored", st, info.State.Msgs)
	if info.State.Msgs != 50 {
		t.Errorf("%d alerts arrived, want 50", info.State.Msgs)
	}
}

// Tail reads the alerts of two sinks (two hosts), keeping those at or
// above the minimum priority; over core NATS and over a stream.
func TestTail(t *testing.T) {
	for _, js := range []bool{false, true} {
		t.Run(map[bool]string{false: "core", true: "jetstream"}[js], func(t *testing.T) {
			srv := startServer(t, -1, t.TempDir())
			c := Config{URL: srv.ClientURL(), JetStream: js}
			if js {
				c.Stream = "VIGIL"
			}
			a, b := newSink(t, c), newSink(t, c)
			ctx := context.Background()
			if js {
				// Published before tail starts: a "deliver new" tail
				// must not show it.
				if err := a.Send(ctx, []*event.Alert{testAlert("Old", "Critical", "node-a", 0)}); err != nil {
					t.Fatal(err)
				}
			}

			tailCtx, stop := context.WithCancel(ctx)
			defer stop()
			var mu sync.Mutex
			var got []*Received
			baseline := srv.NumSubscriptions()
			done := make(chan error, 1)
			go func() {
				done <- Tail(tailCtx, TailConfig{URL: srv.ClientURL(), JetStream: js, MinPriority: "warning"}, func(r *Received) {
					mu.Lock()
					got = append(got, r)
					mu.Unlock()
				})
			}()
			tailFailed := func() {
				select {
				case err := <-done:
					t.Fatalf("tail ended early: %v", err)
				default:
				}
			}
			if js {
				waitFor(t, "the tail's consumer", 5*time.Second, func() bool {
					tailFailed()
					st, err := a.js.Stream(ctx, "VIGIL")
					if err != nil {
						return false
					}
					info, err := st.Info(ctx)
					return err == nil && info.State.Consumers > 0
				})
			} else {
				waitFor(t, "the tail's subscription", 5*time.Second, func() bool { tailFailed(); return srv.NumSubscriptions() > baseline })
			}

			for i, s := range map[string]*Sink{"node-a": a, "node-b": b} {
				var batch []*event.Alert
				for j, p := range []string{"Critical", "Warning", "Notice", "Debug"} {
					batch = append(batch, testAlert("Rule "+p, p, i, 10+j))
				}
				if err := s.Send(ctx, batch); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "4 alerts", 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 4 })
			time.Sleep(200 * time.Millisecond) // room for an alert that should not come
			stop()
			if err := <-done; err != nil {
				t.Fatalf("tail: %v", err)
			}

			var seen []string
			for _, r := range got {
				seen = append(seen, r.Hostname+" "+r.Priority)
				if r.Err != nil || r.Rule != "Rule "+r.Priority || r.Time.IsZero() || r.Level > 4 || len(r.Data) == 0 {
					t.Errorf("received %+v", r)
				}
				if js != (r.Seq != 0) {
					t.Errorf("seq %d with jetstream=%v", r.Seq, js)
				}
			}
			slices.Sort(seen)
			want := []string{"node-a Critical", "node-a Warning", "node-b Critical", "node-b Warning"}
			if !slices.Equal(seen, want) {
				t.Errorf("received %q, want %q", seen, want)
			}
		})
	}
}

func TestTailRejects(t *testing.T) {
	for _, c := range []TailConfig{
		{Subject: "a.>.b"},
		{MinPriority: "loud"},
		{Auth: Auth{Password: "p"}},
	} {
		err := Tail(context.Background(), c, func(*Received) {})
		if !errors.Is(err, ErrConfig) {
			t.Errorf("Tail(%+v) = %v, want ErrConfig", c, err)
		}
	}
}

func TestSendAfterClose(t *testing.T) {
	srv := startServer(t, -1, t.TempDir())
	s := newSink(t, Config{URL: srv.ClientURL()})
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), []*event.Alert{testAlert("R", "Warning", "h", 0)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

// Unacknowledged alerts are published again (counted) until the stream
// takes them; with no retries left they are given up, counted, and Send
// says why.
func TestJetStreamRetry(t *testing.T) {
	srv := startServer(t, -1, t.TempDir())
	ctx := context.Background()
	batch := []*event.Alert{testAlert("A", "Warning", "h", 1), testAlert("B", "Warning", "h", 2)}

	// No stream covers the subjects: nothing acknowledges.
	noRetry := newSink(t, Config{URL: srv.ClientURL(), JetStream: true, MaxRetries: -1})
	err := noRetry.Send(ctx, batch)
	if !errors.Is(err, ErrUndelivered) || !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("send without a stream: %v", err)
	}
	if st := noRetry.Stats(); st.Failed != 2 || st.Retried != 0 || st.Published != 0 {
		t.Errorf("stats %+v: want 2 failed, no retry", st)
	}

	// The stream appears after the first attempt has failed (nats.go
	// itself retries "no responders" for about 500 ms).
	s := newSink(t, Config{URL: srv.ClientURL(), JetStream: true, MaxRetries: 5})
	js, err := jetstream.New(connect(t, srv.ClientURL()))
	if err != nil {
		t.Fatal(err)
	}
	created := make(chan error, 1)
	time.AfterFunc(700*time.Millisecond, func() {
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LATE", Subjects: []string{"vigil.>"}})
		created <- err
	})
	if err := s.Send(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Published != 2 || st.Retried < 2 || st.Failed != 0 {
		t.Errorf("stats %+v: want 2 published after retries", st)
	}
}
