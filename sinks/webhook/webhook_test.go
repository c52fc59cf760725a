package webhook

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
	"github.com/vigil-project/vigil/sinks/spool"
)

func alert(i int) *event.Alert {
	t := time.Date(2026, 3, 4, 5, 6, 7, i*1000, time.UTC)
	proc := &event.Process{PID: uint32(1000 + i), PPID: 1, Name: "bash", Exe: "/usr/bin/bash",
		Argv: []string{"bash", "-c", fmt.Sprintf("cat /etc/shadow # %d", i)}, Cmdline: fmt.Sprintf("bash -c cat /etc/shadow # %d", i),
		Container: event.Container{ID: "0123456789ab", Runtime: "containerd"}}
	return &event.Alert{
		Time: t, Rule: fmt.Sprintf("Read sensitive file %d", i), Priority: "Warning", Level: 4, Source: "syscall",
		Output:   fmt.Sprintf(`Sensitive file opened (user=root file=/etc/shadow n=%d "quoted")`, i),
		Fields:   []string{"user.name", "proc.name", "proc.cmdline", "file.path", "container.id"},
		Tags:     []string{"filesystem", "mitre_credential_access"},
		Hostname: "node-1", Action: "alert",
		Event: &event.Event{Type: event.TypeOpen, Time: t, Res: 3, Source: "tracepoint", TID: uint32(1000 + i),
			Proc: proc, User: event.User{UID: 0, Name: "root"},
			File: event.File{Path: "/etc/shadow", RawPath: "/etc/shadow"}},
	}
}

func alerts(from, to int) []*event.Alert {
	var out []*event.Alert
	for i := from; i < to; i++ {
		out = append(out, alert(i))
	}
	return out
}

func encoded(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, string(event.AppendAlertJSON(nil, alert(i))))
	}
	return out
}

type request struct {
	header http.Header
	host   string
	body   []byte // decompressed
}

