/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The struct vg_sys types, at syscall exit: renames, links, symlinks,
 * chmod, ptrace, credential changes, memfd_create, module loads,
 * namespace changes, mount, bpf, socket, userfaultfd, prctl,
 * process_vm_readv/writev, and the changes of a file without an open for
 * writing (truncate, chown, utimes, xattr, chattr). Each family is switched
 * off by the type mask (prefilter) and, in user space, by not being
 * attached at all.
 */
#include "common.h"

/* A string starts below this offset or is dropped (VG_SYS_TRUNC), so that
 * the record never outgrows REC_MASK. */
#define SYS_ROOM (REC_MASK - VG_PATH_MAX)
#define SYS_NAME_MAX 256

/* exit_ctx (common.h) and the record being built. */
struct sys_ctx {
	struct exit_ctx x;
	struct vg_sys *e;
	__u32 off;
};

/* The fixed part of the record, once it is wanted. */
static __always_inline void sys_fill(struct sys_ctx *c, long ret, __u16 sc)
{
	struct vg_sys *e = (struct vg_sys *)c->x.h->rec;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->hdr, c->x.cfg, c->x.task, c->x.type, c->x.pid_tgid);
	e->ret = ret;
	e->syscall = sc;
	c->e = e;
	c->off = sizeof(*e);
}

/* Both, for the types without a path filter. */
static __always_inline bool sys_start(struct sys_ctx *c, enum vg_type type, long ret, __u16 sc)
{
	if (!exit_prep(&c->x, type, ret))
		return false;
	sys_fill(c, ret, sc);
	return true;
}

static __always_inline void sys_submit(struct sys_ctx *c)
{
	submit(c->x.cfg, c->e, c->off, c->x.type);
}

/* A NUL-terminated user string (at most max-1 bytes kept) as string i
 * (a constant once inlined). */
static __always_inline void sys_ustr(struct sys_ctx *c, int i, const void *u, __u32 max)
{
	if (!u || i >= VG_SYS_STRS)
		return; /* an absent optional argument (mount's source, ...) */
	if (c->off > SYS_ROOM) {
		c->e->hdr.flags |= VG_SYS_TRUNC;
		return;
	}
	long n = bpf_probe_read_user_str(&c->x.h->rec[c->off & REC_MASK], max, u);
	if (n <= 0) {
		c->e->hdr.flags |= VG_SYS_FAULT;
		return;
	}
	n--;
	if (n == max - 1)
		c->e->hdr.flags |= VG_SYS_TRUNC;
	c->e->len[i] = n;
	c->off += n & PATH_MASK;
}

/* A path argument: raw as string i, its base directory as string i+1. */
static __always_inline void sys_path(struct sys_ctx *c, int i, const char *u, int dfd)
{
	if (c->off > SYS_ROOM - VG_PATH_MAX) {
		c->e->hdr.flags |= VG_SYS_TRUNC;
		return;
	}
	__u16 raw = 0, base = 0;
	__u16 f = path_tail(c->x.h, c->x.task, u, dfd, &c->off, &raw, &base);
	c->e->len[i] = raw;
	c->e->len[i + 1] = base;
	if (f & (VG_OPEN_RAW_TRUNC | VG_OPEN_BASE_TRUNC))
		c->e->hdr.flags |= VG_SYS_TRUNC;
	if (f & VG_OPEN_RAW_FAULT)
		c->e->hdr.flags |= VG_SYS_FAULT;
	if (f & VG_OPEN_BASE_FAULT)
		c->e->hdr.flags |= VG_SYS_BASE_FAULT;
}

/* The absolute path of the current task's descriptor fd as string i. */
static __always_inline void sys_fdpath(struct sys_ctx *c, int i, int fd)
{
	struct file *f = fd_file(c->x.task, fd);
	if (!f) {
		c->e->hdr.flags |= VG_SYS_BASE_FAULT;
		return;
	}
	if (c->off > SYS_ROOM) {
		c->e->hdr.flags |= VG_SYS_TRUNC;
		return;
	}
	__u32 pw = 0;
	__u32 pos = path_walk(c->x.h, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), c->x.task, &pw);
	if (pw & PW_TRUNC)
		c->e->hdr.flags |= VG_SYS_TRUNC;
	__u32 n = path_copy(c->x.h, c->off, pos);
	c->e->len[i] = n;
	c->off += n;
}

/*
 * The start of a type whose record names one file: the path p (relative
 * to dfd) as strings 0 and 1, or, when p is NULL, the descriptor fd's
 * absolute path as string 0 (fd AT_FDCWD: the cwd's, for AT_EMPTY_PATH
 * without a dirfd; a descriptor argument goes through fd_arg). The path
 * filter judges either before the record is built: a descriptor's path
 * is walked first. false: not an event. After exit_prep.
 */
