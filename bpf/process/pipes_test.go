package process

import (
	"testing"

	"github.com/vigil-project/vigil/engine/event"
)

// pipeRec is an exec of name, child of ppid in process group pgid, with
// stdin and stdout the pipes of those inodes (0: a tty).
func pipeRec(pid, ppid, pgid uint32, name string, in, out uint64) *event.Process {
	p := execRec(pid, ppid, name, 1)
	p.VPID, p.VPGID, p.SID = pid, pgid, 1
	p.Stdio = [3]event.Stdio{{Type: "tty", Ino: 3}, {Type: "tty", Ino: 3}, {Type: "tty", Ino: 3}}
	if in != 0 {
		p.Stdio[0] = event.Stdio{Type: "pipe", Ino: in}
	}
	if out != 0 {
		p.Stdio[1] = event.Stdio{Type: "pipe", Ino: out}
	}
	return p
}

type ends struct{ writer, writerExe, reader, readerExe string }

func endsOf(p *event.Process) ends {
	return ends{p.Stdio[0].PipeName, p.Stdio[0].PipeExe, p.Stdio[1].PipeName, p.Stdio[1].PipeExe}
}

// curl -s http://x/a.sh | sh: the shell forks both, and either may exec
// first; the second to exec names the first.
func TestPipelineEnds(t *testing.T) {
	for _, curlFirst := range []bool{true, false} {
		tab, _ := newTable(t, 0)
		tab.Exec(pipeRec(10, 1, 10, "bash", 0, 0))
		curl, sh := pipeRec(20, 10, 20, "curl", 0, 500), pipeRec(21, 10, 20, "sh", 500, 0)
		var first, second *event.Process
		if curlFirst {
			first, second = tab.Exec(curl), tab.Exec(sh)
		} else {
			first, second = tab.Exec(sh), tab.Exec(curl)
		}
		if got := endsOf(first); got != (ends{}) {
			t.Errorf("curl first %v: %s (first) names %+v", curlFirst, first.Name, got)
		}
		want := ends{writer: "curl", writerExe: "/bin/curl"}
		if !curlFirst {
			want = ends{reader: "sh", readerExe: "/bin/sh"}
		}
		if got := endsOf(second); got != want {
			t.Errorf("curl first %v: %s (second) names %+v, want %+v", curlFirst, second.Name, got, want)
		}
	}
}

// Only processes of one pipeline name each other; exit and a new exec
// take a process off the index.
func TestPipelineEndsNearMiss(t *testing.T) {
	tab, _ := newTable(t, 0)
	// Same pipe, different parents and process groups: a pipe passed to
	// an unrelated process (a daemon's inherited fd).
	tab.Exec(pipeRec(20, 10, 20, "curl", 0, 600))
	if got := endsOf(tab.Exec(pipeRec(31, 30, 31, "sh", 600, 0))); got != (ends{}) {
		t.Errorf("unrelated reader names %+v", got)
	}
	// Same process group, another parent: a pipeline's process run by a
	// subshell of it (set -m: one group per job).
	if got := endsOf(tab.Exec(pipeRec(22, 15, 20, "sh", 600, 0))); got != (ends{writer: "curl", writerExe: "/bin/curl"}) {
		t.Errorf("same group: %+v", got)
	}
	// A sibling on another pipe.
	if got := endsOf(tab.Exec(pipeRec(23, 10, 23, "sh", 601, 0))); got != (ends{}) {
		t.Errorf("other pipe: %+v", got)
	}
	// curl exited: a reader that execs after that finds no writer.
	tab.Exit(20)
	if got := endsOf(tab.Exec(pipeRec(24, 10, 20, "sh", 600, 0))); got != (ends{}) {
		t.Errorf("after the writer's exit: %+v", got)
	}
	// A writer that execs something else with stdout on a tty is no
	// longer on the pipe.
	tab.Exec(pipeRec(40, 10, 40, "cat", 0, 700))
	tab.Exec(pipeRec(40, 10, 40, "true", 0, 0))
	if got := endsOf(tab.Exec(pipeRec(41, 10, 40, "sh", 700, 0))); got != (ends{}) {
		t.Errorf("after the writer's new image: %+v", got)
	}
	if len(tab.pipes.writers[700]) != 0 || len(tab.pipes.writers[600]) != 0 {
		t.Errorf("writers of 700 %v, of 600 %v; want none", tab.pipes.writers[700], tab.pipes.writers[600])
	}
	// The newest of several writers is named, and a middle stage names
	// both sides.
	tab.Exec(pipeRec(50, 10, 50, "a", 0, 800))
	tab.Exec(pipeRec(51, 10, 50, "b", 0, 800))
	tab.Exec(pipeRec(53, 10, 50, "d", 801, 0))
	if got := endsOf(tab.Exec(pipeRec(52, 10, 50, "c", 800, 801))); got != (ends{"b", "/bin/b", "d", "/bin/d"}) {
		t.Errorf("middle stage: %+v", got)
	}
}

// Entries of processes whose exit is never seen do not pile up: past
// maxPipes pipes the index starts anew.
func TestPipeIndexBounded(t *testing.T) {
	tab, _ := newTable(t, 0)
	for i := range maxPipes + 10 {
		tab.Exec(pipeRec(uint32(100+i), 1, 1, "cat", 0, uint64(1000+i)))
	}
	if n := len(tab.pipes.writers); n != 10 {
		t.Errorf("%d pipes indexed, want 10", n)
	}
}
