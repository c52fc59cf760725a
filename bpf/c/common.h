/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps and helpers shared by every hook family. */
#ifndef VIGIL_COMMON_H
#define VIGIL_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "vigil.h"

/*
 * Reads through BTF pointers (tp_btf arguments, bpf_get_current_task_btf(),
 * bpf_task_pt_regs()) are plain loads that the verifier guards against
 * faults, instead of a bpf_probe_read_kernel() call per hop (what
 * BPF_CORE_READ costs): with bpf_stats, the connect probe went from 1.28
 * to 1.03 us when its regs, cred and fd-table reads became loads.
 * BPF_CORE_READ stays for pointers read
 * from memory the verifier does not type (void *, arrays indexed at run
 * time, values copied with a helper).
 *
 * Syscall arguments, from the pt_regs of bpf_task_pt_regs() (x86-64 ABI).
 */
#define SC_ARG1(r) ((r)->di)
#define SC_ARG2(r) ((r)->si)
#define SC_ARG3(r) ((r)->dx)
#define SC_ARG4(r) ((r)->r10)
#define SC_ARG5(r) ((r)->r8)

/*
 * A syscall interrupted by a signal exits with a kernel-internal restart
 * code and runs again (ERESTARTSYS, ERESTARTNOINTR, ERESTART_RESTARTBLOCK;
 * ERESTARTNOHAND too unless a handler turns it into EINTR): its first exit
 * is not an event, the one after the restart is.
 */
static __always_inline bool restarting(long ret)
{
	return ret == -512 || ret == -513 || ret == -514 || ret == -516;
}

#define REC_SIZE 20480 /* > 16383 (offset mask) + 4095 (largest copy) */
#define REC_MASK 16383
#define PATH_MASK (VG_PATH_MAX - 1)

/*
 * Two ring buffers, so that a flood of one class cannot crowd out another:
 * vg_events, the priority ring, carries process lifecycle, network,
 * privilege and enforcement records and the flood records; vg_bulk
 * carries the high-volume file types (vg_config.bulk_types, from the
 * class column of the event-type table). User space sets both sizes.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} vg_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} vg_bulk SEC(".maps");

/* Per-process budgets (struct vg_rate), by tgid | bulk << 32. LRU: an
 * evicted process starts again with a full bucket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct vg_rate);
} vg_rates SEC(".maps");

/* Records over their process's rate, not sent, per CPU, by enum vg_type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VG_TYPE_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vg_limited SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_config);
} vg_cfg SEC(".maps");

/* Ring buffer reserve failures, per CPU, indexed by enum vg_type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VG_TYPE_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vg_drops SEC(".maps");

/* Events the kernel-side filters dropped, per CPU, by enum vg_type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VG_TYPE_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vg_filtered SEC(".maps");

/* Paths some rule may match on open (see struct vg_path_key). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 8192);
	__type(key, struct vg_path_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vg_open_paths SEC(".maps");

/* Paths the rules of the path-filtered types require (vg_config.file_filter). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 8192);
	__type(key, struct vg_fpath_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vg_file_paths SEC(".maps");

/* Path ends the rules require (vg_config.suffix_types). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct vg_suffix_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vg_suffixes SEC(".maps");

/* The last two bytes of every path end in vg_suffixes, as a bitmap (bit
 * b[n-2] << 8 | b[n-1]): a path whose two last bytes no entry has is
 * not looked up there (bpf/filter.go writes it with the entries). */
struct vg_suffix_ends {
	__u64 w[1024];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_suffix_ends);
} vg_suffix_ends SEC(".maps");

/* Command names some rule of a type requires (vg_config.name_types). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct vg_name_key);
	__type(value, __u8);
} vg_names SEC(".maps");

/* Per-CPU scratch: records are built here, then copied to the ring buffer
 * at their real size, so a short record does not take the space of the
 * largest one. path is where path walks write, right to left. */
