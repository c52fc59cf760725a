package bpf

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-project/vigil/engine/event"
)

// hook is one syscall tracepoint and the program on it.
type hook struct {
	prog *ebpf.Program
	tp   string // in the syscalls group
	typ  event.Type
	// optional says when the tracepoint may be missing: a syscall younger
	// than the oldest kernel vigil supports, or one a kernel can be built
	// without. Such a hook is skipped where it is missing (and reported
	// by MissingHooks); any other failure to attach is an error.
	optional string
	// entry: a set*id entry program (saves the old ids), attached only
	// while some rule reads them (ArgFilter.NoSetidOld).
	entry bool
}

// noModules: a kernel built without CONFIG_MODULES has no module syscalls
// (they fail with ENOSYS), so nothing is missed.
const noModules = "absent without CONFIG_MODULES"

func (p *Probes) hooks() []hook {
	o := &p.objs
	return []hook{
		{o.TpOpen, "sys_exit_open", event.TypeOpen, "", false},
		{o.TpOpenat, "sys_exit_openat", event.TypeOpen, "", false},
		{o.TpOpenat2, "sys_exit_openat2", event.TypeOpen, "", false},
		{o.TpCreat, "sys_exit_creat", event.TypeOpen, "", false},
		{o.TpConnect, "sys_exit_connect", event.TypeConnect, "", false},
		{o.TpUnlink, "sys_exit_unlink", event.TypeUnlink, "", false},
		{o.TpUnlinkat, "sys_exit_unlinkat", event.TypeUnlink, "", false},
		{o.TpRmdir, "sys_exit_rmdir", event.TypeUnlink, "", false},
		{o.TpMkdir, "sys_exit_mkdir", event.TypeMkdir, "", false},
		{o.TpMkdirat, "sys_exit_mkdirat", event.TypeMkdir, "", false},
		{o.TpRename, "sys_exit_rename", event.TypeRename, "", false},
		{o.TpRenameat, "sys_exit_renameat", event.TypeRename, "", false},
		{o.TpRenameat2, "sys_exit_renameat2", event.TypeRename, "", false},
		{o.TpLink, "sys_exit_link", event.TypeLink, "", false},
		{o.TpLinkat, "sys_exit_linkat", event.TypeLink, "", false},
		{o.TpSymlink, "sys_exit_symlink", event.TypeSymlink, "", false},
		{o.TpSymlinkat, "sys_exit_symlinkat", event.TypeSymlink, "", false},
		{o.TpChmod, "sys_exit_chmod", event.TypeChmod, "", false},
		{o.TpFchmod, "sys_exit_fchmod", event.TypeChmod, "", false},
		{o.TpFchmodat, "sys_exit_fchmodat", event.TypeChmod, "", false},
		{o.TpFchmodat2, "sys_exit_fchmodat2", event.TypeChmod, "Linux 6.6+", false},
		{o.TpPtrace, "sys_exit_ptrace", event.TypePtrace, "", false},
		// The entries save the ids before the call; attached first.
		{o.TpEnterSetuid, "sys_enter_setuid", event.TypeSetuid, "", true},
		{o.TpEnterSetreuid, "sys_enter_setreuid", event.TypeSetuid, "", true},
		{o.TpEnterSetresuid, "sys_enter_setresuid", event.TypeSetuid, "", true},
		{o.TpEnterSetfsuid, "sys_enter_setfsuid", event.TypeSetuid, "", true},
		{o.TpSetuid, "sys_exit_setuid", event.TypeSetuid, "", false},
		{o.TpSetreuid, "sys_exit_setreuid", event.TypeSetuid, "", false},
		{o.TpSetresuid, "sys_exit_setresuid", event.TypeSetuid, "", false},
		{o.TpSetfsuid, "sys_exit_setfsuid", event.TypeSetuid, "", false},
		{o.TpEnterSetgid, "sys_enter_setgid", event.TypeSetgid, "", true},
		{o.TpEnterSetregid, "sys_enter_setregid", event.TypeSetgid, "", true},
		{o.TpEnterSetresgid, "sys_enter_setresgid", event.TypeSetgid, "", true},
		{o.TpEnterSetfsgid, "sys_enter_setfsgid", event.TypeSetgid, "", true},
		{o.TpSetgid, "sys_exit_setgid", event.TypeSetgid, "", false},
		{o.TpSetregid, "sys_exit_setregid", event.TypeSetgid, "", false},
		{o.TpSetresgid, "sys_exit_setresgid", event.TypeSetgid, "", false},
		{o.TpSetfsgid, "sys_exit_setfsgid", event.TypeSetgid, "", false},
		{o.TpMemfdCreate, "sys_exit_memfd_create", event.TypeMemfd, "", false},
		{o.TpInitModule, "sys_exit_init_module", event.TypeModule, noModules, false},
		{o.TpFinitModule, "sys_exit_finit_module", event.TypeModule, noModules, false},
		{o.TpSetns, "sys_exit_setns", event.TypeSetns, "", false},
		{o.TpUnshare, "sys_exit_unshare", event.TypeUnshare, "", false},
		{o.TpMount, "sys_exit_mount", event.TypeMount, "", false},
		{o.TpBpf, "sys_exit_bpf", event.TypeBPF, "", false},
		{o.TpDup, "sys_exit_dup", event.TypeDup, "", false},
		{o.TpDup2, "sys_exit_dup2", event.TypeDup, "", false},
		{o.TpDup3, "sys_exit_dup3", event.TypeDup, "", false},
		{o.TpAccept, "sys_exit_accept", event.TypeAccept, "", false},
		{o.TpAccept4, "sys_exit_accept4", event.TypeAccept, "", false},
		{o.TpListen, "sys_exit_listen", event.TypeListen, "", false},
	}
}

// syncHooks attaches the syscall programs of the types in mask and
// detaches the others: a type no rule reads costs nothing, not even the
// tracepoint's call. (The type mask check in the programs stops the
// records of a type at once; detaching follows.)
func (p *Probes) syncHooks(mask uint32) error {
	if p.tps == nil {
		p.tps = make(map[string]link.Link)
	}
	var errs []error
	for _, h := range p.hooks() {
		want := mask&(1<<h.typ) != 0 && !(h.entry && p.noSetidOld)
		l, have := p.tps[h.tp]
		switch {
		case want && !have:
			l, err := link.Tracepoint("syscalls", h.tp, h.prog, nil)
			if err != nil {
				if h.optional != "" && errors.Is(err, os.ErrNotExist) {
					if m := h.tp[len("sys_exit_"):] + " (" + h.optional + ")"; !slices.Contains(p.missing, m) {
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
	for _, h := range (&Probes{}).hooks() {
		out = append(out, Hook{h.tp, h.typ, h.optional})
	}
	return out
}
