package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-project/vigil/bpf/cgroup"
	"github.com/vigil-project/vigil/engine/event"
)

// userHZ is the unit of /proc/PID/stat times (USER_HZ, 100 on every
// architecture Linux supports today).
const userHZ = 100

// errNotProcess means the pid is gone, a zombie, or a thread of another
// process.
var errNotProcess = errors.New("not a live process")

// Seed reads every process in procfs into the table and returns how many
// it read. Processes that exit while it reads are skipped.
func (t *Table) Seed() (int, error) {
	d, err := os.Open(t.procfs)
	if err != nil {
		return 0, fmt.Errorf("seed process table: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return 0, fmt.Errorf("seed process table: %w", err)
	}
	read := make(map[uint32]*event.Process, len(names))
	for _, name := range names {
		pid, err := strconv.ParseUint(name, 10, 32)
		if err != nil {
			continue
		}
		if p, err := t.read(uint32(pid)); err == nil {
			read[p.PID] = p
		}
	}
	// Ancestors need every process read first: parents may come later in
	// the listing.
	for _, p := range read {
		p.Cmdline = event.MakeCmdline(p.Name, p.Argv)
		p.Script = Script(p.Exe, p.Argv, p.Cwd)
		for cur := p; len(p.Ancestors) < maxAncestors; {
			par := read[cur.PPID]
			if par == nil {
				par = t.procs[cur.PPID]
			}
			if par == nil {
				break
			}
			addAncestor(p, par)
			cur = par
		}
	}
	for _, p := range read {
		p.SName = t.seedSession(p, read)
	}
	for _, p := range read {
		t.store(p)
	}
	return len(read), nil
}

// seedSession is the SName of p, a process read by Seed: the name of the
// eldest ancestor in p's session (sessionName, for a whole read of procfs).
func (t *Table) seedSession(p *event.Process, read map[uint32]*event.Process) string {
	cur := p
	for range maxSessionWalk {
		if cur.SID == cur.VPID {
			break
		}
		par := read[cur.PPID]
		if par == nil {
			if par = t.procs[cur.PPID]; par != nil && par.SID == cur.SID && par.SName != "" {
				return par.SName
			}
		}
		if par == nil || par == cur || par.SID != cur.SID {
			break
		}
		cur = par
	}
	return cur.Name
}

// maxSessionWalk bounds the walk to a session leader: deeper than any
// real process tree.
const maxSessionWalk = 1024

// read reads one process from procfs, all but Cmdline and Ancestors. Every
// file is read through one directory handle, which stays bound to the
// process even if its pid is reused meanwhile, and stat comes last so that
// a process that died while being read is noticed.
func (t *Table) read(pid uint32) (*event.Process, error) {
	dir, err := os.OpenRoot(filepath.Join(t.procfs, strconv.FormatUint(uint64(pid), 10)))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	p := &event.Process{PID: pid}

	status, err := dir.ReadFile("status")
	if err != nil {
		return nil, err
	}
	if !parseStatus(status, p) {
		return nil, errNotProcess
	}
	// The rest may be missing (kernel threads have no exe) or forbidden;
	// the fields then stay empty.
	if b, err := dir.ReadFile("cmdline"); err == nil && len(b) > 0 {
		p.Argv = strings.Split(string(bytes.TrimSuffix(b, []byte{0})), "\x00")
	}
	p.Exe, _ = dir.Readlink("exe")
	p.ExeMemfd = strings.HasPrefix(p.Exe, "/memfd:")
	p.Cwd, _ = dir.Readlink("cwd")
	if b, err := dir.ReadFile("cgroup"); err == nil {
		p.Container = cgroup.Parse(cgroup.ParseProcCgroup(string(b)))
	}

	stat, err := dir.ReadFile("stat")
	if err != nil {
		return nil, err
	}
	st, err := parseStat(stat)
	if err != nil {
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	if st.state == 'Z' || st.state == 'X' {
		return nil, errNotProcess
	}
	p.Name, p.PPID, p.TTY = st.comm, st.ppid, st.tty
	p.Start = t.boot.Add(time.Duration(st.start) * (time.Second / userHZ))
	return p, nil
}

// parseStatus fills the credentials and the pid-namespace ids from
// /proc/PID/status and reports whether the pid is a thread-group leader (a
// process, not a thread). NSpid, NSpgid and NSsid list an id in every pid
// namespace from procfs's down to the process's own; the last is the one
// the process sees, as the kernel side reports it.
func parseStatus(b []byte, p *event.Process) bool {
	for line := range strings.Lines(string(b)) {
		key, val, _ := strings.Cut(line, ":")
		switch f := strings.Fields(val); {
		case key == "Tgid" && len(f) == 1:
			if f[0] != strconv.FormatUint(uint64(p.PID), 10) {
				return false
			}
		case key == "Uid" && len(f) >= 2:
			p.UID, p.EUID = atou32(f[0]), atou32(f[1])
		case key == "Gid" && len(f) >= 1:
			p.GID = atou32(f[0])
		case key == "NSpid" && len(f) >= 1:
			p.VPID = atou32(f[len(f)-1])
		case key == "NSpgid" && len(f) >= 1:
			p.VPGID = atou32(f[len(f)-1])
		case key == "NSsid" && len(f) >= 1:
			p.SID = atou32(f[len(f)-1])
		}
	}
	return true
}

func atou32(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

type stat struct {
	comm  string
	state byte
	ppid  uint32
	tty   uint32
	start uint64 // clock ticks since boot
}

// parseStat parses /proc/PID/stat. The command name is in parentheses and
// may itself hold spaces and ')', so the fields after it are found from
// the last ')'.
func parseStat(b []byte) (stat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return stat{}, errors.New("malformed stat: no command name")
	}
	// Fields 3 (state) to 22 (starttime) of proc_pid_stat(5).
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, errors.New("malformed stat: too few fields")
	}
	ppid, err1 := strconv.ParseUint(f[1], 10, 32)
	tty, err2 := strconv.ParseInt(f[4], 10, 32)
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return stat{}, fmt.Errorf("malformed stat: %w", err)
	}
	return stat{
		comm:  string(b[open+1 : end]),
		state: f[0][0],
		ppid:  uint32(ppid),
		tty:   uint32(tty),
		start: start,
	}, nil
}