struct heap {
	__u8 rec[REC_SIZE];
	char path[VG_PATH_MAX * 2];
	struct vg_path_key key;
	struct vg_fpath_key fkey;
	struct vg_suffix_key skey;
	struct vg_pol_path_key pkey;
	/* State of the LSM programs' loops (lsm.c), kept in map memory: on
	 * the stack the verifier tracks it exactly and explores every
	 * iteration (Linux 6.12 gave up after a million instructions). */
	__u32 loop_off;
	__u32 loop_last;
	__u32 loop_flags;
	__u32 _loop_pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct heap);
} vg_heap SEC(".maps");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline struct heap *heap_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&vg_heap, &zero);
}

static __always_inline struct vg_config *config_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&vg_cfg, &zero);
}

/*
 * The kernel-side filter: is an event of this type from the current
 * process wanted at all? It runs first, before anything is read or copied.
 * Rule-derived filters (path prefixes, names) belong next to it.
 */
static __always_inline bool prefilter(struct vg_config *cfg, enum vg_type type, __u32 tgid)
{
	if (!(cfg->type_mask & (1ULL << type)))
		return false;
	if (tgid == cfg->self_tgid)
		return false;
	if (cfg->target_tgid && tgid != cfg->target_tgid)
		return false;
	return true;
}

static __always_inline void count_filtered(enum vg_type type)
{
	__u32 key = type;
	__u64 *n = bpf_map_lookup_elem(&vg_filtered, &key);
	if (n)
		*n += 1;
}

/* The name filter of the syscall types: when the rules of a type all
 * require some command names, other processes' events end here. */
static __always_inline bool name_wanted(struct vg_config *cfg, enum vg_type type)
{
	if (!(cfg->name_types & (1ULL << type)))
		return true;
	struct vg_name_key k = {.type = type};
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	if (bpf_map_lookup_elem(&vg_names, &k))
		return true;
	count_filtered(type);
	return false;
}

static __always_inline __u64 cgroup_id_of(struct vg_config *cfg, struct task_struct *task)
{
	int ssid = cfg->cgroup_v1_subsys;
	if (ssid < 0)
		return bpf_get_current_cgroup_id();
	/* A v1 hierarchy: the id of the task's cgroup in that subsystem. */
	struct cgroup_subsys_state *css = BPF_CORE_READ(task, cgroups, subsys[ssid & 15]);
	return BPF_CORE_READ(css, cgroup, kn, id);
}

/* A capability set of a cred into dst: a __u64 since Linux 6.3, before it
 * __u32 cap[2], the same 8 bytes. */
#define CRED_CAPS(dst, cred, set)                                                                                      \
	do {                                                                                                           \
		if (bpf_core_field_exists((cred)->set.val)) {                                                          \
			(dst) = (cred)->set.val;                                                                       \
		} else {                                                                                               \
			(dst) = 0;                                                                                     \
			bpf_probe_read_kernel(&(dst), sizeof(dst), &(cred)->set);                                      \
		}                                                                                                      \
	} while (0)

static __always_inline void fill_hdr(struct vg_hdr *h, struct vg_config *cfg, struct task_struct *task,
				     enum vg_type type, __u64 pid_tgid)
{
	h->type = type;
	h->flags = 0;
	h->ktime = bpf_ktime_get_boot_ns();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	__u64 ug = bpf_get_current_uid_gid();
	h->uid = (__u32)ug;
	h->gid = ug >> 32;
	h->euid = task->cred->euid.val;
	h->policy = 0;
	h->cgroup_id = cgroup_id_of(cfg, task);
	/* Zeroed first: before Linux 6.2 bpf_get_current_comm() does not pad
	 * after the NUL (the policy's name keys must be exact). */
	__builtin_memset(h->comm, 0, sizeof(h->comm));
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	const struct cred *cred = task->cred;
	CRED_CAPS(h->cap_eff, cred, cap_effective);
	CRED_CAPS(h->cap_prm, cred, cap_permitted);
	CRED_CAPS(h->cap_inh, cred, cap_inheritable);
	h->loginuid = bpf_core_field_exists(task->loginuid) ? task->loginuid.val : (__u32)-1;
	h->_pad2 = 0;
}

