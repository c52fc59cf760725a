/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Outbound connections: connect(2), at syscall exit. */
#include "common.h"

#define S_IFMT 00170000
#define S_IFSOCK 0140000

#define EPERM 1

/* Deny at connect(2) itself, for IPv4 and IPv6 sockets of every process
 * (attached to the cgroup v2 root): returning 0 makes connect fail with
 * EPERM before any packet leaves. Kill, and the record, are the
 * tracepoint's (below). */
static __always_inline int cg_connect(struct bpf_sock_addr *ctx, __u16 family)
{
	struct vg_config *cfg = config_get();
	if (!cfg || !(cfg->pol_types & (1U << POL_CONNECT)))
		return 1;
	struct pol_in in = {.gen = cfg->pol_gen, .tgid = bpf_get_current_pid_tgid() >> 32,
			    .uid = (__u32)bpf_get_current_uid_gid()};
	bpf_get_current_comm(in.comm, sizeof(in.comm));
	__u8 addr[16] = {};
	if (family == AF_INET) {
		__u32 a = ctx->user_ip4;
		__builtin_memcpy(addr, &a, 4);
	} else {
		__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2], a3 = ctx->user_ip6[3];
		__builtin_memcpy(addr, &a0, 4);
		__builtin_memcpy(addr + 4, &a1, 4);
		__builtin_memcpy(addr + 8, &a2, 4);
		__builtin_memcpy(addr + 12, &a3, 4);
	}
	pol_net(&in, family, addr, bpf_ntohs((__u16)ctx->user_port));
	__u32 act;
	pol_decide(cfg, POL_CONNECT, &in, &act);
	return act == VG_POL_DENIED ? 0 : 1;
}

SEC("cgroup/connect4")
int cg_connect4(struct bpf_sock_addr *ctx)
{
	return cg_connect(ctx, AF_INET);
}

SEC("cgroup/connect6")
int cg_connect6(struct bpf_sock_addr *ctx)
{
	return cg_connect(ctx, AF_INET6);
}

/*
 * The socket behind f: type, protocol, family and local address, and with
 * peer its peer's address (as family/daddr/dport). False if f is not a
 * socket.
 */
static __always_inline bool sock_addrs(struct vg_connect *e, struct file *f, bool peer)
{
	umode_t imode = BPF_CORE_READ(f, f_inode, i_mode);
	if (!f || (imode & S_IFMT) != S_IFSOCK)
		return false;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	e->sock_type = BPF_CORE_READ(sock, type);
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	e->sock_family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (e->sock_family == AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(e->saddr, &a, 4);
	} else if (e->sock_family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
	}
	if (peer) {
		e->family = e->sock_family;
		e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (e->sock_family == AF_INET) {
			__u32 a = BPF_CORE_READ(sk, __sk_common.skc_daddr);
			__builtin_memcpy(e->daddr, &a, 4);
		} else if (e->sock_family == AF_INET6) {
			BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr);
		}
	}
	return true;
}

/* Large enough for sockaddr_in6 and sockaddr_un. */
struct sa_buf {
	__u16 family;
	__u8 data[126];
};

SEC("tp/syscalls/sys_exit_connect")
int tp_connect(struct syscall_trace_exit *ctx)
{
	if (restarting(ctx->ret))
		return 0;
	struct vg_config *cfg = config_get();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!cfg || !prefilter(cfg, VG_CONNECT, pid_tgid >> 32))
		return 0;
	struct heap *h = heap_get();
	if (!h)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	int fd = SC_ARG1(regs);
	void *uaddr = (void *)SC_ARG2(regs);
	__u32 addrlen = SC_ARG3(regs);

	struct vg_connect *e = (struct vg_connect *)h->rec;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->hdr, cfg, task, VG_CONNECT, pid_tgid);
	e->ret = ctx->ret;
	e->fd = fd;
	e->syscall = VG_SYS_CONNECT;
	__u16 flags = 0;
	__u32 size = sizeof(*e);

	struct sa_buf sa = {};
	if (addrlen > sizeof(sa))
		addrlen = sizeof(sa);
	if (addrlen < 2 || bpf_probe_read_user(&sa, addrlen & 127, uaddr)) {
		flags |= VG_CONNECT_ADDR_FAULT;
	} else {
		e->family = sa.family;
		if (sa.family == AF_INET) {
			struct sockaddr_in *in = (void *)&sa;
			e->dport = bpf_ntohs(in->sin_port);
			__builtin_memcpy(e->daddr, &in->sin_addr, 4);
		} else if (sa.family == AF_INET6) {
			struct sockaddr_in6 *in6 = (void *)&sa;
			e->dport = bpf_ntohs(in6->sin6_port);
			__builtin_memcpy(e->daddr, &in6->sin6_addr, 16);
		} else if (sa.family == AF_UNIX) {
			__u32 plen = addrlen - 2;
			if (plen > VG_UNIX_PATH_MAX)
				plen = VG_UNIX_PATH_MAX;
			bpf_probe_read_kernel(&h->rec[sizeof(*e)], plen & 127, sa.data);
			e->path_len = plen;
			size += plen & 127;
		}
	}

	/* The socket: its type and protocol, and the local address once bound. */
	if (!sock_addrs(e, fd_file(task, fd), false))
		flags |= VG_CONNECT_NOT_SOCKET;
	e->hdr.flags = flags;
	if ((cfg->pol_types & (1U << POL_CONNECT)) && !(flags & VG_CONNECT_ADDR_FAULT)) {
		struct pol_in in = {.gen = cfg->pol_gen, .tgid = pid_tgid >> 32, .uid = e->hdr.uid};
		__builtin_memcpy(in.comm, e->hdr.comm, VG_COMM_LEN);
		pol_net(&in, e->family, e->daddr, e->dport);
		__u32 act;
		__u32 w = pol_decide(cfg, POL_CONNECT, &in, &act);
		if (act == VG_POL_KILLED)
			bpf_send_signal(9);
		else if (act == VG_POL_DENIED && e->ret != -EPERM)
			/* The cgroup hook did not refuse it (not attached, or not
			 * an inet socket): say what would have happened. */
			w = (w & ~0xf00U) | (VG_POL_WOULD_DENY << 8);
		e->hdr.policy = w;
	}
	submit(cfg, e, size, VG_CONNECT);
	return 0;
}

