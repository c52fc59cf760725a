/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Enforcement: the kernel side of the deny and kill rules.
 *
 * The engine compiles each acting rule into conjunctions of atoms
 * (engine/event/policy.go). Every atom of a policy type (exec, open,
 * connect) has a bit. For each class of value (exe, name, file path, IP,
 * port, uid, family) a map answers, for the event's value, the atoms whose
 * set holds it; an atom holds if it is positive and the value is in its set,
 * or negated and it is not. A conjunction holds when all its atoms do.
 * Prefix entries of the LPM tries carry the bits of every shorter prefix
 * that covers them (user space propagates them), so the longest match
 * answers for all.
 *
 * The exe class is judged once per exec (and inherited at fork): the
 * process's memberships are kept in vg_pol_procs.
 */
#ifndef VIGIL_POLICY_H
#define VIGIL_POLICY_H

#define POL_EXEC 0
#define POL_OPEN 1
#define POL_CONNECT 2

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * VG_POL_TYPES);
	__type(key, __u32);
	__type(value, struct vg_pol_desc);
} vg_pol_descs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct vg_pol_path_key);
	__type(value, struct vg_pol_masks);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vg_pol_path SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct vg_pol_ip_key);
	__type(value, struct vg_pol_masks);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vg_pol_ip SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct vg_pol_name_key);
	__type(value, struct vg_pol_masks);
} vg_pol_name SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct vg_pol_uid_key);
	__type(value, struct vg_pol_masks);
} vg_pol_uid SEC(".maps");

/* Connect atoms holding each port, by generation: index gen * 65536 + port. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * 65536);
	__type(key, __u32);
	__type(value, __u64);
} vg_pol_port SEC(".maps");

/* Connect atoms holding each family (0 ipv4, 1 ipv6, 2 unix), by
 * generation: index gen * 4 + family. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} vg_pol_family SEC(".maps");

/* Policy words of denials made by the LSM programs, by pid_tgid, for the
 * syscall's exit tracepoint to put on the record (open). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} vg_pol_lsm SEC(".maps");

/* Exe memberships of live processes, by tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct vg_pol_proc);
} vg_pol_procs SEC(".maps");

/* The inputs of one decision. Classes the caller does not fill stay 0
 * (no atom holds the value). */
struct pol_in {
	__u32 gen; /* cfg->pol_gen & 1, read once per event */
	__u32 tgid;
	__u32 uid;
	__u32 exe_given; /* exe below is the executable judged (an exec not done yet) */
	__u64 exe;
	__u64 file;   /* file atoms (open) */
	__u64 ip;     /* net.dip atoms (connect) */
	__u64 port;   /* net.dport atoms (connect) */
	__u64 family; /* net.family atoms (connect) */
	char comm[VG_COMM_LEN];
};

/* The outcome word of a record header (enum vg_pol_outcome), 0 when no
 * conjunction holds or the process is exempt. */
static __always_inline __u32 pol_word(__u32 gen, __u32 j, __u32 outcome)
{
	return (j + 1) | (outcome << 8) | (gen << 12);
}

static __always_inline __u64 pol_sat(struct vg_pol_desc *d, int c, __u64 members)
{
	return (members & d->pos[c]) | (~members & d->neg[c]);
}

static __always_inline bool pol_uses(struct vg_pol_desc *d, int c)
{
	return (d->pos[c] | d->neg[c]) != 0;
}

/* The exe memberships of the current process for generation gen, and
 * whether it is exempt (vigil, PID 1, an allowed executable). */
static __always_inline __u64 pol_exe(struct vg_config *cfg, __u32 tgid, __u32 gen, int type, bool *exempt)
{
	*exempt = tgid == cfg->self_tgid || tgid == 1;
	struct vg_pol_proc *p = bpf_map_lookup_elem(&vg_pol_procs, &tgid);
	if (!p)
		return 0;
	struct vg_pol_masks *m = &p->gen[gen & 1];
	if (m->allow)
		*exempt = true;
	return m->m[type];
}