// receiver is the endpoint: it records requests and answers with
// respond(n) for the n-th (204 when nil).
type receiver struct {
	mu      sync.Mutex
	reqs    []request
	respond func(n int, w http.ResponseWriter)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	n := len(rc.reqs)
	rc.reqs = append(rc.reqs, request{header: r.Header.Clone(), host: r.Host, body: b})
	respond := rc.respond
	rc.mu.Unlock()
	if respond != nil {
		respond(n, w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// alertsIn splits the bodies received into the alert objects they carry.
func (rc *receiver) alertsIn(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range rc.requests() {
		switch ct := r.header.Get("Content-Type"); {
		case ct == "application/x-ndjson":
			for line := range strings.Lines(string(r.body)) {
				out = append(out, strings.TrimSuffix(line, "\n"))
			}
		case bytes.HasPrefix(r.body, []byte("[")):
			var arr []json.RawMessage
			if err := json.Unmarshal(r.body, &arr); err != nil {
				t.Fatalf("array body: %v", err)
			}
			for _, a := range arr {
				out = append(out, string(a))
			}
		default:
			out = append(out, string(r.body))
		}
	}
	return out
}

func newServer(t *testing.T, rc *receiver) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return srv
}

// fakeTime replaces the sink's clock and sleeps: sleeping advances the
// clock at once and is recorded.
type fakeTime struct {
	now    time.Time
	sleeps []time.Duration
}

func (f *fakeTime) Now() time.Time { return f.now }

func (f *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	return ctx.Err()
}

func newSink(t *testing.T, c Config, opts ...Option) (*Sink, *fakeTime) {
	t.Helper()
	s, err := New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTime{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now, s.sleep = ft.Now, ft.Sleep
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, ft
}

func TestBodyIsFalcoObject(t *testing.T) {
	rc := &receiver{}
	srv := newServer(t, rc)
	s, _ := newSink(t, Config{URL: srv.URL + "/"})
	if err := s.Send(t.Context(), alerts(0, 3)); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want one per alert", len(reqs))
	}
	for i, r := range reqs {
		if want := encoded(i, i+1)[0]; string(r.body) != want {
			t.Errorf("body %d:\n got %s\nwant %s", i, r.body, want)
		}
		if !json.Valid(r.body) {
			t.Errorf("body %d is not JSON", i)
		}
		for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "vigil", "Content-Encoding": ""} {
			if got := r.header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	}
}

func TestBatchBodies(t *testing.T) {
	cases := []struct {
		name     string
		batch    BatchConfig
		gzip     bool
		n        int
		bodies   []string
		ctype    string
		encoding string
	}{
		{"array by default", BatchConfig{Size: 3}, false, 3,
			[]string{"[" + strings.Join(encoded(0, 3), ",") + "]"}, "application/json", ""},
		{"chunks of size", BatchConfig{Size: 2}, false, 5,
			[]string{"[" + strings.Join(encoded(0, 2), ",") + "]", "[" + strings.Join(encoded(2, 4), ",") + "]", "[" + encoded(4, 5)[0] + "]"},
			"application/json", ""},
		{"ndjson", BatchConfig{Size: 3, Format: FormatNDJSON}, false, 3,
			[]string{strings.Join(encoded(0, 3), "\n") + "\n"}, "application/x-ndjson", ""},
		{"explicit array of one", BatchConfig{Format: FormatArray}, false, 1,
			[]string{"[" + encoded(0, 1)[0] + "]"}, "application/json", ""},
		{"gzip object", BatchConfig{}, true, 1, encoded(0, 1), "application/json", "gzip"},
		{"gzip ndjson", BatchConfig{Size: 10, Format: FormatNDJSON}, true, 4,
			[]string{strings.Join(encoded(0, 4), "\n") + "\n"}, "application/x-ndjson", "gzip"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := &receiver{}
			srv := newServer(t, rc)
			s, _ := newSink(t, Config{URL: srv.URL, Batch: c.batch, Gzip: c.gzip})
			if err := s.Send(t.Context(), alerts(0, c.n)); err != nil {
				t.Fatal(err)
			}
			reqs := rc.requests()
			if len(reqs) != len(c.bodies) {
				t.Fatalf("%d requests, want %d", len(reqs), len(c.bodies))
			}
			for i, r := range reqs {
				if string(r.body) != c.bodies[i] {
					t.Errorf("body %d:\n got %s\nwant %s", i, r.body, c.bodies[i])
				}
				if got := r.header.Get("Content-Type"); got != c.ctype {
					t.Errorf("Content-Type %q, want %q", got, c.ctype)
				}
				if got := r.header.Get("Content-Encoding"); got != c.encoding {
					t.Errorf("Content-Encoding %q, want %q", got, c.encoding)
				}
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	t.Setenv("VIGIL_TEST_TOKEN", "s3cret")
	secret := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secret, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_TEST_DIR", filepath.Dir(secret))
	rc := &receiver{}
	srv := newServer(t, rc)
	s, _ := newSink(t, Config{URL: srv.URL, Headers: map[string]string{
		"Authorization": "Bearer ${VIGIL_TEST_TOKEN}",
		"X-Api-Key":     "@file:" + secret,
		"X-Env-File":    "@file:${VIGIL_TEST_DIR}/key",
		"X-Literal":     "a$b ${VIGIL_TEST_TOKEN}-$VIGIL_TEST_TOKEN",
		"Host":          "alerts.example",
	}})
	if err := s.Send(t.Context(), alerts(0, 1)); err != nil {
		t.Fatal(err)
	}
	r := rc.requests()[0]
	for k, want := range map[string]string{
		"Authorization": "Bearer s3cret", "X-Api-Key": "from-file", "X-Env-File": "from-file",
		"X-Literal": "a$b s3cret-$VIGIL_TEST_TOKEN", "User-Agent": "vigil",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if r.host != "alerts.example" {
		t.Errorf("Host = %q", r.host)
	}

	lookup := WithLookupEnv(func(k string) (string, bool) { return "injected-" + k, true })
	s2, _ := newSink(t, Config{URL: srv.URL, Headers: map[string]string{"X-T": "${A}"}}, lookup)
	if err := s2.Send(t.Context(), alerts(0, 1)); err != nil {
		t.Fatal(err)
	}
	if got := rc.requests()[1].header.Get("X-T"); got != "injected-A" {
		t.Errorf("X-T = %q with WithLookupEnv", got)
	}

	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for value, want := range map[string]string{
		"${VIGIL_TEST_UNSET}":            "headers.X-Bad: environment variable VIGIL_TEST_UNSET is not set",
		"@file:/nonexistent/vigil-token": "headers.X-Bad: open /nonexistent/vigil-token",
		"@file:" + empty:                 "is empty",
		"${VIGIL_TEST_TOKEN":             "without a closing }",
	} {
		_, err := New(Config{URL: srv.URL, Headers: map[string]string{"X-Bad": value}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("header %q: error %v, want %q", value, err, want)
		}
	}
}

func TestRetries(t *testing.T) {
	status := func(codes ...int) func(int, http.ResponseWriter) {
		return func(n int, w http.ResponseWriter) {
			if n < len(codes) {
				if codes[n] == http.StatusTooManyRequests {
					w.Header().Set("Retry-After", "2")
				}
				w.WriteHeader(codes[n])
				fmt.Fprint(w, "busy\n")
				return
			}
			w.WriteHeader(http.StatusOK)
		}
	}
	cases := []struct {
		name     string
		respond  func(int, http.ResponseWriter)
		retries  *int
		attempts int
		err      string // "" for success
		sleeps   []time.Duration
	}{
		{"500 then success", status(500, 502), nil, 3, "", nil},
		{"429 honours Retry-After", status(429, 200), nil, 2, "", []time.Duration{2 * time.Second}},
		{"Retry-After is capped", func(n int, w http.ResponseWriter) {
			if n == 0 {
				w.Header().Set("Retry-After", "86400")
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}, nil, 2, "", []time.Duration{MaxRetryAfter}},
		{"400 is not retried", status(400), nil, 1, `1 alerts dropped (1 refused): status 400 Bad Request: "busy"`, nil},
		{"404 is not retried", status(404), nil, 1, "status 404", nil},
		{"retries run out", status(500, 500, 500, 500, 500, 500, 500), nil, 6, "1 alerts dropped (1 unavailable): status 500", nil},
		{"retries: 0", status(500), new(0), 1, "status 500", nil},
		{"redirect is not followed", func(n int, w http.ResponseWriter) {
			w.Header().Set("Location", "https://elsewhere.example/")
			w.WriteHeader(http.StatusFound)
		}, nil, 1, "redirect to https://elsewhere.example/ not followed", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := &receiver{respond: c.respond}
			srv := newServer(t, rc)
			s, ft := newSink(t, Config{URL: srv.URL, Retries: c.retries})
			err := s.Send(t.Context(), alerts(0, 1))
			if n := len(rc.requests()); n != c.attempts {
				t.Errorf("%d attempts, want %d", n, c.attempts)
			}
			if got := s.Counters().Retried; got != uint64(c.attempts-1) {
				t.Errorf("Retried = %d, want %d", got, c.attempts-1)
			}
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("Send: %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("Send: %v, want an error with %q", err, c.err)
			case c.err != "":
				var de *DropError
				var se *StatusError
				if !errors.As(err, &de) || de.Total() != 1 || !errors.As(err, &se) {
					t.Fatalf("error %#v: want a DropError of 1 wrapping a StatusError", err)
				}
			}
			if c.sleeps != nil && !slices.Equal(ft.sleeps, c.sleeps) {
				t.Errorf("slept %v, want %v", ft.sleeps, c.sleeps)
			}
			// Backoff doubles from 200ms, with full jitter.
			for i, d := range ft.sleeps {
				if c.sleeps == nil && (d < 0 || d > DefaultBackoff<<i) {
					t.Errorf("backoff %d = %v, want at most %v", i, d, DefaultBackoff<<i)
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"-3", 0, true},
		{"99999999999999999", MaxRetryAfter, true},
		{now.Add(12 * time.Second).Format(http.TimeFormat), 12 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(time.Hour).Format(http.TimeFormat), MaxRetryAfter, true},
		{"soon", 0, false},
	}
	for _, c := range cases {
		got, ok := retryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select { // a hung endpoint
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first
	s, _ := newSink(t, Config{URL: srv.URL, Timeout: 20 * time.Millisecond, Retries: new(1)})
	err := s.Send(t.Context(), alerts(0, 1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send to a hung endpoint: %v, want a deadline error", err)
	}
	if s.Counters().Retried != 1 {
		t.Fatalf("Retried = %d, want 1: a timeout is retried", s.Counters().Retried)
	}
}

// downAddr returns a local address nothing listens on.
func downAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serveAt brings the endpoint up at addr.
func serveAt(t *testing.T, addr string, h http.Handler) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

func TestSpoolWhileDown(t *testing.T) {
	for _, batch := range []BatchConfig{{}, {Size: 3, Format: FormatNDJSON}} {
		t.Run(fmt.Sprintf("size %d", batch.Size), func(t *testing.T) {
			addr := downAddr(t)
			s, ft := newSink(t, Config{URL: "http://" + addr + "/", Retries: new(2), Batch: batch,
				Spool: SpoolConfig{Dir: t.TempDir()}})
			ctx := t.Context()

			if err := s.Send(ctx, alerts(0, 1)); err != nil {
				t.Fatalf("Send while down, with a spool: %v", err)
			}
			if c := s.Counters(); c.Retried != 2 || c.Spooled != 1 {
				t.Fatalf("counters %+v, want 2 retries and 1 spooled", c)
			}
			// While the endpoint is presumed down, alerts go straight to
			// the spool: no attempt, no retry.
			if err := s.Send(ctx, alerts(1, 3)); err != nil {
				t.Fatal(err)
			}
			if c := s.Counters(); c.Retried != 2 || c.Spooled != 3 {
				t.Fatalf("counters %+v, want 2 retries and 3 spooled", c)
			}
			// Once the backoff passed, one attempt; still down.
			ft.now = ft.now.Add(MaxBackoff + time.Second)
			if err := s.Send(ctx, alerts(3, 4)); err != nil {
				t.Fatal(err)
			}
			if c := s.Counters(); c.Retried != 2 || c.Spooled != 4 {
				t.Fatalf("counters %+v, want 2 retries and 4 spooled", c)
			}

			rc := &receiver{}
			serveAt(t, addr, rc)
			if err := s.Send(ctx, alerts(4, 5)); err != nil { // within the backoff: spooled
				t.Fatal(err)
			}
			if n := len(rc.requests()); n != 0 {
				t.Fatalf("%d requests during the backoff", n)
			}
			ft.now = ft.now.Add(MaxBackoff + time.Second)
			if err := s.Send(ctx, alerts(5, 7)); err != nil {
				t.Fatal(err)
			}
			if got, want := rc.alertsIn(t), encoded(0, 7); !slices.Equal(got, want) {
				t.Fatalf("received %d alerts, want %d in order, once each:\n%s", len(got), len(want), strings.Join(got, "\n"))
			}
			if c := s.Counters(); c.Spooled != 0 {
				t.Fatalf("counters %+v after the drain", c)
			}
		})
	}
}

func TestSpoolSurvivesRestart(t *testing.T) {
	addr := downAddr(t)
	cfg := Config{URL: "http://" + addr, Retries: new(0), Spool: SpoolConfig{Dir: t.TempDir()}}
	s, _ := newSink(t, cfg)
	if err := s.Send(t.Context(), alerts(0, 3)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), alerts(0, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}

	rc := &receiver{}
	serveAt(t, addr, rc)
	s, _ = newSink(t, cfg)
	if got := s.Counters().Spooled; got != 3 {
		t.Fatalf("Spooled = %d after restart, want 3", got)
	}
	if err := s.Send(t.Context(), nil); err != nil { // an empty Send drains
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), alerts(3, 4)); err != nil {
		t.Fatal(err)
	}
	if got, want := rc.alertsIn(t), encoded(0, 4); !slices.Equal(got, want) {
		t.Fatalf("received %q, want %q", got, want)
	}
}

// Close delivers what is spooled when the endpoint is back.
func TestCloseDrains(t *testing.T) {
	addr := downAddr(t)
	cfg := Config{URL: "http://" + addr, Retries: new(0), Spool: SpoolConfig{Dir: t.TempDir()}}
	s, ft := newSink(t, cfg)
	if err := s.Send(t.Context(), alerts(0, 2)); err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	serveAt(t, addr, rc)
	ft.now = ft.now.Add(MaxBackoff + time.Second)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := rc.alertsIn(t); !slices.Equal(got, encoded(0, 2)) {
		t.Fatalf("received %d alerts at Close, want 2", len(got))
	}
	s, _ = newSink(t, cfg)
	if n := s.Counters().Spooled; n != 0 {
		t.Fatalf("Spooled = %d after a Close that drained", n)
	}
}

// A spooled alert the endpoint refuses once it is back is dropped and
// counted as refused in the sink's Counters (not in the Send that took
// it, nor in a later Send's error), and the ones behind it still go.
func TestSpoolDrainRejected(t *testing.T) {
	addr := downAddr(t)
	s, ft := newSink(t, Config{URL: "http://" + addr, Retries: new(0), Spool: SpoolConfig{Dir: t.TempDir()}})
	if err := s.Send(t.Context(), alerts(0, 3)); err != nil {
		t.Fatal(err)
	}
	rc := &receiver{respond: func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
	}}
	serveAt(t, addr, rc)
	ft.now = ft.now.Add(MaxBackoff + time.Second)
	if err := s.Send(t.Context(), alerts(3, 4)); err != nil {
		t.Fatalf("Send: %v; the refused alert was taken by an earlier Send", err)
	}
	if got := rc.alertsIn(t); !slices.Equal(got, encoded(0, 4)) {
		t.Fatalf("received %d alerts, want 4 attempts in order", len(got))
	}
	c := s.Counters()
	want := sinks.Counters{SpoolIn: 3, Replayed: 2, Drops: map[sinks.Reason]uint64{sinks.ReasonRefused: 1}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Counters %+v, want %+v", c, want)
	}
}

func TestSpoolFull(t *testing.T) {
	one := int64(len(event.AppendAlertJSON(nil, alert(0)))) + 9 + 4 // room for one framed alert
	s, _ := newSink(t, Config{URL: "http://" + downAddr(t), Retries: new(0),
		Spool: SpoolConfig{Dir: t.TempDir(), MaxBytes: one}})
	err := s.Send(t.Context(), alerts(0, 3))
	var de *DropError
	if !errors.As(err, &de) || de.Total() != 2 || de.Counts[sinks.ReasonSpoolFull] != 2 || !errors.Is(err, spool.ErrFull) {
		t.Fatalf("Send: %v, want 2 dropped because the spool is full", err)
	}
	if !strings.Contains(err.Error(), "2 alerts dropped") {
		t.Fatalf("message %q does not say how many", err)
	}
	if s.Counters().Spooled != 1 {
		t.Fatalf("Spooled = %d, want 1", s.Counters().Spooled)
	}
}

func TestNoSpoolEndpointDown(t *testing.T) {
	s, ft := newSink(t, Config{URL: "http://" + downAddr(t), Batch: BatchConfig{Size: 2}})
	err := s.Send(t.Context(), alerts(0, 5))
	var de *DropError
	if !errors.As(err, &de) || de.Total() != 5 {
		t.Fatalf("Send: %v, want all 5 dropped", err)
	}
	if len(ft.sleeps) != DefaultRetries {
		t.Fatalf("%d backoffs: the chunks after the first should not go through retries again", len(ft.sleeps))
	}
}

func TestValidate(t *testing.T) {
	ok := Config{URL: "https://falcosidekick:2801/"}
	cases := []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"minimal", func(*Config) {}, ""},
		{"everything", func(c *Config) {
			c.Headers = map[string]string{"Authorization": "Bearer ${T}"}
			c.Timeout, c.Backoff, c.Retries = time.Second, time.Second, new(0)
			c.TLS = TLSConfig{CA: "ca.pem", Cert: "c.pem", Key: "k.pem", ServerName: "x"}
			c.Batch = BatchConfig{Size: 100, Format: "ndjson"}
			c.Gzip, c.Spool = true, SpoolConfig{Dir: "/var/lib/vigil/spool", MaxBytes: 1 << 20}
		}, ""},
		{"no url", func(c *Config) { c.URL = "" }, "url: required"},
		{"bad url", func(c *Config) { c.URL = "http://a b:pass@x/%zz" }, "url: "},
		{"scheme", func(c *Config) { c.URL = "ftp://x/" }, `url: scheme "ftp"`},
		{"no host", func(c *Config) { c.URL = "http:///path" }, "url: no host"},
		{"tls on http", func(c *Config) { c.URL = "http://x/"; c.TLS.InsecureSkipVerify = true }, "tls: set, but url is http"},
		{"header name", func(c *Config) { c.Headers = map[string]string{"Bad Name": "v"} }, `headers: "Bad Name" is not a valid header name`},
		{"header newline", func(c *Config) { c.Headers = map[string]string{"X": "a\r\nInjected: 1"} }, "headers.X: the value has a line break"},
		{"reserved header", func(c *Config) { c.Headers = map[string]string{"content-length": "1"} }, "headers.content-length: set by the sink"},
		{"duplicate header", func(c *Config) { c.Headers = map[string]string{"X-A": "1", "x-a": "2"} }, "are the same header"},
		{"empty @file", func(c *Config) { c.Headers = map[string]string{"X": "@file:"} }, "headers.X: @file: without a path"},
		{"timeout", func(c *Config) { c.Timeout = -1 }, "timeout: must not be negative"},
		{"retries", func(c *Config) { c.Retries = new(-1) }, "retries: must not be negative"},
		{"backoff", func(c *Config) { c.Backoff = time.Minute }, "backoff: 1m0s"},
		{"cert without key", func(c *Config) { c.TLS.Cert = "c.pem" }, "tls.cert and tls.key: set both or neither"},
		{"batch size", func(c *Config) { c.Batch.Size = -2 }, "batch.size: must not be negative"},
		{"batch format", func(c *Config) { c.Batch.Format = "csv" }, `batch.format: "csv": want array or ndjson`},
		{"spool bytes", func(c *Config) { c.Spool = SpoolConfig{Dir: "d", MaxBytes: -1} }, "spool.max_bytes: must not be negative"},
		{"spool bytes without dir", func(c *Config) { c.Spool.MaxBytes = 10 }, "spool.max_bytes: set without spool.dir"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.edit(&cfg)
			err := cfg.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("Validate: %v, want %q", err, c.want)
			}
			if c.want != "" && strings.Contains(err.Error(), "pass") {
				t.Fatalf("error %q repeats the URL's password", err)
			}
			if c.want != "" {
				if _, nerr := New(cfg); nerr == nil {
					t.Fatal("New accepted an invalid config")
				}
			}
		})
	}
}

func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	for _, c := range []struct {
		name string
		cfg  Config
		n    int
	}{
		{"object", Config{URL: srv.URL}, 1},
		{"object_gzip", Config{URL: srv.URL, Gzip: true}, 1},
		{"array64", Config{URL: srv.URL, Batch: BatchConfig{Size: 64}}, 64},
		{"ndjson64_gzip", Config{URL: srv.URL, Gzip: true, Batch: BatchConfig{Size: 64, Format: FormatNDJSON}}, 64},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := New(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(context.Background())
			batch := alerts(0, c.n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Send(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.n), "ns/alert")
		})
	}
}
