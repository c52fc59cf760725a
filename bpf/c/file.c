/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* File opens: open, openat, openat2, creat, at syscall exit. */
#include "common.h"

#define AT_FDCWD -100
#define FILTER_MASK (VG_FILTER_PATH_MAX - 1)

/*
 * Whether the end of a path is one some rule names (vg_suffixes): the path
 * is buf[last-len+1..last]; its last VG_SUFFIX_MAX-1 bytes are looked up,
 * reversed, under tag. need as in vg_open_paths.
 */
static __always_inline bool suffix_wanted(struct heap *h, __u8 tag, const __u8 *buf, __u32 last, __u32 len,
					  __u32 oflags)
{
	if (len >= 2) {
		__u32 zero = 0;
		struct vg_suffix_ends *se = bpf_map_lookup_elem(&vg_suffix_ends, &zero);
		if (se) {
			/* The masks must reach the verifier: clang drops them
			 * where it knows the range, which older verifiers (6.1,
			 * 6.12) do not, hence the barriers and the explicit
			 * bound. */
			__u32 a = last - 1, b = last;
			barrier_var(a);
			barrier_var(b);
			__u64 e2 = (__u64)buf[a & FILTER_MASK] << 8 | buf[b & FILTER_MASK];
			__u64 i = e2 >> 6;
			barrier_var(i);
			if (i < 1024 && !((se->w[i] >> (e2 & 63)) & 1))
				return false;
		}
	}
	struct vg_suffix_key *k = &h->skey;
	k->data[0] = tag;
	__u32 m = len < VG_SUFFIX_MAX - 1 ? len : VG_SUFFIX_MAX - 1;
	for (__u32 i = 0; i < VG_SUFFIX_MAX - 1; i++) {
		if (i >= m)
			break;
		k->data[(i + 1) & (VG_SUFFIX_MAX - 1)] = buf[(last - i) & FILTER_MASK];
	}
	k->prefixlen = (m + 1) * 8;
	__u32 *need = bpf_map_lookup_elem(&vg_suffixes, k);
	return need && (*need == 0 || (oflags & *need));
}

/*
 * Whether some rule may match an open of path p (n bytes, NUL at p[n]) with
 * these flags. Rules match file.path, the lexically cleaned path; the raw
 * path is compared instead only when cleaning would not change it: no
 * "//", no "/." (this also passes dotfiles, harmlessly), no trailing "/".
 */
static __always_inline bool open_wanted(struct vg_config *cfg, struct heap *h, __u32 n, __u32 oflags)
{
	struct vg_path_key *k = &h->key;
	k->prefixlen = (n + 1) * 8;
	__u32 *need = bpf_map_lookup_elem(&vg_open_paths, k);
	if (need && (*need == 0 || (oflags & *need)))
		return true;
	if ((cfg->suffix_types & (1ULL << VG_OPEN)) && suffix_wanted(h, VG_OPEN << 1, k->data, n - 1, n, oflags))
		return true;
	if (n > 1 && k->data[(n - 1) & FILTER_MASK] == '/')
		return true;
	for (__u32 i = 0; i < VG_FILTER_PATH_MAX - 1; i++) {
		if (i >= n)
			break;
		if (k->data[i] == '/') {
			__u8 next = k->data[i + 1];
			if (next == '/' || next == '.')
				return true;
		}
	}
	return false;
}

/*
 * Whether some rule may match an event of a path type whose path (tag's
 * low bit 0) or second path (1) is upath: a clean absolute path of at
 * most 254 bytes that no entry of vg_file_paths covers cannot. Anything
 * else (relative, unclean, too long, unreadable) may.
 */
static __always_inline bool file_path_wanted(struct vg_config *cfg, struct heap *h, __u8 tag, const char *upath)
{
	struct vg_fpath_key *k = &h->fkey;
	long n = bpf_probe_read_user_str(&k->data[1], VG_FILTER_PATH_MAX - 1, upath);
	/* n counts the NUL; a path that filled the key may be longer */
	if (n <= 1 || n >= VG_FILTER_PATH_MAX - 1 || k->data[1] != '/')
		return true;
	n--;
	k->data[0] = tag;
	k->prefixlen = (n + 2) * 8; /* the tag, the path and its NUL */
	if (bpf_map_lookup_elem(&vg_file_paths, k))
		return true;
	if ((cfg->suffix_types & (1ULL << (tag >> 1))) && suffix_wanted(h, tag, k->data, n, n, 0))
		return true;
	if (n > 1 && k->data[n & FILTER_MASK] == '/')
		return true; /* trailing slash: cleaning changes it */
	for (__u32 i = 1; i < VG_FILTER_PATH_MAX - 1; i++) {
		if (i > (__u32)n)
			break;
		if (k->data[i] == '/') {
			__u8 next = k->data[(i + 1) & FILTER_MASK];
			if (next == '/' || next == '.')
				return true;
		}
	}
	return false;
}