/* When the reader was last woken (CLOCK_BOOTTIME ns). Updated without
 * synchronisation: a lost race costs one extra wakeup, nothing more. The
 * reader zeroes it when it stops polling. */
__u64 vg_last_wakeup = 0;

/* 1 while the reader polls the ring on its own (every wakeup_ns at most),
 * so that records need no wakeup; written by the reader through the
 * memory-mapped .bss. Waking a sleeping reader is the costly part of
 * sending a record (an inter-processor interrupt, a VM exit in a guest),
 * and under load the reader never sleeps long, so this spares the traced
 * programs nearly all wakeups. 0 when the kernel cannot map .bss: then
 * every wakeup_ns. */
volatile __u32 vg_reader_polling = 0;

static __always_inline __u64 ring_avail(bool bulk)
{
	if (bulk)
		return bpf_ringbuf_query(&vg_bulk, BPF_RB_AVAIL_DATA);
	return bpf_ringbuf_query(&vg_events, BPF_RB_AVAIL_DATA);
}

static __always_inline long ring_output(bool bulk, void *rec, __u32 size, __u64 flags)
{
	if (bulk)
		return bpf_ringbuf_output(&vg_bulk, rec, size, flags);
	return bpf_ringbuf_output(&vg_events, rec, size, flags);
}

/* One reader drains both rings (one epoll over both), so a wakeup through
 * either wakes it for both, and the rate of wakeups (vg_last_wakeup) is
 * shared; the data waiting is each ring's own. */
static __always_inline bool want_wakeup(struct vg_config *cfg, __u64 now, bool bulk)
{
	if (now - vg_last_wakeup < cfg->wakeup_ns)
		return false;
	return !vg_reader_polling || ring_avail(bulk) >= cfg->wakeup_bytes;
}

static __always_inline void count_drop(enum vg_type type)
{
	__u32 key = type;
	__u64 *n = bpf_map_lookup_elem(&vg_drops, &key);
	if (n)
		*n += 1;
}

/*
 * Send a record to one ring. The reader is woken when it is not
 * polling (asleep until woken), or when wakeup_bytes are waiting; at most
 * once per wakeup_ns either way.
 *
 * The reader stops polling by clearing vg_reader_polling, then looking
 * once more for records. A record committed between our look at the flag
 * and that clearing would wait for the reader's next idle timeout, so the
 * flag is read again after the commit (bpf_ringbuf_output's commit is a
 * full barrier, and so is the reader's store): one of the two sides sees
 * the other, and if it is this one a bare VG_WAKE record wakes the reader.
 */
static __always_inline void ring_send(struct vg_config *cfg, void *rec, __u32 size, enum vg_type type, bool bulk)
{
	__u64 now = ((struct vg_hdr *)rec)->ktime;
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (want_wakeup(cfg, now, bulk)) {
		flags = BPF_RB_FORCE_WAKEUP;
		vg_last_wakeup = now;
	}
	((struct vg_hdr *)rec)->size = size;
	if (ring_output(bulk, rec, size & REC_MASK, flags)) {
		count_drop(type);
		return;
	}
	if (flags == BPF_RB_NO_WAKEUP && !vg_reader_polling && now - vg_last_wakeup >= cfg->wakeup_ns) {
		struct vg_wake w = {.type = VG_WAKE, .size = sizeof(w)};
		vg_last_wakeup = now;
		ring_output(bulk, &w, sizeof(w), BPF_RB_FORCE_WAKEUP);
	}
}

/* Tell user space that the process of hdr started (VG_FLOOD_START) or
 * stopped (VG_FLOOD_END) going over its rate on one ring. A lost flood
 * record counts as a drop of the type it is about. */
static __always_inline void flood_record(struct vg_config *cfg, struct vg_hdr *hdr, struct vg_rate *b, __u16 flag,
					 __u32 bulk, __u64 limited)
{
	struct vg_flood f;
	__builtin_memcpy(&f.hdr, hdr, sizeof(f.hdr));
	f.hdr.type = VG_FLOOD;
	f.hdr.flags = flag;
	f.hdr.policy = 0;
	f.event_type = b->event_type;
	f.bulk = bulk;
	f.limited = limited;
	ring_send(cfg, &f, sizeof(f), b->event_type, false);
}

