package bpf

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-project/vigil/engine/event"
)

// hook is one syscall tracepoint and the program on it.
type hook struct {
	syscall string
	prog    string // the program's C name
	tp      string // in the syscalls group
	typ     event.Type
	// optional says when the tracepoint may be missing (event.Syscall).
	optional string
	// entry: an entry program, which saves state from before the call:
	// set*id's (the old ids) are attached only while some rule reads
	// them (ArgFilter.NoSetidOld); chattr's (the inode's flags) always
	// with the type.
	entry bool
}

// syscallHooks are the syscall tracepoints of every type, from the
// event-type table: tp_<syscall> on sys_exit_<syscall>, after
// tp_enter_<syscall> on sys_enter_<syscall> for the types with entry
// programs (an entry saves the ids before the call, so it goes first).
var syscallHooks = func() []hook {
	var hs []hook
	for _, t := range event.Types() {
		info := t.Info()
		if info.Entry {
			for _, sc := range info.Syscalls {
				hs = append(hs, hook{sc.Name, "tp_enter_" + sc.Name, "sys_enter_" + sc.Name, t, sc.Optional, true})
			}
		}
		for _, sc := range info.Syscalls {
			hs = append(hs, hook{sc.Name, "tp_" + sc.Name, "sys_exit_" + sc.Name, t, sc.Optional, false})
		}
	}
	return hs
}()

// programsByName indexes the loaded programs by their C name, the ebpf
// tag bpf2go gives each field.
func programsByName(ps *vigilPrograms) map[string]*ebpf.Program {
	v := reflect.ValueOf(ps).Elem()
	m := make(map[string]*ebpf.Program, v.NumField())
	for i := range v.NumField() {
		if p, ok := v.Field(i).Interface().(*ebpf.Program); ok {
			m[v.Type().Field(i).Tag.Get("ebpf")] = p
		}
	}
	return m
}

// syncHooks attaches the syscall programs of the types in mask and
// detaches the others: a type no rule reads costs nothing, not even the
// tracepoint's call. (The type mask check in the programs stops the
// records of a type at once; detaching follows.)
func (p *Probes) syncHooks(mask uint64) error {
	if p.tps == nil {
		p.tps = make(map[string]link.Link)
	}
	var errs []error
	progs := programsByName(&p.objs.vigilPrograms)
	for _, h := range syscallHooks {
		setidEntry := h.entry && (h.typ == event.TypeSetuid || h.typ == event.TypeSetgid)
		want := mask&(1<<h.typ) != 0 && !(setidEntry && p.noSetidOld)
		l, have := p.tps[h.tp]
		switch {
		case want && !have:
			l, err := link.Tracepoint("syscalls", h.tp, progs[h.prog], nil)
			if err != nil {
				if h.optional != "" && errors.Is(err, os.ErrNotExist) {
					if m := h.syscall + " (" + h.optional + ")"; !slices.Contains(p.missing, m) {
						p.missing = append(p.missing, m)
					}
					continue
				}
				errs = append(errs, fmt.Errorf("attach tracepoint syscalls/%s: %w", h.tp, err))
				continue
			}
			p.tps[h.tp] = l
		case !want && have:
			errs = append(errs, l.Close())
			delete(p.tps, h.tp)
		}
	}
	return errors.Join(errs...)
}

// MissingHooks lists the syscalls this kernel lacks, of those a wanted
// type would trace.
func (p *Probes) MissingHooks() []string { return p.missing }

// Attached counts the syscall tracepoints attached now.
func (p *Probes) Attached() int { return len(p.tps) }

// Hook names one syscall tracepoint vigil attaches, for reports.
type Hook struct {
	Tracepoint string // in the syscalls group: sys_exit_openat
	Type       event.Type
	Optional   string // when it may be missing, and why that is fine
}

// SyscallHooks lists every syscall tracepoint vigil may attach.
func SyscallHooks() []Hook {
	var out []Hook
	for _, h := range syscallHooks {
		out = append(out, Hook{h.tp, h.typ, h.optional})
	}
	return out
}