/* The path filter of an event type whose paths are upath and second (NULL:
 * none): false when no rule can match it (counted as filtered). */
static __always_inline bool file_wanted(struct vg_config *cfg, struct heap *h, enum vg_type type,
					const char *upath, const char *second)
{
	if (!(cfg->file_filter & (1ULL << type)))
		return true;
	if (file_path_wanted(cfg, h, type << 1, upath))
		return true;
	if (second && file_path_wanted(cfg, h, (type << 1) | 1, second))
		return true;
	count_filtered(type);
	return false;
}

/*
 * The path filter of an event type whose file is a descriptor, judged on
 * its path as walked (pos, PW_* flags pw; path_walk): such a path is
 * absolute and clean, so only a cut one (or one too long for the key)
 * needs to pass unjudged. false: no rule can match it (counted).
 */
static __always_inline bool file_walked_wanted(struct vg_config *cfg, struct heap *h, enum vg_type type, __u32 pos,
					       __u32 pw)
{
	if (!(cfg->file_filter & (1ULL << type)))
		return true;
	__u32 n = VG_PATH_MAX - pos;
	if ((pw & PW_TRUNC) || n >= VG_FILTER_PATH_MAX - 2)
		return true;
	struct vg_fpath_key *k = &h->fkey;
	k->data[0] = type << 1;
	if (bpf_probe_read_kernel(&k->data[1], n & FILTER_MASK, &h->path[pos & PATH_MASK]))
		return true;
	k->data[(n + 1) & FILTER_MASK] = 0;
	k->prefixlen = (n + 2) * 8; /* the tag, the path and its NUL */
	if (bpf_map_lookup_elem(&vg_file_paths, k))
		return true;
	count_filtered(type);
	return false;
}

/*
 * A path in a record's tail at *off: the raw path as passed, then, for a
 * relative path, the directory it is relative to (the cwd, or dfd's
 * path). Sets *raw_len and *base_len, advances *off, returns the
 * VG_OPEN_* flags.
 */
static __always_inline __u16 path_tail(struct heap *h, struct task_struct *task, const char *upath, int dfd,
				       __u32 *offp, __u16 *raw_len, __u16 *base_len)
{
	__u16 flags = 0;
	__u32 off = *offp;
	long n = bpf_probe_read_user_str(&h->rec[off & REC_MASK], VG_PATH_MAX, upath);
	if (n <= 0) {
		flags |= VG_OPEN_RAW_FAULT;
		n = 0;
	} else {
		n--; /* the NUL */
		if (n == VG_PATH_MAX - 1)
			flags |= VG_OPEN_RAW_TRUNC;
	}
	*raw_len = n;
	char first = h->rec[off & REC_MASK];
	off += n & PATH_MASK;

	*base_len = 0;
	if (n > 0 && first != '/') {
		/* A relative path: send the directory it is relative to. */
		struct dentry *dir = NULL;
		struct vfsmount *mnt = NULL;
		if (dfd == AT_FDCWD) {
			dir = BPF_CORE_READ(task, fs, pwd.dentry);
			mnt = BPF_CORE_READ(task, fs, pwd.mnt);
		} else {
			struct file *f = fd_file(task, dfd);
			if (f) {
				dir = BPF_CORE_READ(f, f_path.dentry);
				mnt = BPF_CORE_READ(f, f_path.mnt);
			}
		}
		if (dir && mnt) {
			__u32 pw = 0;
			__u32 pos = path_walk(h, dir, mnt, task, &pw);
			if (pw & PW_TRUNC)
				flags |= VG_OPEN_BASE_TRUNC;
			__u32 blen = path_copy(h, off, pos);
			*base_len = blen;
			off += blen;
		} else {
			flags |= VG_OPEN_BASE_FAULT;
		}
	}
	*offp = off;
	return flags;
}

