package sinks_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// halves takes the first half of every batch and drops the rest as
// refused; every third Send fails with a plain error instead.
type halves struct {
	sends, took int
}

func (h *halves) Send(_ context.Context, b []*event.Alert) error {
	h.sends++
	if h.sends%3 == 0 {
		return errors.New("broken")
	}
	keep := len(b) / 2
	h.took += keep
	d := &sinks.DropError{}
	d.Add(sinks.ReasonRefused, len(b)-keep, errors.New("status 400"))
	return d.OrNil()
}
func (h *halves) Close(context.Context) error { return nil }

// A batch partly sent counts each alert once: the sent as sent, the rest
// by reason; a plain error drops the batch as "error"; a dropped loss
// alert is also counted apart; the drop warnings are summarised.
func TestAccountingPartialBatches(t *testing.T) {
	var logs bytes.Buffer
	h := &halves{}
	fan := sinks.NewFanout(slog.New(slog.NewTextHandler(&logs, nil)), sinks.Output{Name: "x#1", Sink: h, Filter: sinks.Filter{MinLevel: 7}, QueueSize: 2000})
	fan.CountApart("vigil: events lost")
	const n = 1000
	for i := range n {
		a := &event.Alert{Rule: "r", Level: 3}
		if i%100 == 0 {
			a.Rule = "vigil: events lost"
		}
		fan.Publish(a)
	}
	if err := fan.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := fan.Stats()[0]
	if st.Handed != n || st.Sent != uint64(h.took) || st.Sent+st.Lost() != n || st.Drops[sinks.ReasonRefused] == 0 {
		t.Fatalf("stats %+v, sink took %d", st, h.took)
	}
	if h.sends >= 3 && st.Drops[sinks.ReasonError] == 0 {
		t.Fatalf("a plain error was not counted: %+v", st)
	}
	if st.Failed != st.Lost() || st.Apart == 0 {
		t.Fatalf("Failed %d, Lost %d, Apart %d", st.Failed, st.Lost(), st.Apart)
	}
	if c := strings.Count(logs.String(), "level=WARN"); c > 4 {
		t.Errorf("%d warnings, want at most 2 per reason:\n%s", c, logs.String())
	}
	if !strings.Contains(logs.String(), `msg="alerts dropped" component=sink sink=x#1 reason=refused alerts=`) {
		t.Errorf("no summary:\n%s", logs.String())
	}
}

// A sink that is not in the filter is not handed the alert; PublishTo
// leaves out the sinks it is told to.
func TestPublishTo(t *testing.T) {
	a, b := newRecorder(), newRecorder()
	fan := sinks.NewFanout(slog.New(slog.DiscardHandler),
		sinks.Output{Name: "a", Sink: a, Filter: sinks.Filter{MinLevel: 7}},
		sinks.Output{Name: "b", Sink: b, Filter: sinks.Filter{MinLevel: 7}})
	fan.PublishTo(&event.Alert{Rule: "r"}, func(s string) bool { return s != "b" })
	if err := fan.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := fan.Stats()
	if st[0].Handed != 1 || st[0].Sent != 1 || st[1].Handed != 0 || len(b.got) != 0 {
		t.Fatalf("stats %+v", st)
	}
}
