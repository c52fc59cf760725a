package process

import (
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

// An exec in a container asks the overlay whether its executable is on
// the upper layer, with the parent as the fallback when it is in the same
// container; an exec on the host does not ask.
func TestExecUpperLayer(t *testing.T) {
	type ask struct {
		pid, fallback uint32
		exe           string
	}
	var asked []ask
	tb := New(Options{Procfs: t.TempDir(), BootTime: boot,
		Containers: func(id uint64) (event.Container, bool) {
			if id == 7 {
				return event.Container{ID: "c7", FullID: "c7"}, true
			}
			return event.Container{}, true
		},
		ExeLayer: func(pid, fallback uint32, exe string) (bool, bool) {
			asked = append(asked, ask{pid, fallback, exe})
			if pid == 31 || pid == 32 { // gone, with its parent
				return false, false
			}
			return exe == "/tmp/dropped", true
		},
	})
	host := tb.Exec(&event.Process{PID: 10, PPID: 1, Name: "sh", Exe: "/bin/sh", CgroupID: 1})
	shell := tb.Exec(&event.Process{PID: 20, PPID: 10, Name: "sh", Exe: "/bin/sh", CgroupID: 7})
	dropped := tb.Exec(&event.Process{PID: 21, PPID: 20, Name: "x", Exe: "/tmp/dropped", CgroupID: 7})
	if host.ExeUpperLayer || shell.ExeUpperLayer || !dropped.ExeUpperLayer {
		t.Errorf("upper layer: host %v, shell %v, dropped %v", host.ExeUpperLayer, shell.ExeUpperLayer, dropped.ExeUpperLayer)
	}
	want := []ask{{20, 0, "/bin/sh"}, {21, 20, "/tmp/dropped"}}
	if len(asked) != 2 || asked[0] != want[0] || asked[1] != want[1] {
		t.Errorf("asked %v, want %v", asked, want)
	}
	// A process gone with its parent by the time vigil looks: another
	// process of the container answers.
	tb.Exec(&event.Process{PID: 31, PPID: 1, Name: "sh", Exe: "/bin/sh", CgroupID: 7})
	asked = nil
	gone := tb.Exec(&event.Process{PID: 32, PPID: 31, Name: "x", Exe: "/tmp/dropped", CgroupID: 7})
	if !gone.ExeUpperLayer || len(asked) < 2 || asked[0] != (ask{32, 31, "/tmp/dropped"}) || asked[1].pid == 31 || asked[1].pid == 32 || asked[1].fallback != 0 {
		t.Errorf("gone: upper %v, asked %v", gone.ExeUpperLayer, asked)
	}
}