/* Send a struct vg_open record (open, unlink, mkdir): the fixed part, then
 * the path tail. */
static __always_inline void path_record(struct exit_ctx *c, long ret, enum vg_syscall sc, const char *upath,
					int dfd, __u32 oflags, __u32 mode, __u32 pword)
{
	struct vg_open *e = (struct vg_open *)c->h->rec;
	fill_hdr(&e->hdr, c->cfg, c->task, c->type, c->pid_tgid);
	e->hdr.policy = pword;
	e->ret = ret;
	e->oflags = oflags;
	e->mode = mode;
	e->dfd = dfd;
	e->syscall = sc;
	__u32 off = sizeof(*e);
	e->hdr.flags = path_tail(c->h, c->task, upath, dfd, &off, &e->raw_len, &e->base_len);
	submit(c->cfg, e, off, c->type);
}

/*
 * Only the exit tracepoints are used: the arguments are still in the task's
 * saved user registers (bpf_task_pt_regs), and the path is certainly paged in
 * once the kernel has read it. One program per syscall instead of an
 * enter/exit pair halves the cost and needs no map to pair them.
 */
static __always_inline int on_open_exit(long ret, enum vg_syscall sc)
{
	if (restarting(ret))
		return 0;
	struct vg_config *cfg = config_get();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!cfg || !prefilter(cfg, VG_OPEN, pid_tgid >> 32))
		return 0;
	struct heap *h = heap_get();
	if (!h)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

	int dfd = AT_FDCWD;
	const char *upath;
	__u32 oflags = 0, mode = 0;
	switch (sc) {
	case VG_SYS_OPEN:
		upath = (const char *)SC_ARG1(regs);
		oflags = SC_ARG2(regs);
		mode = SC_ARG3(regs);
		break;
	case VG_SYS_CREAT:
		upath = (const char *)SC_ARG1(regs);
		oflags = 0x241; /* O_CREAT|O_WRONLY|O_TRUNC, as creat(2) defines it */
		mode = SC_ARG2(regs);
		break;
	case VG_SYS_OPENAT2: {
		dfd = SC_ARG1(regs);
		upath = (const char *)SC_ARG2(regs);
		struct open_how how = {};
		bpf_probe_read_user(&how, sizeof(how), (void *)SC_ARG3(regs));
		oflags = how.flags;
		mode = how.mode;
		break;
	}
	default:
		dfd = SC_ARG1(regs);
		upath = (const char *)SC_ARG2(regs);
		oflags = SC_ARG3(regs);
		mode = SC_ARG4(regs);
	}

	/* Enforcement first: the file actually opened (its path walked from
	 * the new descriptor, symlinks and ".." resolved) against the open
	 * policy. The kernel acts on successful opens only; LSM (file_open)
	 * denies before they happen where it exists. */
	__u32 pword = 0;
	if (ret == -1 /* EPERM */) {
		/* Refused by the LSM program (lsm.c): it left its word. */
		__u32 *w = bpf_map_lookup_elem(&vg_pol_lsm, &pid_tgid);
		if (w) {
			pword = *w;
			bpf_map_delete_elem(&vg_pol_lsm, &pid_tgid);
		}
	}
	if ((cfg->pol_types & (1U << POL_OPEN)) && ret >= 0) {
		struct file *of = fd_file(task, ret);
		if (of) {
			struct pol_in in = {.gen = cfg->pol_gen, .tgid = pid_tgid >> 32, .uid = (__u32)bpf_get_current_uid_gid()};
			bpf_get_current_comm(in.comm, sizeof(in.comm));
			__u32 pw = 0;
			__u32 pos = path_walk(h, BPF_CORE_READ(of, f_path.dentry), BPF_CORE_READ(of, f_path.mnt), task, &pw);
			if (!(pw & (PW_TRUNC | PW_PSEUDO))) {
				struct vg_pol_masks *m = pol_path_lookup(h, pos, in.gen, VG_POL_FILE);
				in.file = m ? m->m[POL_OPEN] : 0;
			}
			__u32 act;
			pword = pol_decide(cfg, POL_OPEN, &in, &act);
			if (act == VG_POL_KILLED)
				bpf_send_signal(9); /* SIGKILL before the descriptor is used */
		}
	}

	/* Judge the open before building anything: most opens a rule set does
	 * not care about end here. The path is read into the filter key; it
	 * is read again, whole, only for opens that are kept. */
	if (cfg->open_filter && !pword) {
		long kn = bpf_probe_read_user_str(h->key.data, VG_FILTER_PATH_MAX, upath);
		/* kn counts the NUL; a path that filled the key may be longer */
		if (kn > 1 && kn < VG_FILTER_PATH_MAX && h->key.data[0] == '/' &&
		    !open_wanted(cfg, h, kn - 1, oflags)) {
			count_filtered(VG_OPEN);
			return 0;
		}
	}

	struct exit_ctx c = {.cfg = cfg, .h = h, .task = task, .pid_tgid = pid_tgid, .type = VG_OPEN};
	path_record(&c, ret, sc, upath, dfd, oflags, mode, pword);
	return 0;
}

