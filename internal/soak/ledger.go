package soak

import (
	"sort"
	"sync"
	"time"
)

// Kind is the kind of a marker action.
type Kind string

// The marker actions: each one, while vigil is up, raises exactly one
// alert of its marker rule.
const (
	Exec    Kind = "exec"
	Open    Kind = "open"
	Connect Kind = "connect"
)

// Kinds lists the marker kinds in report order.
var Kinds = []Kind{Exec, Open, Connect}

// Key names one marker action: its kind and sequence number (unique per
// kind over the whole run, restarts included).
type Key struct {
	Kind Kind
	Seq  uint64
}

// Action is one marker action and when it ran.
type Action struct {
	Key
	Start, End time.Time
	// Failed says the action returned an error (a connect that timed
	// out): the syscall may still have reached the kernel, so its alert
	// may arrive or not.
	Failed bool
}

// Interval is a stretch of time; a zero To is still open.
type Interval struct{ From, To time.Time }

func (iv Interval) overlaps(a, b time.Time) bool {
	return !b.Before(iv.From) && (iv.To.IsZero() || a.Before(iv.To))
}

// Ledger records the driver's marker actions and the windows when vigil
// was down (from just before a SIGKILL until it answered ready again).
type Ledger struct {
	mu      sync.Mutex
	actions []Action
	down    []Interval
	kills   []time.Time
}

// Record notes one action that ran from start to end.
func (l *Ledger) Record(k Key, start, end time.Time) {
	l.record(Action{Key: k, Start: start, End: end})
}

// RecordFailed notes one action that ran from start to end and failed.
func (l *Ledger) RecordFailed(k Key, start, end time.Time) {
	l.record(Action{Key: k, Start: start, End: end, Failed: true})
}

func (l *Ledger) record(a Action) {
	l.mu.Lock()
	l.actions = append(l.actions, a)
	l.mu.Unlock()
}

// Down opens a down window at t; kill says vigil is being SIGKILLed (its
// queued alerts are lost by design), not just not ready yet.
func (l *Ledger) Down(t time.Time, kill bool) {
	l.mu.Lock()
	l.down = append(l.down, Interval{From: t})
	if kill {
		l.kills = append(l.kills, t)
	}
	l.mu.Unlock()
}

// Up closes the open down window at t.
func (l *Ledger) Up(t time.Time) {
	l.mu.Lock()
	if n := len(l.down); n > 0 && l.down[n-1].To.IsZero() {
		l.down[n-1].To = t
	}
	l.mu.Unlock()
}

// DownSeconds is the total length of the down windows (an open one ends
// at end).
func (l *Ledger) DownSeconds(end time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total float64
	for _, iv := range l.down {
		to := iv.To
		if to.IsZero() {
			to = end
		}
		total += to.Sub(iv.From).Seconds()
	}
	return total
}

// Class is how the accounting treats an action.
type Class int

const (
	// Counted actions ran while vigil was up: every sink must have the
	// alert exactly once, or vigil must count the loss.
	Counted Class = iota
	// Down actions overlapped a window when vigil was down: excluded.
	Down
	// InFlight actions ended less than the grace period before a
	// SIGKILL: their alert may have been in a queue that died with the
	// process. Reported, not required.
	InFlight
	// Failed actions returned an error: their alert is neither required
	// nor unknown.
	Failed
)

// Classify puts a in its class; down and kills are sorted by time.
func Classify(a Action, down []Interval, kills []time.Time, grace time.Duration) Class {
	if a.Failed {
		return Failed
	}
	for _, iv := range down {
		if iv.overlaps(a.Start, a.End) {
			return Down
		}
	}
	i := sort.Search(len(kills), func(i int) bool { return !kills[i].Before(a.End) })
	if i < len(kills) && kills[i].Sub(a.End) < grace {
		return InFlight
	}
	return Counted
}

// Receipts counts the marker alerts one sink received, by key.
type Receipts map[Key]int

