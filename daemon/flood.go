package daemon

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/vigil-project/vigil/bpf"
	"github.com/vigil-project/vigil/engine/event"
)

// FloodRule is the rule name of the alert that names a process the
// kernel's per-process rate limit started holding back.
const FloodRule = "vigil: event flood"

// floodFields are the alert's output_fields.
var floodFields = []string{"evt.type", "proc.pid", "proc.name", "proc.exe", "proc.cmdline", "user.uid", "user.name"}

// floods turns the kernel's flood records into alerts: one when a process
// starts going over its rate (the kernel sends one record per flood,
// however long it lasts), a log line when it stops.
type floods struct {
	log     *slog.Logger
	publish func(*event.Alert)
	host    string
	rate    int // records a second per process and ring (bpf.Options.RateLimit, resolved)
}

func newFloods(log *slog.Logger, publish func(*event.Alert), rate int) *floods {
	host, _ := os.Hostname()
	if rate == 0 {
		rate = bpf.DefaultRateLimit
	}
	return &floods{log: log, publish: publish, host: host, rate: rate}
}

// record is the reader's Flood callback (the reader's goroutine).
func (f *floods) record(fl bpf.Flood) {
	p := fl.Proc
	if !fl.Start {
		f.log.Info("event flood over", "pid", p.PID, "name", p.Name, "uid", fl.User.UID, "type", fl.Type.String(), "limited", fl.Limited)
		return
	}
	f.log.Warn("event flood: a process is over its rate limit", "pid", p.PID, "name", p.Name, "uid", fl.User.UID, "type", fl.Type.String())
	f.publish(f.alert(fl))
}

// alert is the flood alert of fl.
func (f *floods) alert(fl bpf.Flood) *event.Alert {
	p := fl.Proc
	ring := "priority"
	if fl.Bulk {
		ring = "bulk"
	}
	return &event.Alert{
		Time: fl.Time, Rule: FloodRule, Priority: event.PriorityWarning.String(), Level: event.PriorityWarning.Level(), Source: "internal",
		Output: fmt.Sprintf("Event flood: process %q (pid %d, exe %q, uid %d) sent more than %d %s events a second; "+
			"its %s-ring events beyond that are counted (vigil_kernel_rate_limited_total), not judged, until it slows down (%d so far)",
			p.Name, p.PID, p.Exe, fl.User.UID, f.rate, fl.Type, ring, fl.Limited),
		Fields: floodFields, Tags: []string{"vigil", "coverage", "flood"}, Hostname: f.host, Action: "alert", Degraded: true,
		Event: &event.Event{Type: fl.Type, Time: fl.Time, TID: fl.TID, UID: fl.User.UID, User: fl.User, Proc: p},
	}
}
