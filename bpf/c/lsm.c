/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Deny before it happens: BPF LSM programs for exec (bprm_check_security),
 * open (file_open) and connect (socket_connect). A separate object from
 * vigil.c because kernels without BPF LSM refuse to load LSM programs at
 * all; it is loaded only where bpf is an active LSM, with every map
 * replaced by the main object's (one policy, the same ring buffers).
 */
#include "common.h"

#define EPERM 1

/* The kernel's comm for an exec of filename: its last component, at most
 * 15 bytes (__set_task_comm(kbasename(filename))). The filename is in
 * h->key.data; the answer goes to h->loop_last. */
static long slash_step(__u32 i, void *vctx)
{
	struct heap *h = *(struct heap **)vctx;
	char ch = h->key.data[i & (VG_FILTER_PATH_MAX - 1)];
	if (ch == 0)
		return 1;
	if (ch == '/')
		h->loop_last = i + 1;
	return 0;
}

struct argv_ctx {
	struct heap *h;
	const char *const *argv;
	__u32 end;
};

/* Copies argv[i] to the record at h->loop_off. */
static long argv_step(__u32 i, void *vctx)
{
	struct argv_ctx *c = vctx;
	struct heap *h = c->h;
	const char *arg = NULL;
	if (bpf_probe_read_user(&arg, sizeof(arg), &c->argv[i]) || !arg)
		return 1;
	__u32 off = h->loop_off;
	if (off >= c->end || c->end - off < 2) {
		h->loop_flags |= VG_EXEC_ARGS_TRUNC;
		return 1;
	}
	__u32 room = c->end - off;
	long n = bpf_probe_read_user_str(&h->rec[off & REC_MASK], room & PATH_MASK, arg);
	if (n <= 0) {
		h->loop_flags |= VG_EXEC_ARGS_FAULT;
		return 1;
	}
	h->loop_off = off + n; /* the NUL separates arguments */
	return 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(lsm_exec, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	struct vg_config *cfg = config_get();
	if (!cfg || !(cfg->pol_types & (1U << POL_EXEC)))
		return 0;
	struct heap *h = heap_get();
	if (!h)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct task_struct *task = bpf_get_current_task_btf();
	struct pol_in in = {.gen = cfg->pol_gen, .tgid = pid_tgid >> 32, .uid = (__u32)bpf_get_current_uid_gid(), .exe_given = 1};

	/* The executable about to run, and the name it will have. */
	__u32 pw = 0;
	struct file *f = bprm->file;
	__u32 pos = path_walk(h, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), task, &pw);
	struct vg_pol_masks *m = pol_path_lookup(h, pos, in.gen, VG_POL_EXE);
	in.exe = m ? m->m[POL_EXEC] : 0;
	h->loop_last = 0;
	if (bpf_probe_read_kernel_str(h->key.data, VG_FILTER_PATH_MAX, bprm->filename) > 0) {
		struct heap *hp = h;
		bpf_loop(VG_FILTER_PATH_MAX, slash_step, &hp, 0);
	}
	bpf_probe_read_kernel_str(in.comm, sizeof(in.comm), &h->key.data[h->loop_last & (VG_FILTER_PATH_MAX - 1)]);

	__u32 act;
	__u32 word = pol_decide(cfg, POL_EXEC, &in, &act);
	if (act != VG_POL_DENIED)
		return 0; /* kill and audit are judged after the exec (process.c) */

	/* The exec will not happen, so sched_process_exec will not report
	 * it: report the attempt here. */
	struct vg_exec *e = (struct vg_exec *)h->rec;
	fill_hdr(&e->hdr, cfg, task, VG_EXEC, pid_tgid);
	__builtin_memcpy(e->hdr.comm, in.comm, VG_COMM_LEN);
	e->hdr.policy = word;
	e->ppid = task->real_parent->tgid;
	e->tty = tty_nr(task);
	e->start_ns = task->start_boottime;
	ns_ids(task, &e->ids);
	stdio_fill(task, e->stdio); /* the caller's: close-on-exec has not run yet */
	e->env_len = 0;
	__u16 flags = VG_EXEC_DENIED;
	__u32 off = sizeof(*e);
	if (pw & PW_TRUNC)
		flags |= VG_EXEC_EXE_TRUNC;
	e->exe_len = path_copy(h, off, pos);
	off += e->exe_len;
	pos = path_walk(h, BPF_CORE_READ(task, fs, pwd.dentry), BPF_CORE_READ(task, fs, pwd.mnt), task, &pw);
	if (pw & PW_TRUNC)
		flags |= VG_EXEC_CWD_TRUNC;
	e->cwd_len = path_copy(h, off, pos);
	off += e->cwd_len;
	/* argv from the caller's execve(2)/execveat(2) arguments: the new
	 * image's stack is not readable yet. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	long nr = regs->orig_ax;
	struct argv_ctx ac = {.h = h, .end = off + VG_ARGS_MAX};
	ac.argv = (const char *const *)(nr == 322 ? SC_ARG3(regs) : SC_ARG2(regs));
	h->loop_off = off;
	h->loop_flags = 0;
	bpf_loop(1024, argv_step, &ac, 0);
	__u32 end = h->loop_off;
	if (end < off || end > off + VG_ARGS_MAX)
		end = off;
	e->args_len = end - off;
	off = end;
	e->hdr.flags = flags | h->loop_flags;
	submit(cfg, e, off, VG_EXEC);
	return -EPERM;
}

SEC("lsm/file_open")
int BPF_PROG(lsm_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	struct vg_config *cfg = config_get();
	if (!cfg || !(cfg->pol_types & (1U << POL_OPEN)))
		return 0;
	struct heap *h = heap_get();
	if (!h)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct task_struct *task = bpf_get_current_task_btf();
	struct pol_in in = {.gen = cfg->pol_gen, .tgid = pid_tgid >> 32, .uid = (__u32)bpf_get_current_uid_gid()};
	bpf_get_current_comm(in.comm, sizeof(in.comm));
	__u32 pw = 0;
	__u32 pos = path_walk(h, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt), task, &pw);
	if (!(pw & (PW_TRUNC | PW_PSEUDO))) {
		struct vg_pol_masks *m = pol_path_lookup(h, pos, in.gen, VG_POL_FILE);
		in.file = m ? m->m[POL_OPEN] : 0;
	}
	__u32 act;
	__u32 word = pol_decide(cfg, POL_OPEN, &in, &act);
	if (act != VG_POL_DENIED)
		return 0;
	bpf_map_update_elem(&vg_pol_lsm, &pid_tgid, &word, BPF_ANY);
	return -EPERM;
}

SEC("lsm/socket_connect")
int BPF_PROG(lsm_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	if (ret)
		return ret;
	struct vg_config *cfg = config_get();
	if (!cfg || !(cfg->pol_types & (1U << POL_CONNECT)))
		return 0;
	__u16 family = 0;
	bpf_probe_read_kernel(&family, sizeof(family), &address->sa_family);
	__u8 addr[16] = {};
	__u16 port = 0;
	if (family == AF_INET) {
		struct sockaddr_in *in4 = (void *)address;
		bpf_probe_read_kernel(addr, 4, &in4->sin_addr);
		bpf_probe_read_kernel(&port, 2, &in4->sin_port);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *in6 = (void *)address;
		bpf_probe_read_kernel(addr, 16, &in6->sin6_addr);
		bpf_probe_read_kernel(&port, 2, &in6->sin6_port);
	}
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct pol_in in = {.gen = cfg->pol_gen, .tgid = pid_tgid >> 32, .uid = (__u32)bpf_get_current_uid_gid()};
	bpf_get_current_comm(in.comm, sizeof(in.comm));
	pol_net(&in, family, addr, bpf_ntohs(port));
	__u32 act;
	pol_decide(cfg, POL_CONNECT, &in, &act);
	return act == VG_POL_DENIED ? -EPERM : 0;
}