struct pol_cond_ctx {
	struct vg_pol_desc *d;
	__u64 sat;
	__u32 any, kill, deny; /* first holding conjunction of each kind; VG_POL_BITS: none */
};

static long pol_conj_step(__u32 j, void *vctx)
{
	struct pol_cond_ctx *c = vctx;
	struct vg_pol_desc *d = c->d;
	if (j >= d->nconj || j >= VG_POL_BITS)
		return 1;
	__u64 need = d->conj[j & (VG_POL_BITS - 1)];
	if ((c->sat & need) != need)
		return 0;
	__u64 bit = 1ULL << j;
	if (c->any == VG_POL_BITS)
		c->any = j;
	if ((d->enforce & bit) && (d->kill & bit) && c->kill == VG_POL_BITS)
		c->kill = j;
	if ((d->enforce & bit) && (d->deny & bit) && c->deny == VG_POL_BITS)
		c->deny = j;
	return 0;
}

/*
 * Decide for one event of policy type `type`: returns the header word and
 * sets *act to 0 (nothing), VG_POL_DENIED or VG_POL_KILLED (what the
 * caller must do now). Class values the caller has not filled are looked
 * up here (exe, name, uid).
 */
static __always_inline __u32 pol_decide(struct vg_config *cfg, int type, struct pol_in *in, __u32 *act)
{
	*act = 0;
	if (!(cfg->pol_types & (1U << type)))
		return 0;
	__u32 gen = in->gen & 1;
	__u32 key = gen * VG_POL_TYPES + type;
	struct vg_pol_desc *d = bpf_map_lookup_elem(&vg_pol_descs, &key);
	if (!d || d->nconj == 0)
		return 0;
	bool exempt;
	__u64 exe = pol_exe(cfg, in->tgid, gen, type, &exempt);
	if (exempt)
		return 0;
	if (in->exe_given)
		exe = in->exe;
	__u64 sat = pol_sat(d, VG_POL_EXE, exe);
	if (pol_uses(d, VG_POL_NAME)) {
		struct vg_pol_name_key nk = {.gen = gen};
		/* Callers zero the comm before filling it: on Linux 6.1
		 * bpf_get_current_comm() leaves the bytes after the NUL as they
		 * were, and the hash key must be exact. */
		__builtin_memcpy(nk.comm, in->comm, VG_COMM_LEN);
		struct vg_pol_masks *m = bpf_map_lookup_elem(&vg_pol_name, &nk);
		sat |= pol_sat(d, VG_POL_NAME, m ? m->m[type] : 0);
	}
	if (pol_uses(d, VG_POL_UID)) {
		struct vg_pol_uid_key uk = {.gen = gen, .uid = in->uid};
		struct vg_pol_masks *m = bpf_map_lookup_elem(&vg_pol_uid, &uk);
		sat |= pol_sat(d, VG_POL_UID, m ? m->m[type] : 0);
	}
	sat |= pol_sat(d, VG_POL_FILE, in->file);
	sat |= pol_sat(d, VG_POL_DIP, in->ip);
	sat |= pol_sat(d, VG_POL_DPORT, in->port);
	sat |= pol_sat(d, VG_POL_FAMILY, in->family);
	if (pol_uses(d, VG_POL_SCOPE)) {
		/* In a container: not in the initial PID namespace. */
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		__u32 level = BPF_CORE_READ(t, thread_pid, level);
		sat |= pol_sat(d, VG_POL_SCOPE, level > 0 ? ~0ULL : 0);
	}

	struct pol_cond_ctx c = {.d = d, .sat = sat, .any = VG_POL_BITS, .kill = VG_POL_BITS, .deny = VG_POL_BITS};
	bpf_loop(VG_POL_BITS, pol_conj_step, &c, 0);
	if (c.kill < VG_POL_BITS) {
		*act = VG_POL_KILLED;
		return pol_word(gen, c.kill, VG_POL_KILLED);
	}
	if (c.deny < VG_POL_BITS) {
		*act = VG_POL_DENIED;
		return pol_word(gen, c.deny, VG_POL_DENIED);
	}
	if (c.any < VG_POL_BITS) {
		__u32 j = c.any & (VG_POL_BITS - 1);
		return pol_word(gen, j, (d->kill >> j) & 1 ? VG_POL_WOULD_KILL : VG_POL_WOULD_DENY);
	}
	return 0;
}