/* The end of a flood, once whatever the process's threads race: the one
 * that clears flooding sends the record, with the count it takes. */
static __always_inline void flood_end(struct vg_config *cfg, struct vg_hdr *hdr, struct vg_rate *b, __u32 bulk)
{
	if (__sync_val_compare_and_swap(&b->flooding, 1, 0) == 1)
		flood_record(cfg, hdr, b, VG_FLOOD_END, bulk, __sync_lock_test_and_set(&b->limited, 0));
}

/*
 * The per-process rate limit: a GCRA token bucket per process and ring.
 * A record is sent while the process's theoretical arrival time (tat) is
 * at most rate_burst_ns ahead of now; each sent record moves it one
 * rate_interval_ns later. Concurrent threads of a process may race on
 * tat: the add is atomic, the reset to now is not (a lost race lets a
 * record or two more through); the start and end of a flood are one
 * compare-and-swap each, so each is sent once and its count is exact
 * (atomic xchg and cmpxchg: Linux 5.12, -mcpu=v3). false: over the rate;
 * counted, not sent.
 */
static __always_inline bool rate_ok(struct vg_config *cfg, struct vg_hdr *hdr, enum vg_type type, __u32 bulk)
{
	__u64 now = hdr->ktime;
	__u64 key = hdr->pid | ((__u64)bulk << 32);
	struct vg_rate *b = bpf_map_lookup_elem(&vg_rates, &key);
	if (!b) {
		struct vg_rate fresh = {.tat = now + cfg->rate_interval_ns};
		bpf_map_update_elem(&vg_rates, &key, &fresh, BPF_NOEXIST);
		return true;
	}
	__u64 tat = b->tat;
	if (tat < now) {
		/* A full bucket: whatever flood there was is over. */
		if (b->flooding)
			flood_end(cfg, hdr, b, bulk);
		b->tat = now;
		tat = now;
	}
	if (tat - now <= cfg->rate_burst_ns) {
		__sync_fetch_and_add(&b->tat, cfg->rate_interval_ns);
		return true;
	}
	__u32 k = type;
	__u64 *n = bpf_map_lookup_elem(&vg_limited, &k);
	if (n)
		*n += 1;
	__sync_fetch_and_add(&b->limited, 1);
	/* One start per flood: the thread that sets flooding sends it. */
	if (!b->flooding && __sync_val_compare_and_swap(&b->flooding, 0, 1) == 0) {
		b->event_type = type;
		flood_record(cfg, hdr, b, VG_FLOOD_START, bulk, 1);
	}
	return false;
}

/* The end of a process: a flood it was in ends with it. */
static __always_inline void rate_exit(struct vg_config *cfg, struct vg_hdr *hdr)
{
	for (__u32 bulk = 0; bulk < 2; bulk++) {
		__u64 key = hdr->pid | ((__u64)bulk << 32);
		struct vg_rate *b = bpf_map_lookup_elem(&vg_rates, &key);
		if (!b)
			continue;
		if (b->flooding)
			flood_end(cfg, hdr, b, bulk);
		bpf_map_delete_elem(&vg_rates, &key);
	}
}

/*
 * Send a record built in the heap, on the ring of its type's class: the
 * bulk ring for bulk_types, the priority ring for the rest and for every
 * record that carries a policy outcome (enforcement). limit_types go
 * through their process's budget on that ring first.
 */
static __always_inline void submit(struct vg_config *cfg, void *rec, __u32 size, enum vg_type type)
{
	struct vg_hdr *hdr = rec;
	__u64 bit = 1ULL << type;
	bool enforced = hdr->policy != 0;
	__u32 bulk = (cfg->bulk_types & bit) && !enforced;
	if ((cfg->limit_types & bit) && !enforced && cfg->rate_interval_ns && !rate_ok(cfg, hdr, type, bulk))
		return;
	ring_send(cfg, rec, size, type, bulk);
}

