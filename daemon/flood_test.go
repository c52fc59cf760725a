package daemon

import (
	"testing"
	"time"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/sinks"
)

// A flood record that starts a flood raises one alert naming the process;
// its end only logs.
func TestFloodAlert(t *testing.T) {
	var got []*event.Alert
	f := newFloods(quiet, func(a *event.Alert) { got = append(got, a) }, 0)
	f.host = "node-1"
	when := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	p := &event.Process{PID: 4242, Name: "flood\u202e", Exe: "/tmp/flood", Cmdline: "flood -n", UID: 65534}
	fl := bpf.Flood{Start: true, Time: when, Proc: p, TID: 4243, User: event.User{UID: 65534, Name: "nobody"}, Type: event.TypeOpen, Bulk: true, Limited: 1}
	f.record(fl)
	fl.Start, fl.Limited = false, 90000
	f.record(fl)
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1", len(got))
	}
	a := got[0]
	want := `Event flood: process "flood\u202e" (pid 4242, exe "/tmp/flood", uid 65534) sent more than 20000 open events a second; ` +
		`its bulk-ring events beyond that are counted (vigil_kernel_rate_limited_total), not judged, until it slows down (1 so far)`
	if a.Output != want {
		t.Errorf("output\n%s\nwant\n%s", a.Output, want)
	}
	if a.Rule != FloodRule || a.Priority != "Warning" || a.Level != 4 || a.Source != "internal" || a.Hostname != "node-1" ||
		!a.Time.Equal(when) || !a.Degraded || a.Event.Proc != p || a.Event.Type != event.TypeOpen || a.Event.User.Name != "nobody" {
		t.Errorf("alert %+v", a)
	}
}

// The loss alert tells events the rate limit held back from those a full
// ring lost.
func TestLossWatchRateLimited(t *testing.T) {
	k := &fakeKernel{drops: 2}
	l := newLossWatch(k)
	var limited uint64 = 500
	l.limited = func() (map[event.Type]uint64, error) { return map[event.Type]uint64{event.TypeOpen: limited}, nil }
	var last lossCount
	a := l.check(&last, []sinks.Stats{{Dropped: 0}}, quiet)
	want := "vigil lost events in the last 1s: 2 in the kernel (ring buffer full), 500 rate limited in the kernel (event flood), 0 alerts in sinks; rules may have missed matches"
	if a == nil || a.Output != want {
		t.Fatalf("alert %+v, want output %q", a, want)
	}
	limited += 7
	if a := l.check(&last, nil, quiet); a == nil || a.Output != "vigil lost events in the last 1s: 0 in the kernel (ring buffer full), 7 rate limited in the kernel (event flood), 0 alerts in sinks; rules may have missed matches" {
		t.Errorf("second look: %+v", a)
	}
}
