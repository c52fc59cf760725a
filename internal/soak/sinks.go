package soak

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Inbox counts what one sink delivered: marker alerts by key, other
// alerts by rule, and bodies that were not alerts.
type Inbox struct {
	mu        sync.Mutex
	Markers   Receipts
	Other     map[string]int
	Malformed int
	Total     int
	FirstBad  []string
}

// NewInbox returns an empty inbox.
func NewInbox() *Inbox { return &Inbox{Markers: Receipts{}, Other: map[string]int{}} }

// Add reads one delivered alert.
func (in *Inbox) Add(b []byte) {
	rule, k, ok, err := ParseAlert(b)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.Total++
	switch {
	case err != nil:
		in.Malformed++
		if len(in.FirstBad) < 5 {
			in.FirstBad = append(in.FirstBad, err.Error())
		}
	case ok:
		in.Markers[k]++
	default:
		in.Other[rule]++
	}
}

// Count is how many alerts arrived so far.
func (in *Inbox) Count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.Total
}

// OtherTotal is the number of non-marker alerts.
func (in *Inbox) OtherTotal() int {
	n := 0
	for _, c := range in.Other {
		n += c
	}
	return n
}

// ReadFileSink reads a JSON-lines alert file into a new inbox. A line cut
// by a SIGKILL is malformed, and counted.
func ReadFileSink(path string) (*Inbox, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	in := NewInbox()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			in.Add(sc.Bytes())
		}
	}
	return in, sc.Err()
}

// Recorder is the webhook endpoint: it records every alert POSTed to it
// and can be taken down and brought back on the same port.
type Recorder struct {
	Addr  string
	Inbox *Inbox

	mu  sync.Mutex
	srv *http.Server
}

// Up starts serving (a no-op when it already is).
func (r *Recorder) Up() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		return nil
	}
	var ln net.Listener
	var err error
	for range 50 { // the old socket may linger for a moment
		if ln, err = net.Listen("tcp", r.Addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve)}
	go r.srv.Serve(ln)
	return nil
}

// Down closes the listener and every connection: the outage.
func (r *Recorder) Down() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

func (r *Recorder) serve(w http.ResponseWriter, req *http.Request) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Inbox.Add(b)
	w.WriteHeader(http.StatusNoContent)
}

// Bus is an in-process NATS server with JetStream that can be stopped and
// restarted on the same port and store.
type Bus struct {
	Port     int
	StoreDir string

	mu  sync.Mutex
	srv *server.Server
}

// Up starts the server (a no-op when it runs).
func (b *Bus) Up() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return nil
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: b.Port, JetStream: true, StoreDir: b.StoreDir, NoLog: true, NoSigs: true})
	if err != nil {
		return err
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("nats-server on port %d not ready", b.Port)
	}
	b.srv = srv
	return nil
}

// Down shuts the server down: the outage.
func (b *Bus) Down() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
		b.srv = nil
	}
}

// Read reads every message of the stream into a new inbox.
func (b *Bus) Read(ctx context.Context) (*Inbox, error) {
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", b.Port))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	st, err := js.Stream(ctx, Stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", Stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	in := NewInbox()
	want := info.State.Msgs
	if want == 0 {
		return in, nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	for uint64(in.Count()) < want {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return in, err
		}
		n := 0
		for m := range batch.Messages() {
			in.Add(m.Data())
			n++
		}
		if n == 0 {
			return in, fmt.Errorf("stream %s: read %d of %d messages", Stream, in.Count(), want)
		}
	}
	return in, nil
}