/*
 * The start the syscall-exit programs (all but open's and connect's) share: not a
 * restart, the type wanted (mask, self, target, name filter), and the
 * heap, task and saved registers. false: not an event.
 */
struct exit_ctx {
	struct vg_config *cfg;
	struct heap *h;
	struct task_struct *task;
	struct pt_regs *regs;
	__u64 pid_tgid;
	__u32 type;
};

static __always_inline bool exit_prep(struct exit_ctx *c, enum vg_type type, long ret)
{
	if (restarting(ret))
		return false;
	c->cfg = config_get();
	c->pid_tgid = bpf_get_current_pid_tgid();
	if (!c->cfg || !prefilter(c->cfg, type, c->pid_tgid >> 32) || !name_wanted(c->cfg, type))
		return false;
	c->h = heap_get();
	if (!c->h)
		return false;
	c->task = bpf_get_current_task_btf();
	c->regs = (struct pt_regs *)bpf_task_pt_regs(c->task);
	c->type = type;
	return true;
}

/* ---- path walks ---- */

struct pwalk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 pos;   /* start of the path in heap->path; moves left */
	__u32 flags; /* PW_* */
};

enum {
	PW_TRUNC = 1,  /* the path did not fit; the kept part is its end */
	PW_PSEUDO = 2, /* a pseudo file (memfd, anon): named like simple_dname() */
};

static long pwalk_step(__u32 i, void *vctx)
{
	struct pwalk *w = vctx;
	/* Plain locals: inside BPF_CORE_READ, w->x would become a CO-RE
	 * relocation against struct pwalk, which the kernel does not have. */
	struct dentry *d = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;

	if (d == w->root_dentry && vfsmnt == w->root_mnt)
		return 1; /* the task's root: paths are as the task sees them */
	if (d == BPF_CORE_READ(vfsmnt, mnt_root)) {
		struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
		if (parent == mnt)
			return 1; /* the root of a mount namespace, or an internal mount */
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = parent;
		w->vfsmnt = (void *)parent + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	struct dentry *up = BPF_CORE_READ(d, d_parent);
	bool pseudo = up == d;
	/* A dentry that is its own parent but not a mount's root is a pseudo
	 * file (memfd, anon inode): d_path names it "/<name>". Above a leaf
	 * it would be a disconnected tree; stop there. */
	if (pseudo && w->pos != VG_PATH_MAX)
		return 1;

	struct heap *h = heap_get();
	if (!h)
		return 1;
	__u32 len = BPF_CORE_READ(d, d_name.len);
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	__u32 pos = w->pos;
	if (len > 255 || len + 1 > pos) {
		w->flags |= PW_TRUNC;
		return 1;
	}
	pos -= len;
	bpf_probe_read_kernel(&h->path[pos & PATH_MASK], len & 255, name);
	pos -= 1;
	h->path[pos & PATH_MASK] = '/';
	w->pos = pos;
	w->dentry = up;
	if (pseudo) {
		w->flags |= PW_PSEUDO;
		return 1;
	}
	return 0;
}

/*
 * Write the absolute path of (dentry, mnt), relative to the task's root, to
 * the end of heap->path (bytes [pos, VG_PATH_MAX)). Returns pos and sets
 * *flags (PW_*).
 * bpf_d_path is not available to tracepoints, so this is the walk d_path
 * does, bounded to 64 components.
 */
static __always_inline __u32 path_walk(struct heap *h, struct dentry *dentry, struct vfsmount *vfsmnt,
				       struct task_struct *task, __u32 *flags)
{
	struct pwalk w = {
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt),
		.root_dentry = BPF_CORE_READ(task, fs, root.dentry),
		.root_mnt = BPF_CORE_READ(task, fs, root.mnt),
		.pos = VG_PATH_MAX,
	};
	bpf_loop(64, pwalk_step, &w, 0);
	if (w.pos == VG_PATH_MAX) {
		w.pos--;
		h->path[w.pos & PATH_MASK] = '/';
	}
	*flags = w.flags;
	return w.pos;
}