static __always_inline bool sys_file_start(struct sys_ctx *c, long ret, __u16 sc, const char *p, int dfd, int fd)
{
	if (p) {
		if (!file_wanted(c->x.cfg, c->x.h, c->x.type, p, NULL))
			return false;
		sys_fill(c, ret, sc);
		sys_path(c, 0, p, dfd);
		return true;
	}
	struct task_struct *task = c->x.task; /* a local: no CO-RE relocation against sys_ctx */
	struct dentry *d = NULL;
	struct vfsmount *m = NULL;
	if (fd == AT_FDCWD) { /* AT_EMPTY_PATH with no dirfd: the cwd */
		d = BPF_CORE_READ(task, fs, pwd.dentry);
		m = BPF_CORE_READ(task, fs, pwd.mnt);
	} else {
		struct file *f = fd_file(task, fd);
		if (f) {
			d = BPF_CORE_READ(f, f_path.dentry);
			m = BPF_CORE_READ(f, f_path.mnt);
		}
	}
	__u32 pos = 0, pw = 0;
	if (d && m) {
		pos = path_walk(c->x.h, d, m, task, &pw);
		if (!file_walked_wanted(c->x.cfg, c->x.h, c->x.type, pos, pw))
			return false;
	}
	sys_fill(c, ret, sc);
	if (!d || !m) {
		c->e->hdr.flags |= VG_SYS_BASE_FAULT;
		return true;
	}
	if (pw & PW_TRUNC)
		c->e->hdr.flags |= VG_SYS_TRUNC;
	__u32 n = path_copy(c->x.h, c->off, pos);
	c->e->len[0] = n;
	c->off += n;
	return true;
}

/* A descriptor argument for sys_file_start: AT_FDCWD is no descriptor
 * there (the call fails with EBADF), not the cwd. */
static __always_inline int fd_arg(__u64 v)
{
	int fd = v;
	return fd == AT_FDCWD ? -1 : fd;
}

#define SYS_EXIT(name, fn, sc)                                                                                         \
	SEC("tp/syscalls/sys_exit_" #name)                                                                             \
	int tp_##name(struct syscall_trace_exit *ctx) { return fn(ctx->ret, sc); }

/* ---- rename, link, symlink ---- */

static __always_inline int on_rename_exit(long ret, enum vg_syscall sc)
{
	enum vg_type type = VG_RENAME;
	if (sc == VG_SYS_LINK || sc == VG_SYS_LINKAT)
		type = VG_LINK;
	else if (sc == VG_SYS_SYMLINK || sc == VG_SYS_SYMLINKAT)
		type = VG_SYMLINK;
	struct sys_ctx c;
	if (!exit_prep(&c.x, type, ret))
		return 0;
	struct pt_regs *r = c.x.regs;
	/* The two paths as passed: the old (existing, target) one first. */
	const char *p1, *p2;
	int d1 = AT_FDCWD, d2 = AT_FDCWD;
	switch (sc) {
	case VG_SYS_RENAME:
	case VG_SYS_LINK:
	case VG_SYS_SYMLINK:
		p1 = (const char *)SC_ARG1(r);
		p2 = (const char *)SC_ARG2(r);
		break;
	case VG_SYS_SYMLINKAT:
		p1 = (const char *)SC_ARG1(r);
		d2 = SC_ARG2(r);
		p2 = (const char *)SC_ARG3(r);
		break;
	default: /* renameat, renameat2, linkat */
		d1 = SC_ARG1(r);
		p1 = (const char *)SC_ARG2(r);
		d2 = SC_ARG3(r);
		p2 = (const char *)SC_ARG4(r);
	}
	/* file.path is the old path of a rename, the new link of a link. */
	if (type == VG_RENAME ? !file_wanted(c.x.cfg, c.x.h, type, p1, p2) : !file_wanted(c.x.cfg, c.x.h, type, p2, p1))
		return 0;
	sys_fill(&c, ret, sc);
	if (type == VG_SYMLINK)
		sys_ustr(&c, 0, p1, VG_PATH_MAX); /* the target as stored */
	else
		sys_path(&c, 0, p1, d1);
	sys_path(&c, 2, p2, d2);
	if (sc == VG_SYS_RENAMEAT2 || sc == VG_SYS_LINKAT)
		c.e->arg[0] = (__u32)SC_ARG5(r);
	sys_submit(&c);
	return 0;
}

SYS_EXIT(rename, on_rename_exit, VG_SYS_RENAME)
SYS_EXIT(renameat, on_rename_exit, VG_SYS_RENAMEAT)
SYS_EXIT(renameat2, on_rename_exit, VG_SYS_RENAMEAT2)
SYS_EXIT(link, on_rename_exit, VG_SYS_LINK)
SYS_EXIT(linkat, on_rename_exit, VG_SYS_LINKAT)
SYS_EXIT(symlink, on_rename_exit, VG_SYS_SYMLINK)
SYS_EXIT(symlinkat, on_rename_exit, VG_SYS_SYMLINKAT)

/* ---- chmod ---- */

static __always_inline int on_chmod_exit(long ret, enum vg_syscall sc)
{
	struct sys_ctx c;
	if (!exit_prep(&c.x, VG_CHMOD, ret))
		return 0;
	struct pt_regs *r = c.x.regs;
	const char *p = NULL;
	int dfd = AT_FDCWD;
	__u32 mode, flags = 0;
	if (sc == VG_SYS_CHMOD) {
		p = (const char *)SC_ARG1(r);
		mode = SC_ARG2(r);
	} else if (sc == VG_SYS_FCHMOD) {
		mode = SC_ARG2(r); /* a descriptor: its path is walked, then filtered */
	} else { /* fchmodat, fchmodat2 */
		dfd = SC_ARG1(r);
		p = (const char *)SC_ARG2(r);
		mode = SC_ARG3(r);
		if (sc == VG_SYS_FCHMODAT2)
			flags = SC_ARG4(r);
	}
	if (!sys_file_start(&c, ret, sc, p, dfd, fd_arg(SC_ARG1(r))))
		return 0;
	c.e->arg[0] = mode;
	c.e->arg[1] = flags;
	sys_submit(&c);
	return 0;
}

SYS_EXIT(chmod, on_chmod_exit, VG_SYS_CHMOD)
SYS_EXIT(fchmod, on_chmod_exit, VG_SYS_FCHMOD)
SYS_EXIT(fchmodat, on_chmod_exit, VG_SYS_FCHMODAT)
SYS_EXIT(fchmodat2, on_chmod_exit, VG_SYS_FCHMODAT2) /* Linux 6.6+; attached where it exists */

/* ---- ptrace ---- */

/* The bit of a request in vg_config.ptrace_reqs (engine: ptraceBit). */
static __always_inline __u32 ptrace_bit(__u64 req)
{
	if (req < 32)
		return req;
	if (req >= 0x4200 && req < 0x421f)
		return 32 + (req - 0x4200);
	return 63;
}

SEC("tp/syscalls/sys_exit_ptrace")
int tp_ptrace(struct syscall_trace_exit *ctx)
{
	struct vg_config *cfg = config_get();
	if (!cfg)
		return 0;
	if (cfg->ptrace_filter) {
		struct task_struct *task = bpf_get_current_task_btf();
		__u64 req = SC_ARG1((struct pt_regs *)bpf_task_pt_regs(task));
		if (!(cfg->ptrace_reqs & (1ULL << (ptrace_bit(req) & 63)))) {
			if (prefilter(cfg, VG_PTRACE, bpf_get_current_pid_tgid() >> 32))
				count_filtered(VG_PTRACE);
			return 0;
		}
	}
	struct sys_ctx c;
	if (!sys_start(&c, VG_PTRACE, ctx->ret, VG_SYS_PTRACE))
		return 0;
	c.e->arg[0] = SC_ARG1(c.x.regs);
	c.e->arg[1] = (__u32)SC_ARG2(c.x.regs);
	sys_submit(&c);
	return 0;
}

/* ---- setuid / setgid family ----
 * The ids before the call are gone at exit: the entry saves them. */

struct setid_old {
	__u32 id[4]; /* real, effective, saved, fs */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct setid_old);
} vg_setid_old SEC(".maps");

