/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Process lifecycle: exec, fork, exit (BTF-enabled scheduler tracepoints). */
#include "common.h"

#define TMPFS_MAGIC 0x01021994
#define HUGETLBFS_MAGIC 0x958458f6

/* A memfd's dentry is named "memfd:<name>" on the internal shmem (or
 * hugetlbfs) mount. */
static __always_inline bool is_memfd(struct dentry *d)
{
	unsigned long magic = BPF_CORE_READ(d, d_sb, s_magic);
	if (magic != TMPFS_MAGIC && magic != HUGETLBFS_MAGIC)
		return false;
	char pfx[6] = {};
	bpf_probe_read_kernel(pfx, sizeof(pfx), BPF_CORE_READ(d, d_name.name));
	return pfx[0] == 'm' && pfx[1] == 'e' && pfx[2] == 'm' && pfx[3] == 'f' && pfx[4] == 'd' && pfx[5] == ':';
}

/* d_unlinked(): what makes /proc/PID/exe end in " (deleted)" for a file
 * that was removed (pseudo files get it from simple_dname()). */
static __always_inline bool is_unlinked(struct dentry *d)
{
	return BPF_CORE_READ(d, d_hash.pprev) == NULL && BPF_CORE_READ(d, d_parent) != d;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct vg_config *cfg = config_get();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!cfg || !prefilter(cfg, VG_EXEC, pid_tgid >> 32))
		return 0;
	struct heap *h = heap_get();
	if (!h)
		return 0;
	struct vg_exec *e = (struct vg_exec *)h->rec;
	fill_hdr(&e->hdr, cfg, task, VG_EXEC, pid_tgid);
	e->ppid = task->real_parent->tgid;
	e->tty = tty_nr(task);
	e->start_ns = task->start_boottime;
	ns_ids(task, &e->ids);
	stdio_fill(task, e->stdio);

	__u16 flags = 0;
	__u32 off = sizeof(*e);
	__u32 pw = 0;

	/* exe: mm->exe_file, exactly what /proc/PID/exe resolves */
	struct file *exe = task->mm->exe_file;
	/* Helper reads: path_walk does arithmetic on these, which the
	 * verifier refuses on BTF pointers. */
	struct dentry *exe_dentry = BPF_CORE_READ(exe, f_path.dentry);
	__u32 pos = path_walk(h, exe_dentry, BPF_CORE_READ(exe, f_path.mnt), task, &pw);
	if (pw & PW_TRUNC)
		flags |= VG_EXEC_EXE_TRUNC;
	if (is_memfd(exe_dentry))
		flags |= VG_EXEC_EXE_MEMFD;
	if ((pw & PW_PSEUDO) || is_unlinked(exe_dentry))
		flags |= VG_EXEC_EXE_DELETED;
	if (cfg->pol_types)
		pol_track_exec(h, pid_tgid >> 32, pos);
	e->exe_len = path_copy(h, off, pos);
	off += e->exe_len;

	/* cwd */
	struct fs_struct *fs = task->fs;
	pos = path_walk(h, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt), task, &pw);
	if (pw & PW_TRUNC)
		flags |= VG_EXEC_CWD_TRUNC;
	e->cwd_len = path_copy(h, off, pos);
	off += e->cwd_len;

	/* argv: the new image's stack, just written by the kernel, so resident */
	unsigned long arg_start = task->mm->arg_start;
	unsigned long arg_end = task->mm->arg_end;
	unsigned long alen = arg_end - arg_start;
	if (alen > VG_ARGS_MAX) {
		alen = VG_ARGS_MAX;
		flags |= VG_EXEC_ARGS_TRUNC;
	}
	if (bpf_probe_read_user(&h->rec[off & REC_MASK], alen & PATH_MASK, (void *)arg_start)) {
		alen = 0;
		flags |= VG_EXEC_ARGS_FAULT;
	}
	e->args_len = alen;
	off += alen;

	/* The environment, opt-in (vg_config.env_bytes): user space keeps the
	 * names and only allow-listed values. */
	e->env_len = 0;
	if (cfg->env_bytes) {
		unsigned long env_start = task->mm->env_start;
		unsigned long elen = task->mm->env_end - env_start;
		__u32 max = cfg->env_bytes;
		__u32 room = off < REC_MASK ? REC_MASK - off : 0;
		if (max > room)
			max = room;
		if (elen > max) {
			elen = max;
			flags |= VG_EXEC_ENV_TRUNC;
		}
		if (bpf_probe_read_user(&h->rec[off & REC_MASK], elen & PATH_MASK, (void *)env_start)) {
			elen = 0;
			flags |= VG_EXEC_ENV_FAULT;
		}
		e->env_len = elen;
		off += elen;
	}

	e->hdr.flags = flags;
	if (cfg->pol_types & (1U << POL_EXEC)) {
		struct pol_in in = {.gen = cfg->pol_gen, .tgid = pid_tgid >> 32, .uid = e->hdr.uid};
		__builtin_memcpy(in.comm, e->hdr.comm, VG_COMM_LEN);
		__u32 act;
		e->hdr.policy = pol_decide(cfg, POL_EXEC, &in, &act);
		if (act == VG_POL_KILLED)
			bpf_send_signal(9); /* SIGKILL: the new image never runs */
	}
	submit(cfg, e, off, VG_EXEC);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_fork, struct task_struct *parent, struct task_struct *child)
{
	/* Threads share the process's table entry: only new processes count. */
	if (child->pid != child->tgid)
		return 0;
	struct vg_config *cfg = config_get();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!cfg || !prefilter(cfg, VG_FORK, pid_tgid >> 32))
		return 0;
	struct heap *h = heap_get();
	if (!h)
		return 0;
	struct vg_fork *e = (struct vg_fork *)h->rec;
	fill_hdr(&e->hdr, cfg, parent, VG_FORK, pid_tgid);
	e->child_pid = child->tgid;
	if (cfg->pol_types) {
		/* The child runs the parent's executable until it execs. */
		__u32 ptgid = pid_tgid >> 32, ctgid = e->child_pid;
		struct vg_pol_proc *pp = bpf_map_lookup_elem(&vg_pol_procs, &ptgid);
		if (pp)
			bpf_map_update_elem(&vg_pol_procs, &ctgid, pp, BPF_ANY);
	}
	e->_pad = 0;
	e->child_start_ns = child->start_boottime;
	ns_ids(child, &e->child_ids);
	submit(cfg, e, sizeof(*e), VG_FORK);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tp_exit, struct task_struct *task)
{
	/* Only the last thread's exit ends the process: do_exit has already
	 * decremented signal->live when the tracepoint fires. */
	if (task->signal->live.counter != 0)
		return 0;
	struct vg_config *cfg = config_get();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!cfg || !prefilter(cfg, VG_EXIT, pid_tgid >> 32))
		return 0;
	struct heap *h = heap_get();
	if (!h)
		return 0;
	struct vg_exit *e = (struct vg_exit *)h->rec;
	fill_hdr(&e->hdr, cfg, task, VG_EXIT, pid_tgid);
	if (cfg->pol_types) {
		__u32 tgid = pid_tgid >> 32;
		bpf_map_delete_elem(&vg_pol_procs, &tgid);
	}
	e->status = task->exit_code;
	e->_pad = 0;
	rate_exit(cfg, &e->hdr);
	submit(cfg, e, sizeof(*e), VG_EXIT);
	return 0;
}
