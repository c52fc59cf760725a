package sinks_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
	natssink "github.com/vigil-project/vigil/sinks/nats"
	"github.com/vigil-project/vigil/sinks/stream"
)

func benchAlert() *event.Alert {
	e, _ := event.FromFields(map[string]any{"evt.type": "open", "evt.time": "2026-11-22T05:00:00Z", "proc.name": "nginx", "proc.exe": "/usr/sbin/nginx",
		"proc.args": []any{"-g", "daemon off;"}, "file.path": "/etc/shadow", "user.name": "www-data", "proc.pid": 4242})
	return &event.Alert{Time: e.Time, Rule: "Read sensitive file by untrusted program", Priority: "Warning", Level: 4, Source: "syscall",
		Output: "Sensitive file opened for reading (file=/etc/shadow process=nginx)", Fields: []string{"file.path", "proc.name", "user.name"},
		Tags: []string{"filesystem", "mitre_credential_access"}, Hostname: "node-1", Action: "alert", Event: e}
}

// BenchmarkEncodeAlertJSON is the per-alert encoding cost every JSON sink pays.
func BenchmarkEncodeAlertJSON(b *testing.B) {
	a := benchAlert()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = event.AppendAlertJSON(buf[:0], a)
	}
}

// BenchmarkFanoutStdoutJSON: alerts through the fan-out into the stdout
// sink writing JSON to /dev/null; reports alerts/s and fails on a drop.
func BenchmarkFanoutStdoutJSON(b *testing.B) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	s, err := stream.NewWriter(null, sinks.FormatJSON)
	if err != nil {
		b.Fatal(err)
	}
	f := sinks.NewFanout(quiet, sinks.Output{Name: "stdout", Sink: s, Filter: sinks.Filter{MinLevel: 7}, QueueSize: 1 << 16})
	a := benchAlert()
	start := time.Now()
	n := 0
	for b.Loop() {
		for f.Stats()[0].QueueDepth > 1<<15 {
			time.Sleep(10 * time.Microsecond) // keep the producer below the queue size: we measure throughput, not drops
		}
		f.Publish(a)
		n++
	}
	f.Close(context.Background())
	st := f.Stats()[0]
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "alerts/s")
	if st.Dropped != 0 || st.Sent != uint64(n) {
		b.Fatalf("sent %d of %d, dropped %d", st.Sent, n, st.Dropped)
	}
}

// BenchmarkFanoutStdoutAndNATS: every alert to the stdout sink (JSON to
// /dev/null) and to a NATS sink publishing to a real in-process server;
// reports alerts/s and fails on any drop or failure.
func BenchmarkFanoutStdoutAndNATS(b *testing.B) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		b.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		b.Fatal("nats-server did not start")
	}
	defer srv.Shutdown()
	null, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	defer null.Close()
	out, err := stream.NewWriter(null, sinks.FormatJSON)
	if err != nil {
		b.Fatal(err)
	}
	ns, err := natssink.New(natssink.Config{URL: srv.ClientURL()})
	if err != nil {
		b.Fatal(err)
	}
	const q = 1 << 16
	f := sinks.NewFanout(quiet,
		sinks.Output{Name: "stdout", Sink: out, Filter: sinks.Filter{MinLevel: 7}, QueueSize: q},
		sinks.Output{Name: "nats", Sink: ns, Filter: sinks.Filter{MinLevel: 7}, QueueSize: q})
	a := benchAlert()
	start := time.Now()
	n := 0
	for b.Loop() {
		for st := f.Stats(); st[0].QueueDepth > q/2 || st[1].QueueDepth > q/2; st = f.Stats() {
			time.Sleep(10 * time.Microsecond) // throughput, not drops: keep below the queues
		}
		f.Publish(a)
		n++
	}
	if err := f.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "alerts/s")
	for _, st := range f.Stats() {
		if st.Dropped+st.Failed+st.Unsent != 0 || st.Sent != uint64(n) {
			b.Fatalf("%s: sent %d of %d, dropped %d, failed %d", st.Name, st.Sent, n, st.Dropped, st.Failed)
		}
	}
}
