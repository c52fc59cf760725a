package nats

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigil-project/vigil/engine/event"
)

// BenchmarkSend is the cost, per alert, of the NATS sink's Send as the
// fan-out's worker calls it (batches of 256), to a nats-server in this
// process over loopback TCP: rendering the subject and the JSON, and
// publishing; under JetStream also waiting for the acks (one round trip
// per batch). The server routes to one subscriber (core) or stores in a
// file stream (JetStream). The server and the subscriber run in this
// process, so B/op and allocs/op are theirs too: a memory profile of the
// core case puts them all in nats-server and the subscriber's nats.go read
// loop; the sink's own publish path allocates nothing (subjects cached,
// one reused body buffer).
func BenchmarkSend(b *testing.B) {
	const batchSize = 256
	alerts := make([]*event.Alert, batchSize)
	for i := range alerts {
		alerts[i] = testAlert(fmt.Sprintf("Rule %d", i%16), []string{"Critical", "Warning", "Notice"}[i%3], "node-1", i)
	}
	for _, js := range []bool{false, true} {
		b.Run(map[bool]string{false: "core", true: "jetstream"}[js], func(b *testing.B) {
			srv := startServer(b, -1, b.TempDir())
			c := Config{URL: srv.ClientURL(), JetStream: js}
			if js {
				c.Stream = "VIGIL"
			} else {
				// A consumer, so the server does route every alert.
				sub, err := connect(b, srv.ClientURL()).Subscribe(">", func(*nats.Msg) {})
				if err != nil {
					b.Fatal(err)
				}
				sub.SetPendingLimits(-1, -1)
			}
			s := newSink(b, c)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for sent := 0; sent < b.N; sent += batchSize {
				n := min(batchSize, b.N-sent)
				if js {
					// Unique times, so the stream does not drop
					// repeats as duplicates.
					for i := range n {
						alerts[i].Time = testTime.Add(time.Duration(sent + i))
					}
				}
				if err := s.Send(ctx, alerts[:n]); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.nc.Flush(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
			if st := s.Stats(); st.Failed != 0 || st.Published != uint64(b.N) {
				b.Fatalf("stats %+v after %d alerts", st, b.N)
			}
		})
	}
}