/*
 * Inbound and redirected sockets, as struct vg_connect records with the
 * socket's own addresses: dup/dup2/dup3 and fcntl's F_DUPFD and
 * F_DUPFD_CLOEXEC that put a socket on fd 0, 1 or 2 (VG_DUP; anything
 * else, failures included, is not reported: shells dup onto stdio all
 * the time), accept/accept4 (VG_ACCEPT; the new socket, or for a failure
 * the listening one; EAGAIN of non-blocking servers is counted as
 * filtered) and listen (VG_LISTEN).
 */
static __always_inline int on_sock_exit(long ret, enum vg_syscall sc)
{
	enum vg_type type = VG_LISTEN;
	if (sc == VG_SYS_DUP || sc == VG_SYS_DUP2 || sc == VG_SYS_DUP3 || sc == VG_SYS_FCNTL) {
		if (ret < 0 || ret > 2)
			return 0;
		type = VG_DUP;
	} else if (sc == VG_SYS_ACCEPT || sc == VG_SYS_ACCEPT4) {
		type = VG_ACCEPT;
	}
	struct exit_ctx c;
	if (!exit_prep(&c, type, ret))
		return 0;
	if (ret == -11 /* EAGAIN */ && type == VG_ACCEPT) {
		count_filtered(type);
		return 0;
	}
	int fd = SC_ARG1(c.regs);
	int sfd = type == VG_LISTEN || ret < 0 ? fd : ret;
	struct vg_connect *e = (struct vg_connect *)c.h->rec;
	__builtin_memset(e, 0, sizeof(*e));
	if (!sock_addrs(e, fd_file(c.task, sfd), type != VG_LISTEN || ret < 0)) {
		if (type == VG_DUP)
			return 0; /* not a socket: not an event */
		e->hdr.flags = VG_CONNECT_NOT_SOCKET;
	}
	__u16 flags = e->hdr.flags;
	fill_hdr(&e->hdr, c.cfg, c.task, type, c.pid_tgid);
	e->hdr.flags = flags;
	e->ret = ret;
	e->fd = fd;
	e->syscall = sc;
	submit(c.cfg, e, sizeof(*e), type);
	return 0;
}

SEC("tp/syscalls/sys_exit_dup")
int tp_dup(struct syscall_trace_exit *ctx) { return on_sock_exit(ctx->ret, VG_SYS_DUP); }

SEC("tp/syscalls/sys_exit_dup2")
int tp_dup2(struct syscall_trace_exit *ctx) { return on_sock_exit(ctx->ret, VG_SYS_DUP2); }

SEC("tp/syscalls/sys_exit_dup3")
int tp_dup3(struct syscall_trace_exit *ctx) { return on_sock_exit(ctx->ret, VG_SYS_DUP3); }

#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030

/* fcntl is among the most frequent syscalls (F_GETFL, F_SETFD, ...), and
 * F_GETFL's flags are often 0-2 too: anything but a descriptor duplicated
 * onto 0, 1 or 2 returns here, on the result and the command alone. */
SEC("tp/syscalls/sys_exit_fcntl")
int tp_fcntl(struct syscall_trace_exit *ctx)
{
	long ret = ctx->ret;
	if (ret < 0 || ret > 2)
		return 0;
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u32 cmd = SC_ARG2(r);
	if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)
		return 0;
	return on_sock_exit(ret, VG_SYS_FCNTL);
}

SEC("tp/syscalls/sys_exit_accept")
int tp_accept(struct syscall_trace_exit *ctx) { return on_sock_exit(ctx->ret, VG_SYS_ACCEPT); }

SEC("tp/syscalls/sys_exit_accept4")
int tp_accept4(struct syscall_trace_exit *ctx) { return on_sock_exit(ctx->ret, VG_SYS_ACCEPT4); }

SEC("tp/syscalls/sys_exit_listen")
int tp_listen(struct syscall_trace_exit *ctx) { return on_sock_exit(ctx->ret, VG_SYS_LISTEN); }