// SinkReport is one sink's account.
type SinkReport struct {
	Received   int `json:"marker_alerts_received"` // marker alerts of counted actions, duplicates included
	Exact      int `json:"exactly_once"`
	Missing    int `json:"missing"`
	Duplicates int `json:"duplicates"` // extra copies beyond the first
	// InFlightReceived and DownReceived: alerts of excluded actions that
	// arrived anyway.
	InFlightReceived int `json:"in_flight_received"`
	DownReceived     int `json:"down_window_received"`
	FailedReceived   int `json:"failed_action_received"`
	// Unknown are marker alerts of no recorded action.
	Unknown int `json:"unknown"`
	// CountedLoss is what vigil's counters say it lost for this sink
	// (sink loss families) and in the kernel (drops and rate-limited
	// events of the marker kinds' types); a missing alert of a kind is
	// covered by the kernel's losses of that type first, then by the
	// sink's.
	CountedLoss   float64      `json:"counted_loss"`
	MissingByKind map[Kind]int `json:"missing_by_kind,omitempty"`
	Unaccounted   int          `json:"unaccounted"`  // missing beyond what vigil counted
	OtherAlerts   int          `json:"other_alerts"` // alerts of other rules (built-in, internal)
	MissingFirst  []Key        `json:"missing_first,omitempty"`
}

// Tally is what the ledger's accounting says, over all sinks.
type Tally struct {
	Performed map[Kind]int `json:"performed"`
	Counted   map[Kind]int `json:"counted"`
	Down      map[Kind]int `json:"excluded_down"`
	InFlight  map[Kind]int `json:"excluded_in_flight_at_kill"`
	Failed    map[Kind]int `json:"excluded_failed"`
}

// Account checks got (per sink) against the ledger. sinkLoss is, per
// sink, the alerts vigil counted as lost there; kernelLoss, per kind, the
// events of its type the kernel dropped or rate-limited; other is the
// count of non-marker alerts per sink, copied into the report.
func (l *Ledger) Account(grace time.Duration, got map[string]Receipts, sinkLoss map[string]float64, kernelLoss map[Kind]float64, other map[string]int) (Tally, map[string]*SinkReport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := Tally{Performed: map[Kind]int{}, Counted: map[Kind]int{}, Down: map[Kind]int{}, InFlight: map[Kind]int{}, Failed: map[Kind]int{}}
	class := make(map[Key]Class, len(l.actions))
	for _, a := range l.actions {
		c := Classify(a, l.down, l.kills, grace)
		class[a.Key] = c
		t.Performed[a.Kind]++
		switch c {
		case Counted:
			t.Counted[a.Kind]++
		case Down:
			t.Down[a.Kind]++
		case InFlight:
			t.InFlight[a.Kind]++
		case Failed:
			t.Failed[a.Kind]++
		}
	}
	reports := map[string]*SinkReport{}
	for sink, r := range got {
		rep := &SinkReport{CountedLoss: sinkLoss[sink], OtherAlerts: other[sink], MissingByKind: map[Kind]int{}}
		for _, n := range kernelLoss {
			rep.CountedLoss += n
		}
		for _, a := range l.actions {
			n := r[a.Key]
			switch class[a.Key] {
			case Down:
				rep.DownReceived += min(n, 1)
				continue
			case InFlight:
				rep.InFlightReceived += min(n, 1)
				continue
			case Failed:
				rep.FailedReceived += min(n, 1)
				continue
			}
			rep.Received += n
			switch {
			case n == 0:
				rep.Missing++
				rep.MissingByKind[a.Kind]++
				if len(rep.MissingFirst) < 10 {
					rep.MissingFirst = append(rep.MissingFirst, a.Key)
				}
			case n == 1:
				rep.Exact++
			default:
				rep.Exact++
				rep.Duplicates += n - 1
			}
		}
		for k := range r {
			if _, ok := class[k]; !ok {
				rep.Unknown++
			}
		}
		var beyondKernel float64
		for k, n := range rep.MissingByKind {
			beyondKernel += max(0, float64(n)-kernelLoss[k])
		}
		rep.Unaccounted = int(max(0, beyondKernel-sinkLoss[sink]))
		reports[sink] = rep
	}
	return t, reports
}