/* Copy the walked path at pos to the record at off; returns its length. */
static __always_inline __u32 path_copy(struct heap *h, __u32 off, __u32 pos)
{
	__u32 len = (VG_PATH_MAX - pos) & PATH_MASK;
	bpf_probe_read_kernel(&h->rec[off & REC_MASK], len, &h->path[pos & PATH_MASK]);
	return len;
}

/* tty_nr as /proc/PID/stat prints it (new_encode_dev), 0 without one. */
static __always_inline __u32 tty_nr(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (!tty)
		return 0;
	__u32 major = BPF_CORE_READ(tty, driver, major);
	__u32 minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

/* pid_nr_ns(): the number of pid in the pid namespace ns at level, 0 when
 * pid is not visible there. Helper reads: numbers[] is indexed at run
 * time. */
static __always_inline __u32 pid_nr_at(struct pid *pid, __u32 level, struct pid_namespace *ns)
{
	if (!pid || BPF_CORE_READ(pid, level) < level)
		return 0;
	struct upid up = {};
	bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[level & 31]);
	return up.ns == ns ? up.nr : 0;
}

/* task's process, group and session ids in task's own pid namespace
 * (task_tgid_vnr, task_pgrp_vnr, task_session_vnr as the task sees them). */
static __always_inline void ns_ids(struct task_struct *task, struct vg_nsids *ids)
{
	struct pid *tp = BPF_CORE_READ(task, thread_pid);
	__u32 level = BPF_CORE_READ(tp, level);
	struct upid up = {};
	bpf_probe_read_kernel(&up, sizeof(up), &tp->numbers[level & 31]);
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	ids->vpid = pid_nr_at(BPF_CORE_READ(sig, pids[PIDTYPE_TGID]), level, up.ns);
	ids->vpgid = pid_nr_at(BPF_CORE_READ(sig, pids[PIDTYPE_PGID]), level, up.ns);
	ids->sid = pid_nr_at(BPF_CORE_READ(sig, pids[PIDTYPE_SID]), level, up.ns);
	ids->_pad = 0;
}

/* The struct file behind fd in the current task, or NULL. */
static __always_inline struct file *fd_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = task->files->fdt;
	unsigned int max = fdt->max_fds;
	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	struct file **fds = fdt->fd;
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

#include "policy.h"

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFCHR 0020000
#define S_IFBLK 0060000

/* fd 0, 1 or 2: its file's kind, inode and device, and a socket's peer. */
static __always_inline void stdio_one(struct file *f, struct vg_stdio *s)
{
	__builtin_memset(s, 0, sizeof(*s));
	if (!f)
		return;
	s->open = 1;
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	s->ino = BPF_CORE_READ(ino, i_ino);
	s->mode = BPF_CORE_READ(ino, i_mode) & S_IFMT;
	if (s->mode == S_IFCHR || s->mode == S_IFBLK) {
		s->rdev = BPF_CORE_READ(ino, i_rdev);
		return;
	}
	if (s->mode != S_IFSOCK)
		return;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	s->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	s->protocol = BPF_CORE_READ(sk, sk_protocol);
	if (s->family == AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(s->daddr, &a, 4);
	} else if (s->family == AF_INET6) {
		BPF_CORE_READ_INTO(&s->daddr, sk, __sk_common.skc_v6_daddr);
	} else {
		return;
	}
	s->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

/* What task's fds 0, 1 and 2 are: one read of the three file pointers
 * (max_fds is never below 64, NR_OPEN_DEFAULT). */
static __always_inline void stdio_fill(struct task_struct *task, struct vg_stdio s[3])
{
	struct file *fds[3] = {};
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	bpf_probe_read_kernel(fds, sizeof(fds), BPF_CORE_READ(fdt, fd));
	stdio_one(fds[0], &s[0]);
	stdio_one(fds[1], &s[1]);
	stdio_one(fds[2], &s[2]);
}

#endif
