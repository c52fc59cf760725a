package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Alert is the part of one `vigil run --format json` alert the judge reads.
type Alert struct {
	Rule     string `json:"rule"`
	Priority string `json:"priority"`
	Output   string `json:"output"`
	Event    struct {
		PID          *int     `json:"proc.pid"`
		SID          *int     `json:"proc.sid"`
		AncestorPIDs []string `json:"proc.ancestor_pids"`
		ContainerID  string   `json:"container.id"`
		FullID       string   `json:"container.full_id"`
	} `json:"event"`
}

// Workload names what the workload is: its parent process, which is also
// the leader of its session, and the containers it started.
type Workload struct {
	PID        int
	Containers map[string]bool
}

// Owns reports whether the workload caused a. The ancestor list is capped
// (16 entries), so the session id catches deep descendants; containers
// run under shims that leave the session, so their ids are named.
func (w Workload) Owns(a Alert) bool {
	e := a.Event
	if e.PID != nil && *e.PID == w.PID || e.SID != nil && *e.SID == w.PID {
		return true
	}
	if slices.Contains(e.AncestorPIDs, strconv.Itoa(w.PID)) {
		return true
	}
	if e.FullID != "" && w.Containers[e.FullID] {
		return true
	}
	if e.ContainerID != "" {
		for id := range w.Containers {
			if strings.HasPrefix(id, e.ContainerID) {
				return true
			}
		}
	}
	return false
}

// severity ranks Falco's priority names as the JSON alert spells them;
// Warning and above (smaller) always fail the check.
var severity = map[string]int{
	"Emergency": 0, "Alert": 1, "Critical": 2, "Error": 3, "Warning": 4,
	"Notice": 5, "Informational": 6, "Debug": 7,
}

// Policy is what the workload may raise: Notice or lower alerts of the
// allowed rules (rule name to reason), at most MaxAllowed of them.
type Policy struct {
	Allow      map[string]string
	MaxAllowed int
}

// Verdict is the outcome of Judge.
type Verdict struct {
	Pass      bool
	Total     int               // alerts in the file
	Host      int               // alerts the workload did not cause
	Counts    map[[2]string]int // workload alerts by rule and priority
	Allowed   int               // workload alerts the policy allows
	Offending []Alert           // workload alerts the policy does not allow
	TooMany   bool              // Allowed is above Policy.MaxAllowed
	policy    Policy
}

// Judge reads alerts, one JSON object a line, from r (named name in
// errors) and judges the ones w caused by p.
func Judge(r io.Reader, name string, w Workload, p Policy) (*Verdict, error) {
	v := &Verdict{Counts: map[[2]string]int{}, policy: p}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var a Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return nil, fmt.Errorf("%s:%d: not a JSON alert: %v", name, line, err)
		}
		if a.Rule == "" {
			return nil, fmt.Errorf("%s:%d: alert has no rule", name, line)
		}
		v.Total++
		if !w.Owns(a) {
			v.Host++
			continue
		}
		v.Counts[[2]string{a.Rule, a.Priority}]++
		sev, known := severity[a.Priority]
		_, listed := p.Allow[a.Rule]
		if known && sev > severity["Warning"] && listed {
			v.Allowed++
		} else {
			v.Offending = append(v.Offending, a)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	v.TooMany = v.Allowed > p.MaxAllowed
	v.Pass = len(v.Offending) == 0 && !v.TooMany
	return v, nil
}

// Report prints the summary (counts by rule and priority), the offending
// alerts and the verdict.
func (v *Verdict) Report(out io.Writer) {
	fmt.Fprintf(out, "noise-check: %d alert(s) in all, %d from other activity on the host (ignored), %d from the workload\n",
		v.Total, v.Host, v.Total-v.Host)
	keys := make([][2]string, 0, len(v.Counts))
	for k := range v.Counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := v.Counts[b] - v.Counts[a]; c != 0 {
			return c
		}
		return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1])
	})
	for _, k := range keys {
		note := ""
		if reason, ok := v.policy.Allow[k[0]]; ok {
			note = " (allowed below Warning: " + reason + ")"
		}
		fmt.Fprintf(out, "noise-check:   %4d %-13s %s%s\n", v.Counts[k], k[1], k[0], note)
	}
	for _, a := range v.Offending {
		why := "not in the allow-list"
		if s, ok := severity[a.Priority]; !ok {
			why = "unknown priority"
		} else if s <= severity["Warning"] {
			why = "Warning or above"
		}
		fmt.Fprintf(out, "noise-check: offending (%s): %s [%s] %s\n", why, a.Rule, a.Priority, a.Output)
	}
	switch {
	case v.Pass:
		fmt.Fprintf(out, "noise-check: ok (%d allowed alert(s), at most %d)\n", v.Allowed, v.policy.MaxAllowed)
	case v.TooMany:
		fmt.Fprintf(out, "noise-check: FAIL: %d offending alert(s); %d allowed alert(s), more than %d\n", len(v.Offending), v.Allowed, v.policy.MaxAllowed)
	default:
		fmt.Fprintf(out, "noise-check: FAIL: %d offending alert(s) from the workload\n", len(v.Offending))
	}
}
