package engine

import (
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

// list.globIndex(pattern): the first item that matches, or -1.
func TestGlobIndex(t *testing.T) {
	rs := mustCompile(t, `
- rule: Socket mounted
  desc: d
  condition: evt.type == "exec" && container.mount_sources.globIndex("/var/run/*.sock") == 1 && container.mount_dests[container.mount_sources.globIndex("/var/run/*.sock")] == "/run/docker.sock"
  output: o
  priority: warning
- rule: None
  desc: d
  condition: evt.type == "exec" && container.mount_sources.globIndex("/nope*") == -1
  output: o
  priority: warning
`)
	ev, err := event.FromFields(map[string]any{"evt.type": "exec", "container.mounts": []string{"proc:/proc:rw", "/var/run/docker.sock:/run/docker.sock:ro"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range NewMatcher().Match(rs, ev, nil) {
		got = append(got, a.Rule)
	}
	if len(got) != 2 || got[0] != "Socket mounted" || got[1] != "None" {
		t.Errorf("alerts %v", got)
	}
}
