package bpf

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vigil-project/vigil/engine"
	"github.com/vigil-project/vigil/engine/event"
	"github.com/vigil-project/vigil/engine/plan"
)

// A rule that reads proc.env turns collection on (environment.collect:
// auto), and the shell's history settings are among the values kept by
// default: HISTFILE=/dev/null is seen, a secret's value is not.
func TestExecHistoryEnv(t *testing.T) {
	needRoot(t)
	path := filepath.Join(t.TempDir(), "hist.yaml")
	err := os.WriteFile(path, []byte(`
- rule: History disabled
  desc: a process runs with its shell history sent to /dev/null
  condition: evt.type == "exec" && proc.env[?"HISTFILE"].orValue("") == "/dev/null"
  output: history off (%proc.cmdline)
  priority: WARNING
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := engine.CompilePaths(engine.Options{Hostname: "h"}, path)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := rs.Plan(plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Env.Bytes == 0 {
		t.Fatalf("plan collects no environment: %+v", pl.Env)
	}
	o := DefaultOptions()
	o.Env = pl.Env
	c := startCollector(t, o)

	cmd := exec.Command("/bin/true")
	cmd.Env = []string{"HISTFILE=/dev/null", "HISTSIZE=0", "HISTFILESIZE=0", "HISTCONTROL=ignorespace", "HISTIGNORE=*", "API_TOKEN=hunter2"}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	ev := c.waitFor(t, "exec of true", byPID(cmd.Process.Pid, event.TypeExec))
	want := map[string]string{"HISTFILE": "/dev/null", "HISTSIZE": "0", "HISTFILESIZE": "0", "HISTCONTROL": "ignorespace", "HISTIGNORE": "*", "API_TOKEN": ""}
	if !reflect.DeepEqual(ev.Proc.Env, want) {
		t.Errorf("proc.env = %v, want %v", ev.Proc.Env, want)
	}
	alerts := engine.NewMatcher().Match(rs, ev, nil)
	if len(alerts) != 1 || alerts[0].Rule != "History disabled" || alerts[0].Output != "history off (true)" {
		t.Errorf("alerts %+v, want History disabled", alerts)
	}
}
