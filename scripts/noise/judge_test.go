package main

import (
	"bytes"
	"strings"
	"testing"
)

// alertLine is one JSON alert as `vigil run --format json` writes it, with
// the event fields the judge reads.
func alertLine(rule, prio, event string) string {
	return `{"time":"2026-12-04T10:00:00Z","rule":"` + rule + `","priority":"` + prio +
		`","output":"` + rule + ` out","output_fields":{},"tags":[],"source":"syscall","hostname":"h","event":{` + event + `}}`
}

var workload = Workload{PID: 4242, Containers: map[string]bool{"3ad1c2b4e5f60718293a4b5c6d7e8f90aabbccddeeff00112233445566778899": true}}

func TestOwns(t *testing.T) {
	cases := []struct {
		name, event string
		want        bool
	}{
		{"the workload's shell itself", `"proc.pid":4242,"proc.sid":4242`, true},
		{"a descendant in its session", `"proc.pid":5000,"proc.sid":4242`, true},
		{"a descendant that left the session, by ancestry", `"proc.pid":5001,"proc.sid":5001,"proc.ancestor_pids":["4999","4242","1"]`, true},
		{"its container, by full id", `"proc.pid":6000,"proc.sid":1,"container.full_id":"3ad1c2b4e5f60718293a4b5c6d7e8f90aabbccddeeff00112233445566778899"`, true},
		{"its container, by short id", `"proc.pid":6001,"proc.sid":1,"container.id":"3ad1c2b4e5f6"`, true},
		{"another session on the host", `"proc.pid":7000,"proc.sid":6999,"proc.ancestor_pids":["6999","1"]`, false},
		{"another container", `"proc.pid":7001,"proc.sid":1,"container.id":"ffffffffffff"`, false},
		{"an ancestor pid that only contains the workload's", `"proc.pid":7002,"proc.sid":7002,"proc.ancestor_pids":["42421"]`, false},
		{"no process fields", ``, false},
	}
	for _, c := range cases {
		v, err := Judge(strings.NewReader(alertLine("R", "Warning", c.event)), "a.jsonl", workload, Policy{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := v.Host == 0; got != c.want {
			t.Errorf("%s: owned %v, want %v", c.name, got, c.want)
		}
	}
}

func TestJudge(t *testing.T) {
	mine := `"proc.pid":5000,"proc.sid":4242`
	host := `"proc.pid":7000,"proc.sid":7000`
	policy := Policy{Allow: map[string]string{"Execution from a temporary directory": "go test runs its binaries from /tmp"}, MaxAllowed: 2}
	cases := []struct {
		name  string
		lines []string
		pass  bool
		// allowed, offending, host alerts
		counts [3]int
		report []string
	}{
		{"nothing raised", nil, true, [3]int{}, []string{"0 alert(s) in all", "noise-check: ok (0 allowed alert(s), at most 2)"}},
		{"host activity alone is ignored", []string{alertLine("Shell history disabled", "Critical", host)}, true, [3]int{0, 0, 1},
			[]string{"1 from other activity on the host (ignored), 0 from the workload", "noise-check: ok"}},
		{"an allowed Notice", []string{alertLine("Execution from a temporary directory", "Notice", mine)}, true, [3]int{1, 0, 0},
			[]string{"   1 Notice        Execution from a temporary directory (allowed below Warning: go test runs its binaries from /tmp)", "noise-check: ok (1 allowed alert(s), at most 2)"}},
		{"a Warning of an allowed rule still fails", []string{alertLine("Execution from a temporary directory", "Warning", mine)}, false, [3]int{0, 1, 0},
			[]string{"offending (Warning or above): Execution from a temporary directory [Warning]", "FAIL: 1 offending alert(s) from the workload"}},
		{"a Notice of a rule not in the list", []string{alertLine("Shell history disabled", "Notice", mine)}, false, [3]int{0, 1, 0},
			[]string{"offending (not in the allow-list): Shell history disabled [Notice] Shell history disabled out"}},
		{"an unknown priority", []string{alertLine("Execution from a temporary directory", "Loud", mine)}, false, [3]int{0, 1, 0},
			[]string{"offending (unknown priority)"}},
		{"more allowed alerts than the cap", []string{
			alertLine("Execution from a temporary directory", "Notice", mine),
			alertLine("Execution from a temporary directory", "Informational", mine),
			alertLine("Execution from a temporary directory", "Notice", mine),
		}, false, [3]int{3, 0, 0}, []string{"FAIL: 0 offending alert(s); 3 allowed alert(s), more than 2"}},
	}
	for _, c := range cases {
		in := strings.Join(c.lines, "\n") + "\n\n"
		v, err := Judge(strings.NewReader(in), "a.jsonl", workload, policy)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := [3]int{v.Allowed, len(v.Offending), v.Host}; v.Pass != c.pass || got != c.counts {
			t.Errorf("%s: pass %v, allowed/offending/host %v; want %v, %v", c.name, v.Pass, got, c.pass, c.counts)
		}
		var out bytes.Buffer
		v.Report(&out)
		for _, w := range c.report {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: report lacks %q:\n%s", c.name, w, out.String())
			}
		}
	}
}

func TestJudgeBadInput(t *testing.T) {
	cases := []struct{ in, want string }{
		{alertLine("R", "Notice", "") + "\n{not json\n", "a.jsonl:2: not a JSON alert: invalid character 'n' looking for beginning of object key string"},
		{`{"priority":"Notice"}` + "\n", "a.jsonl:1: alert has no rule"},
	}
	for _, c := range cases {
		_, err := Judge(strings.NewReader(c.in), "a.jsonl", workload, Policy{})
		if err == nil || err.Error() != c.want {
			t.Errorf("Judge(%q): %v, want %s", c.in, err, c.want)
		}
	}
}

func TestJudgeCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if got := run([]string{"judge", "-pid", "1", "x"}, &stdout, &stderr); got != 2 || !strings.Contains(stderr.String(), "want -pid PID (above 1)") {
		t.Errorf("judge -pid 1: exit %d, %q", got, stderr.String())
	}
	stderr.Reset()
	if got := run([]string{"judge", "-pid", "5", "-allow", "no reason", "x"}, &stdout, &stderr); got != 2 || !strings.Contains(stderr.String(), `want RULE|REASON, got "no reason"`) {
		t.Errorf("judge -allow without a reason: exit %d, %q", got, stderr.String())
	}
	stderr.Reset()
	if got := run([]string{"bogus"}, &stdout, &stderr); got != 2 || !strings.Contains(stderr.String(), `unknown command "bogus"`) {
		t.Errorf("bogus: exit %d, %q", got, stderr.String())
	}
}