SEC("tp/syscalls/sys_exit_open")
int tp_open(struct syscall_trace_exit *ctx) { return on_open_exit(ctx->ret, VG_SYS_OPEN); }

SEC("tp/syscalls/sys_exit_openat")
int tp_openat(struct syscall_trace_exit *ctx) { return on_open_exit(ctx->ret, VG_SYS_OPENAT); }

SEC("tp/syscalls/sys_exit_openat2")
int tp_openat2(struct syscall_trace_exit *ctx) { return on_open_exit(ctx->ret, VG_SYS_OPENAT2); }

SEC("tp/syscalls/sys_exit_creat")
int tp_creat(struct syscall_trace_exit *ctx) { return on_open_exit(ctx->ret, VG_SYS_CREAT); }

/*
 * Removals and new directories: unlink(2), unlinkat(2), rmdir(2) (type
 * VG_UNLINK; oflags: unlinkat's flags, AT_REMOVEDIR for rmdir) and
 * mkdir(2), mkdirat(2) (VG_MKDIR; mode: the mode argument), at syscall
 * exit, as struct vg_open records: the same raw path and base tail.
 */
static __always_inline int on_unlink_exit(long ret, enum vg_syscall sc)
{
	struct exit_ctx c;
	if (!exit_prep(&c, sc == VG_SYS_MKDIR || sc == VG_SYS_MKDIRAT ? VG_MKDIR : VG_UNLINK, ret))
		return 0;
	struct pt_regs *regs = c.regs;
	int dfd = AT_FDCWD;
	const char *upath;
	__u32 uflags = 0, mode = 0;
	if (sc == VG_SYS_UNLINKAT) {
		dfd = SC_ARG1(regs);
		upath = (const char *)SC_ARG2(regs);
		uflags = SC_ARG3(regs);
	} else if (sc == VG_SYS_MKDIRAT) {
		dfd = SC_ARG1(regs);
		upath = (const char *)SC_ARG2(regs);
		mode = SC_ARG3(regs);
	} else if (sc == VG_SYS_MKDIR) {
		upath = (const char *)SC_ARG1(regs);
		mode = SC_ARG2(regs);
	} else {
		upath = (const char *)SC_ARG1(regs);
		if (sc == VG_SYS_RMDIR)
			uflags = 0x200; /* AT_REMOVEDIR */
	}
	if (!file_wanted(c.cfg, c.h, c.type, upath, NULL))
		return 0;
	path_record(&c, ret, sc, upath, dfd, uflags, mode, 0);
	return 0;
}

SEC("tp/syscalls/sys_exit_unlink")
int tp_unlink(struct syscall_trace_exit *ctx) { return on_unlink_exit(ctx->ret, VG_SYS_UNLINK); }

SEC("tp/syscalls/sys_exit_unlinkat")
int tp_unlinkat(struct syscall_trace_exit *ctx) { return on_unlink_exit(ctx->ret, VG_SYS_UNLINKAT); }

SEC("tp/syscalls/sys_exit_rmdir")
int tp_rmdir(struct syscall_trace_exit *ctx) { return on_unlink_exit(ctx->ret, VG_SYS_RMDIR); }

SEC("tp/syscalls/sys_exit_mkdir")
int tp_mkdir(struct syscall_trace_exit *ctx) { return on_unlink_exit(ctx->ret, VG_SYS_MKDIR); }

SEC("tp/syscalls/sys_exit_mkdirat")
int tp_mkdirat(struct syscall_trace_exit *ctx) { return on_unlink_exit(ctx->ret, VG_SYS_MKDIRAT); }
