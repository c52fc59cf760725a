package webhook

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// The adversarial case of issue 13: 300 alerts into a small spool with
// the endpoint down, then a restart with the endpoint back. Every alert
// handed over is sent (replayed) or dropped as spool_full, exactly; the
// receiver gets what Sent says; nothing is counted failed and delivered.
// The outage and the replay are logged once each, drops once per reason.
func TestAccountingSpoolFullOutage(t *testing.T) {
	const n = 300
	one := int64(len(event.AppendAlertJSON(nil, alert(0)))) + 9 + 4
	addr := downAddr(t)
	cfg := Config{URL: "http://" + addr, Retries: new(0), Spool: SpoolConfig{Dir: t.TempDir(), MaxBytes: 79 * one}}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	s, _ := newSink(t, cfg, WithLogger(log))
	fan := sinks.NewFanout(log, sinks.Output{Name: "webhook#1", Sink: s, Filter: sinks.Filter{MinLevel: 7}, QueueSize: n})
	for i := range n {
		fan.Publish(alert(i))
	}
	if err := fan.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := fan.Stats()[0]
	spooled := st.SpoolIn
	if st.Handed != n || st.Sent != 0 || st.Spooled != spooled || spooled == 0 || st.Drops[sinks.ReasonSpoolFull] != n-spooled ||
		st.Lost() != n-spooled || st.Failed != n-spooled || st.Dropped != 0 {
		t.Fatalf("first run: %+v", st)
	}
	if c := strings.Count(logs.String(), "webhook unreachable since"); c != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", c, logs.String())
	}
	if c := strings.Count(logs.String(), "level=WARN"); c > 3 {
		t.Errorf("%d warnings for one outage, want the outage, the first drop and one summary at Close:\n%s", c, logs.String())
	}
	if !strings.Contains(logs.String(), `msg="alerts dropped" component=sink sink=webhook#1 reason=spool_full alerts=`) {
		t.Errorf("no drop summary:\n%s", logs.String())
	}

	// Restart with the endpoint up: the spool is replayed at Close.
	rc := &receiver{}
	serveAt(t, addr, rc)
	logs.Reset()
	s2, _ := newSink(t, cfg, WithLogger(log))
	fan2 := sinks.NewFanout(log, sinks.Output{Name: "webhook#1", Sink: s2, Filter: sinks.Filter{MinLevel: 7}})
	if err := fan2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st2 := fan2.Stats()[0]
	if st2.Recovered != spooled || st2.Replayed != spooled || st2.Sent != spooled || st2.Lost() != 0 || st2.Spooled != 0 {
		t.Fatalf("second run: %+v", st2)
	}
	if got := uint64(len(rc.alertsIn(t))); got != st.Sent+st2.Sent {
		t.Fatalf("receiver got %d alerts, Sent says %d", got, st.Sent+st2.Sent)
	}
	if got, want := st.Handed+st2.Handed, st.Sent+st2.Sent+st.Lost()+st2.Lost(); got != want {
		t.Fatalf("handed %d != sent + lost %d", got, want)
	}
	for _, msg := range []string{"alerts spooled by an earlier run will be replayed first", `msg="spool replayed" alerts=` + strconv.FormatUint(spooled, 10)} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("log lacks %q:\n%s", msg, logs.String())
		}
	}
}

// Refused (4xx) and unavailable (no spool) drops are counted by reason,
// and the receiver's count equals Sent.
func TestAccountingRefusedAndUnavailable(t *testing.T) {
	rc := &receiver{respond: func(n int, w http.ResponseWriter) {
		switch {
		case n%3 == 1:
			w.WriteHeader(http.StatusBadRequest)
		case n%3 == 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}}
	srv := newServer(t, rc)
	s, _ := newSink(t, Config{URL: srv.URL, Retries: new(0)})
	fan := sinks.NewFanout(slog.New(slog.DiscardHandler), sinks.Output{Name: "webhook#1", Sink: s, Filter: sinks.Filter{MinLevel: 7}, QueueSize: 30})
	for i := range 30 {
		fan.Publish(alert(i))
	}
	if err := fan.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := fan.Stats()[0]
	ok := uint64(len(rc.requests())+2) / 3 // one request per alert; 0, 3, 6, ... were accepted
	if st.Handed != 30 || st.Sent != ok || st.Drops[sinks.ReasonRefused]+st.Drops[sinks.ReasonUnavailable] != 30-ok || st.Lost() != 30-ok {
		t.Fatalf("stats %+v (accepted %d)", st, ok)
	}
	if st.Drops[sinks.ReasonRefused] == 0 || st.Drops[sinks.ReasonUnavailable] == 0 {
		t.Fatalf("drops %v: want both reasons", st.Drops)
	}
}