/* Whether a set*id call asks for id 0 (arguments as passed; -1 is
 * "unchanged"). Calls that do not are dropped when vg_config.setid_root. */
static __always_inline bool setid_to_root(enum vg_syscall sc, __u32 a1, __u32 a2, __u32 a3)
{
	if (sc == VG_SYS_SETREUID || sc == VG_SYS_SETREGID)
		return a1 == 0 || a2 == 0;
	if (sc == VG_SYS_SETRESUID || sc == VG_SYS_SETRESGID)
		return a1 == 0 || a2 == 0 || a3 == 0;
	return a1 == 0;
}

static __always_inline int on_setid_enter(struct syscall_trace_enter *ctx, enum vg_type type, enum vg_syscall sc)
{
	struct vg_config *cfg = config_get();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!cfg || !prefilter(cfg, type, pid_tgid >> 32))
		return 0;
	if (cfg->setid_root && !setid_to_root(sc, ctx->args[0], ctx->args[1], ctx->args[2]))
		return 0; /* counted at exit */
	if ((cfg->name_types & (1ULL << type)) && !name_wanted(cfg, type))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	const struct cred *cr = task->cred;
	struct setid_old o;
	if (type == VG_SETUID) {
		o.id[0] = cr->uid.val;
		o.id[1] = cr->euid.val;
		o.id[2] = cr->suid.val;
		o.id[3] = cr->fsuid.val;
	} else {
		o.id[0] = cr->gid.val;
		o.id[1] = cr->egid.val;
		o.id[2] = cr->sgid.val;
		o.id[3] = cr->fsgid.val;
	}
	bpf_map_update_elem(&vg_setid_old, &pid_tgid, &o, BPF_ANY);
	return 0;
}

static __always_inline int on_setid_exit(long ret, enum vg_syscall sc)
{
	enum vg_type type = sc >= VG_SYS_SETGID ? VG_SETGID : VG_SETUID;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct vg_config *cfg = config_get();
	if (!cfg)
		return 0;
	if (cfg->setid_root) {
		struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		if (!setid_to_root(sc, SC_ARG1(r), SC_ARG2(r), SC_ARG3(r))) {
			if (prefilter(cfg, type, pid_tgid >> 32))
				count_filtered(type);
			return 0;
		}
	}
	struct setid_old *o = bpf_map_lookup_elem(&vg_setid_old, &pid_tgid);
	struct setid_old old = {.id = {-1, -1, -1, -1}};
	if (o) {
		old = *o;
		bpf_map_delete_elem(&vg_setid_old, &pid_tgid);
	}
	struct sys_ctx c;
	if (!sys_start(&c, type, ret, sc))
		return 0;
	struct pt_regs *r = c.x.regs;
	__u32 a1 = SC_ARG1(r), a2 = SC_ARG2(r), a3 = SC_ARG3(r), none = -1;
	__u32 req[4] = {none, none, none, none};
	switch (sc) {
	case VG_SYS_SETUID:
	case VG_SYS_SETGID:
		req[0] = req[1] = req[2] = req[3] = a1;
		break;
	case VG_SYS_SETREUID:
	case VG_SYS_SETREGID:
		req[0] = a1;
		req[1] = a2;
		break;
	case VG_SYS_SETRESUID:
	case VG_SYS_SETRESGID:
		req[0] = a1;
		req[1] = a2;
		req[2] = a3;
		break;
	default: /* setfsuid, setfsgid */
		req[3] = a1;
	}
	c.e->arg[0] = req[0];
	c.e->arg[1] = req[1];
	c.e->arg[2] = req[2];
	c.e->arg[3] = req[3];
	c.e->arg[4] = old.id[0] | (__u64)old.id[1] << 32;
	c.e->arg[5] = old.id[2] | (__u64)old.id[3] << 32;
	sys_submit(&c);
	return 0;
}

