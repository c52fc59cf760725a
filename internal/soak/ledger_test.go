package soak

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestClassify(t *testing.T) {
	down := []Interval{{From: at(100), To: at(105)}, {From: at(200)}}
	kills := []time.Time{at(100)}
	for _, c := range []struct {
		name       string
		start, end float64
		want       Class
	}{
		{"well before the kill", 10, 10.1, Counted},
		{"ends 2.5 s before the kill", 97.4, 97.5, Counted},
		{"ends 1 s before the kill", 98.9, 99, InFlight},
		{"spans the kill", 99.9, 100.1, Down},
		{"while down", 102, 102.1, Down},
		{"ends as vigil is ready", 104.9, 105, Down},
		{"starts as vigil is ready", 105, 105.1, Counted},
		{"after the restart", 150, 150.1, Counted},
		{"in an open down window", 250, 250.1, Down},
	} {
		got := Classify(Action{Start: at(c.start), End: at(c.end)}, down, kills, 2*time.Second)
		if got != c.want {
			t.Errorf("%s: class %d, want %d", c.name, got, c.want)
		}
	}
}

// The account of one sink: exactly once, missing (covered by counted
// loss or not), duplicates, unknown, and excluded actions that arrived.
func TestAccount(t *testing.T) {
	l := &Ledger{}
	for i := uint64(1); i <= 5; i++ {
		l.Record(Key{Open, i}, at(float64(i)), at(float64(i)+0.01))
	}
	l.Record(Key{Exec, 1}, at(9), at(9.01))   // in flight at the kill at 10
	l.Down(at(10), true)                      // SIGKILL
	l.Record(Key{Exec, 2}, at(11), at(11.01)) // while down
	l.Up(at(12))
	l.Record(Key{Connect, 1}, at(13), at(13.01))
	l.RecordFailed(Key{Connect, 2}, at(14), at(16)) // timed out; arrived at a only
	l.RecordFailed(Key{Connect, 3}, at(17), at(19)) // timed out; arrived nowhere
	if d := l.DownSeconds(at(20)); d != 2 {
		t.Errorf("down %v s, want 2", d)
	}

	got := map[string]Receipts{
		"a": {{Open, 1}: 1, {Open, 2}: 2, {Open, 4}: 1, {Open, 5}: 1, {Connect, 1}: 1, {Exec, 1}: 1, {Exec, 99}: 1, {Connect, 2}: 1},
		"c": {{Open, 2}: 1, {Open, 3}: 1, {Open, 4}: 1, {Open, 5}: 1, {Connect, 1}: 1},
		"b": {{Open, 1}: 1, {Open, 2}: 1, {Open, 3}: 1, {Open, 4}: 1, {Exec, 2}: 1},
	}
	tally, reps := l.Account(2*time.Second, got, map[string]float64{"b": 1}, map[Kind]float64{Connect: 1, Exec: 3}, map[string]int{"a": 7})
	if tally.Performed[Open] != 5 || tally.Counted[Open] != 5 || tally.InFlight[Exec] != 1 || tally.Down[Exec] != 1 || tally.Counted[Connect] != 1 || tally.Failed[Connect] != 2 {
		t.Errorf("tally %+v", tally)
	}
	a, b, c := reps["a"], reps["b"], reps["c"]
	// c misses open 1; the kernel lost only execs and connects.
	if c.Missing != 1 || c.MissingByKind[Open] != 1 || c.Unaccounted != 1 {
		t.Errorf("sink c: %+v", c)
	}
	if a.Exact != 5 || a.Missing != 1 || a.Duplicates != 1 || a.Unknown != 1 || a.Unaccounted != 1 || a.InFlightReceived != 1 || a.DownReceived != 0 || a.OtherAlerts != 7 || a.Received != 6 || a.FailedReceived != 1 {
		t.Errorf("sink a: %+v", a)
	}
	if len(a.MissingFirst) != 1 || a.MissingFirst[0] != (Key{Open, 3}) {
		t.Errorf("sink a missing %v, want [{open 3}]", a.MissingFirst)
	}
	// b misses open 5 (the sink's one loss) and connect 1 (the kernel's
	// one connect drop): accounted. a's missing open 3 is not: the
	// kernel lost no opens and the sink nothing.
	if b.Exact != 4 || b.Missing != 2 || b.Unaccounted != 0 || b.DownReceived != 1 || b.CountedLoss != 5 {
		t.Errorf("sink b: %+v", b)
	}
}
