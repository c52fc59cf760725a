/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Outbound connections: connect(2), at syscall exit. */
#include "common.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* Large enough for sockaddr_in6 and sockaddr_un. */
struct sa_buf {
	__u16 family;
	__u8 data[126];
};

SEC("tp/syscalls/sys_exit_connect")
int tp_connect(struct syscall_trace_exit *ctx)
{
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
	struct file *f = fd_file(task, fd);
	umode_t imode = BPF_CORE_READ(f, f_inode, i_mode);
	if (!f || (imode & S_IFMT) != S_IFSOCK) {
		flags |= VG_CONNECT_NOT_SOCKET;
	} else {
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
	}
	e->hdr.flags = flags;
	submit(cfg, e, size, VG_CONNECT);
	return 0;
}
