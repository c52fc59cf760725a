package process

import (
	"slices"

	"github.com/vigil-project/vigil/engine/event"
)

// maxPipeEnds bounds the processes kept per pipe and direction: a pipe
// shared by more (a subshell's children all writing to it) keeps the
// newest.
const maxPipeEnds = 8

// maxPipes bounds the pipes indexed per direction. Entries whose exit was
// never seen (a lost record, an evicted process) would pile up without
// it; past it the index starts anew, as Table.retry does.
const maxPipes = 16384

// pipeIndex maps a pipe's inode to the pids that had it as stdout
// (writers) and as stdin (readers) at exec, so an exec on one end finds a
// process already on the other. Entries go at exit or at the pid's next
// exec; one whose pid's snapshot no longer has that pipe is dropped when
// met.
type pipeIndex struct {
	writers, readers map[uint64][]uint32
}

func newPipeIndex() pipeIndex {
	return pipeIndex{writers: make(map[uint64][]uint32), readers: make(map[uint64][]uint32)}
}

// pipeIno is the inode of fd i of p when it is a pipe, else 0.
func pipeIno(p *event.Process, i int) uint64 {
	if p == nil || p.Stdio[i].Type != "pipe" {
		return 0
	}
	return p.Stdio[i].Ino
}

// exec names in p (not yet stored) the processes at the other end of its
// stdin and stdout pipes, then indexes p. prev is the pid's snapshot
// before the exec, whose entries p's replace.
func (x *pipeIndex) exec(p, prev *event.Process, procs map[uint32]*event.Process) {
	x.remove(prev)
	if ino := pipeIno(p, 0); ino != 0 {
		if w := x.other(x.writers, ino, 1, p, procs); w != nil {
			p.Stdio[0].PipeName, p.Stdio[0].PipeExe = w.Name, w.Exe
		}
		x.readers[ino] = addEnd(bounded(x.readers, ino), p.PID)
	}
	if ino := pipeIno(p, 1); ino != 0 {
		if r := x.other(x.readers, ino, 0, p, procs); r != nil {
			p.Stdio[1].PipeName, p.Stdio[1].PipeExe = r.Name, r.Exe
		}
		x.writers[ino] = addEnd(bounded(x.writers, ino), p.PID)
	}
}

// other is the newest process with pipe ino as its fd fd that is in p's
// pipeline: the same parent, or the same process group.
func (x *pipeIndex) other(m map[uint64][]uint32, ino uint64, fd int, p *event.Process, procs map[uint32]*event.Process) *event.Process {
	ends := slices.DeleteFunc(m[ino], func(pid uint32) bool { return pipeIno(procs[pid], fd) != ino })
	if len(ends) == 0 {
		delete(m, ino)
		return nil
	}
	m[ino] = ends
	for i := len(ends) - 1; i >= 0; i-- {
		if q := procs[ends[i]]; q.PID != p.PID && samePipeline(p, q) {
			return q
		}
	}
	return nil
}

// samePipeline: a shell forks every process of a pipeline itself (same
// parent) and, with job control, puts them in one process group.
func samePipeline(p, q *event.Process) bool {
	return p.PPID != 0 && p.PPID == q.PPID || p.VPGID != 0 && p.VPGID == q.VPGID && p.SID == q.SID
}

// bounded is m[ino], after emptying m if a new pipe would make it hold
// more than maxPipes.
func bounded(m map[uint64][]uint32, ino uint64) []uint32 {
	ends, ok := m[ino]
	if !ok && len(m) >= maxPipes {
		clear(m)
	}
	return ends
}

func addEnd(ends []uint32, pid uint32) []uint32 {
	if len(ends) == maxPipeEnds {
		ends = slices.Delete(ends, 0, 1)
	}
	return append(ends, pid)
}

// remove drops the entries of p's pid (it exited, or execs anew).
func (x *pipeIndex) remove(p *event.Process) {
	if ino := pipeIno(p, 0); ino != 0 {
		dropEnd(x.readers, ino, p.PID)
	}
	if ino := pipeIno(p, 1); ino != 0 {
		dropEnd(x.writers, ino, p.PID)
	}
}

func dropEnd(m map[uint64][]uint32, ino uint64, pid uint32) {
	ends := slices.DeleteFunc(m[ino], func(q uint32) bool { return q == pid })
	if len(ends) == 0 {
		delete(m, ino)
	} else {
		m[ino] = ends
	}
}