#define SETID(name, type, sc)                                                                                          \
	SEC("tp/syscalls/sys_enter_" #name)                                                                            \
	int tp_enter_##name(struct syscall_trace_enter *ctx) { return on_setid_enter(ctx, type, sc); }                 \
	SYS_EXIT(name, on_setid_exit, sc)

SETID(setuid, VG_SETUID, VG_SYS_SETUID)
SETID(setreuid, VG_SETUID, VG_SYS_SETREUID)
SETID(setresuid, VG_SETUID, VG_SYS_SETRESUID)
SETID(setfsuid, VG_SETUID, VG_SYS_SETFSUID)
SETID(setgid, VG_SETGID, VG_SYS_SETGID)
SETID(setregid, VG_SETGID, VG_SYS_SETREGID)
SETID(setresgid, VG_SETGID, VG_SYS_SETRESGID)
SETID(setfsgid, VG_SETGID, VG_SYS_SETFSGID)

/* ---- memfd_create ---- */

SEC("tp/syscalls/sys_exit_memfd_create")
int tp_memfd_create(struct syscall_trace_exit *ctx)
{
	struct sys_ctx c;
	if (!sys_start(&c, VG_MEMFD, ctx->ret, VG_SYS_MEMFD_CREATE))
		return 0;
	sys_ustr(&c, 0, (const char *)SC_ARG1(c.x.regs), SYS_NAME_MAX);
	c.e->arg[0] = (__u32)SC_ARG2(c.x.regs);
	sys_submit(&c);
	return 0;
}

/* ---- module loads ---- */

static __always_inline int on_module_exit(long ret, enum vg_syscall sc)
{
	struct sys_ctx c;
	if (!sys_start(&c, VG_MODULE, ret, sc))
		return 0;
	struct pt_regs *r = c.x.regs;
	if (sc == VG_SYS_FINIT_MODULE) {
		sys_fdpath(&c, 0, SC_ARG1(r));
		c.e->arg[0] = (__u32)SC_ARG3(r);
		c.e->arg[1] = (__u32)SC_ARG1(r);
		sys_ustr(&c, 4, (const char *)SC_ARG2(r), SYS_NAME_MAX);
	} else {
		c.e->arg[0] = SC_ARG2(r);
		sys_ustr(&c, 4, (const char *)SC_ARG3(r), SYS_NAME_MAX);
	}
	sys_submit(&c);
	return 0;
}

SYS_EXIT(init_module, on_module_exit, VG_SYS_INIT_MODULE)
SYS_EXIT(finit_module, on_module_exit, VG_SYS_FINIT_MODULE)

/* ---- namespaces ---- */

#define NSFS_MAGIC 0x6e736673

/* Before Linux 6.18 the type is in the operations, not in ns_common. */
struct proc_ns_operations___old {
	int type;
} __attribute__((preserve_access_index));

struct ns_common___old {
	const struct proc_ns_operations___old *ops;
} __attribute__((preserve_access_index));

/* The CLONE_NEW* type of the namespace file behind fd, 0 if it is not one. */
static __always_inline __u32 ns_type_of(struct task_struct *task, int fd)
{
	struct file *f = fd_file(task, fd);
	if (!f)
		return 0;
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	if (BPF_CORE_READ(ino, i_sb, s_magic) != NSFS_MAGIC)
		return 0;
	struct ns_common *ns = BPF_CORE_READ(ino, i_private);
	if (bpf_core_field_exists(ns->ns_type))
		return BPF_CORE_READ(ns, ns_type);
	struct ns_common___old *old = (void *)ns;
	return BPF_CORE_READ(old, ops, type);
}

SEC("tp/syscalls/sys_exit_setns")
int tp_setns(struct syscall_trace_exit *ctx)
{
	struct sys_ctx c;
	if (!sys_start(&c, VG_SETNS, ctx->ret, VG_SYS_SETNS))
		return 0;
	int fd = SC_ARG1(c.x.regs);
	c.e->arg[0] = (__u32)SC_ARG2(c.x.regs);
	c.e->arg[1] = (__u32)fd;
	c.e->arg[2] = ns_type_of(c.x.task, fd);
	sys_submit(&c);
	return 0;
}

/* CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME */
#define CLONE_NEW_ANY 0x7E020080ULL

/* unshare(2) of namespaces only: unsharing the fs struct, the file table
 * or SysV semaphores (CLONE_FS, CLONE_FILES, CLONE_SYSVSEM) alone is no
 * namespace change, and not reported (counted as filtered). */
SEC("tp/syscalls/sys_exit_unshare")
int tp_unshare(struct syscall_trace_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	if (!(SC_ARG1((struct pt_regs *)bpf_task_pt_regs(task)) & CLONE_NEW_ANY)) {
		struct vg_config *cfg = config_get();
		if (cfg && prefilter(cfg, VG_UNSHARE, bpf_get_current_pid_tgid() >> 32))
			count_filtered(VG_UNSHARE);
		return 0;
	}
	struct sys_ctx c;
	if (!sys_start(&c, VG_UNSHARE, ctx->ret, VG_SYS_UNSHARE))
		return 0;
	c.e->arg[0] = SC_ARG1(c.x.regs);
	sys_submit(&c);
	return 0;
}

/* ---- mount ---- */

SEC("tp/syscalls/sys_exit_mount")
int tp_mount(struct syscall_trace_exit *ctx)
{
	struct sys_ctx c;
	if (!sys_start(&c, VG_MOUNT, ctx->ret, VG_SYS_MOUNT))
		return 0;
	struct pt_regs *r = c.x.regs;
	sys_ustr(&c, 0, (const char *)SC_ARG1(r), SYS_NAME_MAX);
	sys_path(&c, 2, (const char *)SC_ARG2(r), AT_FDCWD);
	sys_ustr(&c, 4, (const char *)SC_ARG3(r), 64);
	c.e->arg[0] = SC_ARG4(r);
	sys_submit(&c);
	return 0;
}

/* ---- bpf ---- */

/* The commands reported: what loads, attaches or pins code and maps.
 * Lookups and updates (the bulk of bpf(2) calls) are counted as filtered. */
#define BPF_CMDS_REPORTED                                                                                              \
	((1ULL << 0) /* MAP_CREATE */ | (1ULL << 5) /* PROG_LOAD */ | (1ULL << 6) /* OBJ_PIN */ |                      \
	 (1ULL << 8) /* PROG_ATTACH */ | (1ULL << 9) /* PROG_DETACH */ | (1ULL << 17) /* RAW_TRACEPOINT_OPEN */ |      \
	 (1ULL << 18) /* BTF_LOAD */ | (1ULL << 28) /* LINK_CREATE */ | (1ULL << 29) /* LINK_UPDATE */ |                \
	 (1ULL << 36) /* TOKEN_CREATE */)

SEC("tp/syscalls/sys_exit_bpf")
int tp_bpf(struct syscall_trace_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u32 cmd = SC_ARG1(regs); /* an int: the kernel ignores the upper half */
	struct vg_config *cfg = config_get();
	if (!cfg)
		return 0;
	__u64 wanted = BPF_CMDS_REPORTED;
	if (cfg->bpf_filter)
		wanted &= cfg->bpf_cmds; /* the commands the rules name */
	if (cmd >= 64 || !(wanted & (1ULL << cmd))) {
		if (prefilter(cfg, VG_BPF, bpf_get_current_pid_tgid() >> 32))
			count_filtered(VG_BPF);
		return 0;
	}
	struct sys_ctx c;
	if (!sys_start(&c, VG_BPF, ctx->ret, VG_SYS_BPF))
		return 0;
	void *attr = (void *)SC_ARG2(regs);
	c.e->arg[0] = cmd;
	__u32 kind = 0;
	if (cmd == 5 /* PROG_LOAD: prog_type at 0, prog_name at 48 */) {
		bpf_probe_read_user(&kind, sizeof(kind), attr);
		if (!bpf_probe_read_user(&c.x.h->rec[c.off & REC_MASK], 16, attr + 48)) {
			c.e->len[0] = 16;
			c.off += 16;
		}
	} else if (cmd == 0 /* MAP_CREATE: map_type at 0, map_name at 28 */) {
		bpf_probe_read_user(&kind, sizeof(kind), attr);
		if (!bpf_probe_read_user(&c.x.h->rec[c.off & REC_MASK], 16, attr + 28)) {
			c.e->len[0] = 16;
			c.off += 16;
		}
	}
	c.e->arg[1] = kind;
	sys_submit(&c);
	return 0;
}

/* ---- socket ---- */

/* Frequent (every connection, name lookup and netlink query makes one),
 * so it copies no string: the header and three arguments. */
SEC("tp/syscalls/sys_exit_socket")
int tp_socket(struct syscall_trace_exit *ctx)
{
	struct vg_config *cfg = config_get();
	if (!cfg)
		return 0;
	if (cfg->socket_filter) {
		/* Before anything is copied: the (domain, type) pairs no rule
		 * can match (engine/argfilter.go socketFilter). */
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		__u32 dom = SC_ARG1(regs), type = SC_ARG2(regs) & 15;
		if (dom > 63)
			dom = 63;
		if (!((cfg->socket_types[dom & 63] >> type) & 1)) {
			if (prefilter(cfg, VG_SOCKET, bpf_get_current_pid_tgid() >> 32))
				count_filtered(VG_SOCKET);
			return 0;
		}
	}
	struct sys_ctx c;
	if (!sys_start(&c, VG_SOCKET, ctx->ret, VG_SYS_SOCKET))
		return 0;
	struct pt_regs *r = c.x.regs;
	c.e->arg[0] = (__u32)SC_ARG1(r);
	c.e->arg[1] = (__u32)SC_ARG2(r);
	c.e->arg[2] = (__u32)SC_ARG3(r);
	sys_submit(&c);
	return 0;
}

/* ---- userfaultfd ---- */

SEC("tp/syscalls/sys_exit_userfaultfd")
int tp_userfaultfd(struct syscall_trace_exit *ctx)
{
	struct sys_ctx c;
	if (!sys_start(&c, VG_USERFAULTFD, ctx->ret, VG_SYS_USERFAULTFD))
		return 0;
	c.e->arg[0] = (__u32)SC_ARG1(c.x.regs);
	sys_submit(&c);
	return 0;
}

/* ---- truncate ---- */

static __always_inline int on_truncate_exit(long ret, enum vg_syscall sc)
{
	struct sys_ctx c;
	if (!exit_prep(&c.x, VG_TRUNCATE, ret))
		return 0;
	struct pt_regs *r = c.x.regs;
	const char *p = sc == VG_SYS_TRUNCATE ? (const char *)SC_ARG1(r) : NULL;
	if (!sys_file_start(&c, ret, sc, p, AT_FDCWD, fd_arg(SC_ARG1(r))))
		return 0;
	c.e->arg[0] = SC_ARG2(r);
	sys_submit(&c);
	return 0;
}

SYS_EXIT(truncate, on_truncate_exit, VG_SYS_TRUNCATE)
SYS_EXIT(ftruncate, on_truncate_exit, VG_SYS_FTRUNCATE)

#define AT_EMPTY_PATH 0x1000

/* ---- chown ---- */

/* Whether a path argument is the empty string: with AT_EMPTY_PATH, the
 * call is on the dirfd itself. */
static __always_inline bool empty_path(const char *p)
{
	char first = 1;
	bpf_probe_read_user(&first, 1, p);
	return first == 0;
}

static __always_inline int on_chown_exit(long ret, enum vg_syscall sc)
{
	struct sys_ctx c;
	if (!exit_prep(&c.x, VG_CHOWN, ret))
		return 0;
	struct pt_regs *r = c.x.regs;
	const char *p = (const char *)SC_ARG1(r);
	int dfd = AT_FDCWD, fd = fd_arg(SC_ARG1(r));
	__u32 uid = SC_ARG2(r), gid = SC_ARG3(r), flags = 0;
	if (sc == VG_SYS_FCHOWN) {
		p = NULL;
	} else if (sc == VG_SYS_FCHOWNAT) {
		dfd = fd = SC_ARG1(r);
		p = (const char *)SC_ARG2(r);
		uid = SC_ARG3(r);
		gid = SC_ARG4(r);
		flags = SC_ARG5(r);
		if ((flags & AT_EMPTY_PATH) && empty_path(p))
			p = NULL;
	}
	if (!sys_file_start(&c, ret, sc, p, dfd, fd))
		return 0;
	c.e->arg[0] = uid;
	c.e->arg[1] = gid;
	c.e->arg[2] = flags;
	sys_submit(&c);
	return 0;
}

SYS_EXIT(chown, on_chown_exit, VG_SYS_CHOWN)
SYS_EXIT(fchown, on_chown_exit, VG_SYS_FCHOWN)
SYS_EXIT(lchown, on_chown_exit, VG_SYS_LCHOWN)
SYS_EXIT(fchownat, on_chown_exit, VG_SYS_FCHOWNAT)

/* ---- utime, utimes, futimesat, utimensat ---- */

static __always_inline int on_utimes_exit(long ret, enum vg_syscall sc)
{
	struct sys_ctx c;
	if (!exit_prep(&c.x, VG_UTIMES, ret))
		return 0;
	struct pt_regs *r = c.x.regs;
	const char *p = (const char *)SC_ARG1(r);
	const void *times = (const void *)SC_ARG2(r);
	int dfd = AT_FDCWD, fd = -1;
	__u32 flags = 0;
	if (sc == VG_SYS_FUTIMESAT || sc == VG_SYS_UTIMENSAT) {
		dfd = SC_ARG1(r);
		p = (const char *)SC_ARG2(r);
		times = (const void *)SC_ARG3(r);
		if (sc == VG_SYS_UTIMENSAT)
			flags = SC_ARG4(r);
		if (!p) {
			fd = fd_arg(dfd); /* futimens(fd), futimes(fd) */
		} else if ((flags & AT_EMPTY_PATH) && empty_path(p)) {
			p = NULL;
			fd = dfd;
		}
	}
	if (!sys_file_start(&c, ret, sc, p, dfd, fd))
		return 0;
	/* The times as asked, read at exit: the kernel has read them too. */
	__s64 t[4] = {};
	__u32 how = VG_UTIMES_GIVEN;
	if (!times) {
		how = VG_UTIMES_NULL;
	} else if (sc == VG_SYS_UTIME) {
		__s64 b[2]; /* struct utimbuf: actime, modtime (seconds) */
		if (bpf_probe_read_user(b, sizeof(b), times)) {
			how = VG_UTIMES_FAULT;
		} else {
			t[0] = b[0];
			t[2] = b[1];
		}
	} else if (bpf_probe_read_user(t, sizeof(t), times)) { /* two timevals or timespecs */
		how = VG_UTIMES_FAULT;
	}
	if (how == VG_UTIMES_FAULT)
		c.e->hdr.flags |= VG_SYS_FAULT;
	c.e->arg[0] = t[0];
	c.e->arg[1] = t[1];
	c.e->arg[2] = t[2];
	c.e->arg[3] = t[3];
	c.e->arg[4] = how;
	c.e->arg[5] = flags;
	sys_submit(&c);
	return 0;
}

SYS_EXIT(utime, on_utimes_exit, VG_SYS_UTIME)
SYS_EXIT(utimes, on_utimes_exit, VG_SYS_UTIMES)
SYS_EXIT(futimesat, on_utimes_exit, VG_SYS_FUTIMESAT)
SYS_EXIT(utimensat, on_utimes_exit, VG_SYS_UTIMENSAT)

/* ---- setxattr, removexattr and their variants ---- */

/* struct xattr_args of setxattrat(2) */
struct vg_xattr_args {
	__u64 value;
	__u32 size;
	__u32 flags;
};

static __always_inline int on_xattr_exit(long ret, enum vg_syscall sc)
{
	struct sys_ctx c;
	if (!exit_prep(&c.x, VG_XATTR, ret))
		return 0;
	struct pt_regs *r = c.x.regs;
	const char *p = (const char *)SC_ARG1(r), *name = (const char *)SC_ARG2(r);
	const void *value = (const void *)SC_ARG3(r);
	__u64 size = SC_ARG4(r);
	__u32 flags = SC_ARG5(r), at_flags = 0;
	int dfd = AT_FDCWD, fd = -1;
	bool set = sc == VG_SYS_SETXATTR || sc == VG_SYS_LSETXATTR || sc == VG_SYS_FSETXATTR || sc == VG_SYS_SETXATTRAT;
	if (sc == VG_SYS_FSETXATTR || sc == VG_SYS_FREMOVEXATTR) {
		p = NULL;
		fd = fd_arg(SC_ARG1(r));
	} else if (sc == VG_SYS_SETXATTRAT || sc == VG_SYS_REMOVEXATTRAT) {
		dfd = SC_ARG1(r);
		p = (const char *)SC_ARG2(r);
		at_flags = SC_ARG3(r);
		name = (const char *)SC_ARG4(r);
		if (!p || ((at_flags & AT_EMPTY_PATH) && empty_path(p))) {
			p = NULL;
			fd = dfd;
		}
		if (set) {
			struct vg_xattr_args args = {};
			bpf_probe_read_user(&args, sizeof(args), (const void *)SC_ARG5(r));
			value = (const void *)args.value;
			size = args.size;
			flags = args.flags;
		}
	}
	if (!sys_file_start(&c, ret, sc, p, dfd, fd))
		return 0;
	sys_ustr(&c, 2, name, SYS_NAME_MAX);
	if (set) {
		c.e->arg[0] = size;
		c.e->arg[1] = flags;
		/* The value's head, for user space to decode a security.capability. */
		__u32 n = size < VG_XATTR_HEAD ? size : VG_XATTR_HEAD;
		if (n && value && c.off <= SYS_ROOM) {
			if (bpf_probe_read_user(&c.x.h->rec[c.off & REC_MASK], n & 31, value)) {
				c.e->hdr.flags |= VG_SYS_FAULT;
			} else {
				c.e->len[4] = n;
				c.off += n;
			}
		}
	}
	c.e->arg[2] = at_flags;
	sys_submit(&c);
	return 0;
}

SYS_EXIT(setxattr, on_xattr_exit, VG_SYS_SETXATTR)
SYS_EXIT(lsetxattr, on_xattr_exit, VG_SYS_LSETXATTR)
SYS_EXIT(fsetxattr, on_xattr_exit, VG_SYS_FSETXATTR)
SYS_EXIT(removexattr, on_xattr_exit, VG_SYS_REMOVEXATTR)
SYS_EXIT(lremovexattr, on_xattr_exit, VG_SYS_LREMOVEXATTR)
SYS_EXIT(fremovexattr, on_xattr_exit, VG_SYS_FREMOVEXATTR)
SYS_EXIT(setxattrat, on_xattr_exit, VG_SYS_SETXATTRAT)	     /* Linux 6.13+; attached where it exists */
SYS_EXIT(removexattrat, on_xattr_exit, VG_SYS_REMOVEXATTRAT) /* Linux 6.13+ */

/* ---- chattr: ioctl(2) of the inode flags ----
 * The ioctl tracepoints fire for every ioctl of every process: both
 * programs look at the cmd first and return for any other, before any
 * map lookup. */

#define FS_IOC_SETFLAGS 0x40086602
#define FS_IOC32_SETFLAGS 0x40046602
#define FS_IOC_FSSETXATTR 0x401c5820

static __always_inline bool chattr_cmd(__u32 cmd)
{
	return cmd == FS_IOC_SETFLAGS || cmd == FS_IOC32_SETFLAGS || cmd == FS_IOC_FSSETXATTR;
}

/* The inode's flags before the call are gone at exit: the entry saves
 * them (S_* bits of i_flags), per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, __u32);
} vg_chattr_old SEC(".maps");

SEC("tp/syscalls/sys_enter_ioctl")
int tp_enter_ioctl(struct syscall_trace_enter *ctx)
{
	if (!chattr_cmd(ctx->args[1]))
		return 0;
	struct vg_config *cfg = config_get();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!cfg || !prefilter(cfg, VG_CHATTR, pid_tgid >> 32))
		return 0;
	if ((cfg->name_types & (1ULL << VG_CHATTR)) && !name_wanted(cfg, VG_CHATTR))
		return 0;
	struct file *f = fd_file(bpf_get_current_task_btf(), ctx->args[0]);
	if (!f)
		return 0; /* EBADF */
	__u32 old = BPF_CORE_READ(f, f_inode, i_flags);
	bpf_map_update_elem(&vg_chattr_old, &pid_tgid, &old, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_ioctl")
int tp_ioctl(struct syscall_trace_exit *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u32 cmd = SC_ARG2(regs);
	if (!chattr_cmd(cmd))
		return 0;
	struct sys_ctx c;
	if (!exit_prep(&c.x, VG_CHATTR, ctx->ret))
		return 0;
	/* Unknown (the entry missed the call): no flags, so that every flag
	 * asked for counts as added. */
	__u32 *o = bpf_map_lookup_elem(&vg_chattr_old, &c.x.pid_tgid);
	__u32 old = 0;
	if (o) {
		old = *o;
		bpf_map_delete_elem(&vg_chattr_old, &c.x.pid_tgid);
	}
	if (!sys_file_start(&c, ctx->ret, VG_SYS_IOCTL, NULL, AT_FDCWD, fd_arg(SC_ARG1(regs))))
		return 0;
	/* An int for SETFLAGS; struct fsxattr starts with fsx_xflags. */
	__u32 flags = 0;
	if (bpf_probe_read_user(&flags, sizeof(flags), (const void *)SC_ARG3(regs)))
		c.e->hdr.flags |= VG_SYS_FAULT;
	c.e->arg[0] = flags;
	c.e->arg[1] = cmd;
	c.e->arg[2] = old;
	sys_submit(&c);
	return 0;
}
/* ---- prctl ---- */

#define PR_SET_NAME 15
#define PR_GET_AUXV 0x41555856
#define PR_SET_VMA 0x53564d41
#define PR_SET_PTRACER 0x59616d61

/* The bit of an option in vg_config.prctl_opts (engine: prctlBit): the
 * options numbered from 0 by their own number, the three with magic
 * numbers next, every other one on the last bit. */
static __always_inline __u32 prctl_bit(__u32 opt)
{
	if (opt < 124)
		return opt;
	if (opt == PR_GET_AUXV)
		return 124;
	if (opt == PR_SET_VMA)
		return 125;
	if (opt == PR_SET_PTRACER)
		return 126;
	return 127;
}

/* Many programs call prctl at start-up and every thread of a Go, Java or
 * browser process names itself, so the options no rule names end here,
 * before anything is copied. */
SEC("tp/syscalls/sys_exit_prctl")
int tp_prctl(struct syscall_trace_exit *ctx)
{
	struct vg_config *cfg = config_get();
	if (!cfg)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	/* The option is an int: the kernel ignores the upper bits, and so
	 * must the filter, or they would hide any option from it. */
	__u32 opt = SC_ARG1((struct pt_regs *)bpf_task_pt_regs(task));
	if (cfg->prctl_filter) {
		__u32 bit = prctl_bit(opt);
		/* bit < 128, but clang drops the & 1 knowing it and Linux
		 * 6.1's verifier does not: the barrier keeps the mask. */
		__u32 word = bit >> 6;
		barrier_var(word);
		if (!((cfg->prctl_opts[word & 1] >> (bit & 63)) & 1)) {
			if (prefilter(cfg, VG_PRCTL, bpf_get_current_pid_tgid() >> 32))
				count_filtered(VG_PRCTL);
			return 0;
		}
	}
	struct sys_ctx c;
	if (!sys_start(&c, VG_PRCTL, ctx->ret, VG_SYS_PRCTL))
		return 0;
	__u64 arg2 = SC_ARG2(c.x.regs);
	c.e->arg[0] = opt;
	c.e->arg[1] = arg2;
	if (opt == PR_SET_NAME) {
		/* What the kernel copied: at most 15 bytes and a NUL. */
		long n = bpf_probe_read_user_str(&c.x.h->rec[c.off & REC_MASK], VG_COMM_LEN, (const void *)arg2);
		if (n > 0) {
			c.e->len[0] = n - 1;
			c.off += (n - 1) & (VG_COMM_LEN - 1);
		} else {
			c.e->hdr.flags |= VG_SYS_FAULT;
		}
	}
	sys_submit(&c);
	return 0;
}

/* ---- process_vm_readv, process_vm_writev ---- */

/* The target is named in user space from the process table, as ptrace's
 * is: the record carries only the pid the caller passed. */
static __always_inline int on_process_vm_exit(long ret, enum vg_syscall sc)
{
	struct sys_ctx c;
	if (!sys_start(&c, VG_PROCESS_VM, ret, sc))
		return 0;
	c.e->arg[0] = (__u32)SC_ARG1(c.x.regs);
	sys_submit(&c);
	return 0;
}

SYS_EXIT(process_vm_readv, on_process_vm_exit, VG_SYS_PROCESS_VM_READV)
SYS_EXIT(process_vm_writev, on_process_vm_exit, VG_SYS_PROCESS_VM_WRITEV)