// Whatever the input, Judge either rejects it or accounts for every alert:
// each is the host's, allowed or offending.
func FuzzJudge(f *testing.F) {
	f.Add(alertLine("R", "Notice", `"proc.pid":5000,"proc.sid":4242`))
	f.Add(alertLine("Execution from a temporary directory", "Notice", `"proc.sid":4242`) + "\n" + alertLine("R", "Critical", `"container.id":"3ad1"`))
	f.Add(`{"rule":"R","priority":"Debug","event":{"proc.ancestor_pids":["4242"]}}`)
	f.Add("\n\n{}\n")
	f.Fuzz(func(t *testing.T, in string) {
		p := Policy{Allow: map[string]string{"Execution from a temporary directory": "x"}, MaxAllowed: 1}
		v, err := Judge(strings.NewReader(in), "f", workload, p)
		if err != nil {
			return
		}
		n := 0
		for _, c := range v.Counts {
			n += c
		}
		if n != v.Total-v.Host || v.Allowed+len(v.Offending) != n {
			t.Fatalf("total %d, host %d, counted %d, allowed %d, offending %d", v.Total, v.Host, n, v.Allowed, len(v.Offending))
		}
		if v.Pass != (len(v.Offending) == 0 && v.Allowed <= p.MaxAllowed) {
			t.Fatalf("pass %v with %d offending, %d allowed", v.Pass, len(v.Offending), v.Allowed)
		}
		var out bytes.Buffer
		v.Report(&out)
	})
}