#define POL_PATH_MAX (VG_FILTER_PATH_MAX - 3) /* longest path the tries hold */

/*
 * The path trie's answer for the walked path at h->path[pos..VG_PATH_MAX)
 * (path_walk), class cls, generation gen; NULL for no entry or a path too
 * long to hold.
 */
static __always_inline struct vg_pol_masks *pol_path_lookup(struct heap *h, __u32 pos, __u32 gen, __u8 cls)
{
	__u32 n = VG_PATH_MAX - pos;
	if (n == 0 || n > POL_PATH_MAX)
		return NULL;
	struct vg_pol_path_key *k = &h->pkey;
	k->gen = gen;
	k->cls = cls;
	if (bpf_probe_read_kernel(k->path, n & 0xff, &h->path[pos & PATH_MASK]))
		return NULL;
	k->path[n & 0xff] = 0;
	k->prefixlen = (2 + n + 1) * 8; /* gen, class, the path and its NUL */
	return bpf_map_lookup_elem(&vg_pol_path, k);
}

/* Record the exe memberships (both generations) of the process that just
 * executed the walked path at pos. */
static __always_inline void pol_track_exec(struct heap *h, __u32 tgid, __u32 pos)
{
	struct vg_pol_proc p = {};
	for (__u32 g = 0; g < 2; g++) {
		struct vg_pol_masks *m = pol_path_lookup(h, pos, g, VG_POL_EXE);
		if (m)
			p.gen[g] = *m;
	}
	bpf_map_update_elem(&vg_pol_procs, &tgid, &p, BPF_ANY);
}

#ifndef AF_UNIX
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#endif

/* The connect atoms holding a destination: family (AF_*), address (16
 * bytes, network order; IPv4 in the first 4), port (host order). An
 * IPv4-mapped IPv6 address is judged as the IPv4 address. */
static __always_inline void pol_net(struct pol_in *in, __u16 family, const __u8 *addr, __u16 port)
{
	__u32 fi = family == AF_INET ? 0 : family == AF_INET6 ? 1 : family == AF_UNIX ? 2 : 3;
	__u32 k = (in->gen & 1) * 4 + fi;
	__u64 *fm = bpf_map_lookup_elem(&vg_pol_family, &k);
	in->family = fm ? *fm : 0;
	if (fi > 1)
		return;
	struct vg_pol_ip_key ik = {.gen = in->gen & 1};
	bool mapped = fi == 1 && addr[0] == 0 && addr[1] == 0 && addr[2] == 0 && addr[3] == 0 && addr[4] == 0 &&
		      addr[5] == 0 && addr[6] == 0 && addr[7] == 0 && addr[8] == 0 && addr[9] == 0 &&
		      addr[10] == 0xff && addr[11] == 0xff;
	if (fi == 0 || mapped) {
		ik.family = 4;
		__builtin_memcpy(ik.addr, fi == 0 ? addr : addr + 12, 4);
		ik.prefixlen = 16 + 32;
	} else {
		ik.family = 6;
		__builtin_memcpy(ik.addr, addr, 16);
		ik.prefixlen = 16 + 128;
	}
	struct vg_pol_masks *m = bpf_map_lookup_elem(&vg_pol_ip, &ik);
	in->ip = m ? m->m[POL_CONNECT] : 0;
	__u32 pk = (in->gen & 1) * 65536 + port;
	__u64 *pm = bpf_map_lookup_elem(&vg_pol_port, &pk);
	in->port = pm ? *pm : 0;
}

#endif
