/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every record the kernel side sends to user space, and the configuration
 * user space writes for the kernel side. The Go structs are generated from
 * these (bpf2go -type), and the hand-written decoder in decode.go is tested
 * against the generated layout, so this file is the single definition.
 *
 * A record is a fixed part (struct vg_<type>, starting with struct vg_hdr)
 * followed by a variable tail of strings whose lengths are in the fixed part.
 * Strings in the tail are not NUL terminated.
 */
#ifndef VIGIL_H
#define VIGIL_H

#define VG_COMM_LEN 16
#define VG_PATH_MAX 4096 /* path buffer; a path is at most VG_PATH_MAX-1 bytes */
#define VG_ARGS_MAX 4095 /* bytes of argv kept, NUL separated */
#define VG_UNIX_PATH_MAX 108
#define VG_FILTER_PATH_MAX 256 /* longest path (with its NUL) the open filter matches */

/* Record tags: the numbers of engine/event.Type, whose event-type table
 * names each constant (bpf/types_test.go checks that they agree). */
enum vg_type {
	VG_EXEC = 1,
	VG_FORK = 2,
	VG_EXIT = 3,
	VG_OPEN = 4,
	VG_CONNECT = 5,
	VG_UNLINK = 6, /* unlink, unlinkat, rmdir: a struct vg_open record */
	VG_MKDIR = 7,  /* mkdir, mkdirat: a struct vg_open record */
	/* struct vg_sys records (see there for what each carries) */
	VG_RENAME = 8,
	VG_LINK = 9,
	VG_SYMLINK = 10,
	VG_CHMOD = 11,
	VG_PTRACE = 12,
	VG_SETUID = 13,
	VG_SETGID = 14,
	VG_MEMFD = 15,
	VG_MODULE = 16,
	VG_SETNS = 17,
	VG_UNSHARE = 18,
	VG_MOUNT = 19,
	VG_BPF = 20,
	/* struct vg_connect records: a socket and its addresses */
	VG_DUP = 21,	/* dup, dup2, dup3, fcntl(F_DUPFD*) of a socket onto fd 0, 1 or 2 */
	VG_ACCEPT = 22, /* accept, accept4 */
	VG_LISTEN = 23,
	VG_SOCKET = 24, /* struct vg_sys */
	VG_USERFAULTFD = 25, /* struct vg_sys */
	VG_TRUNCATE = 26, /* struct vg_sys */
	VG_CHOWN = 27,	  /* struct vg_sys */
	VG_UTIMES = 28,	  /* struct vg_sys */
	VG_XATTR = 29,	  /* struct vg_sys */
	VG_CHATTR = 30,	  /* struct vg_sys */
	VG_PRCTL = 31,	     /* struct vg_sys */
	VG_PROCESS_VM = 32,  /* struct vg_sys */
	VG_TYPE_MAX = 33,
};

/* A record that only wakes the reader (see submit() in common.h): the
 * first 8 bytes of a header, type VG_WAKE. The reader skips it. */
#define VG_WAKE 0x7f
struct vg_wake {
	__u8 type; /* VG_WAKE */
	__u8 _pad0;
	__u16 _pad1;
	__u32 size;
};

/* A process went over its rate (see vg_config.rate_interval_ns): one
 * record when it starts being limited (VG_FLOOD_START) and one when it
 * stops (VG_FLOOD_END: its bucket refilled, or it exited), on the priority
 * ring. Not an event type: the reader hands it to its flood callback. */
#define VG_FLOOD 0x7e
enum vg_flood_flags {
	VG_FLOOD_START = 1 << 0,
	VG_FLOOD_END = 1 << 1,
};

/* Header of every record: who did it, when. */
struct vg_hdr {
	__u8 type;	 /* enum vg_type */
	__u8 _pad0;
	__u16 flags;	 /* per type, VG_<TYPE>_* */
	__u32 size;	 /* bytes of the whole record, tail included */
	__u64 ktime;	 /* CLOCK_BOOTTIME ns */
	__u32 pid;	 /* thread group id */
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 policy;	 /* enforcement outcome, see enum vg_pol_outcome */
	__u64 cgroup_id; /* cgroup v2 id, or a v1 hierarchy's (see vg_config) */
	char comm[VG_COMM_LEN];
	__u64 cap_eff;	 /* effective capabilities (bit n: capability n) */
	__u32 loginuid;	 /* audit login uid; 4294967295 when unset */
	__u32 _pad2;
	__u64 cap_prm;	 /* permitted capabilities */
	__u64 cap_inh;	 /* inheritable capabilities */
};

enum vg_exec_flags {
	VG_EXEC_ARGS_TRUNC = 1 << 0,
	VG_EXEC_ARGS_FAULT = 1 << 1, /* argv could not be read */
	VG_EXEC_EXE_TRUNC = 1 << 2,
	VG_EXEC_CWD_TRUNC = 1 << 3,
	VG_EXEC_EXE_MEMFD = 1 << 4,
	VG_EXEC_EXE_DELETED = 1 << 5, /* /proc/PID/exe would add " (deleted)" */
	VG_EXEC_DENIED = 1 << 6, /* refused by BPF LSM: the process keeps its image */
	VG_EXEC_ENV_TRUNC = 1 << 7, /* the environment was cut to vg_config.env_bytes */
	VG_EXEC_ENV_FAULT = 1 << 8,
};

/* VG_FLOOD: the header is the limited record's (its process, uid and
 * comm; flags VG_FLOOD_*). */
struct vg_flood {
	struct vg_hdr hdr;
	__u32 event_type; /* enum vg_type of the record that went over */
	__u32 bulk;	  /* 1: the bulk ring's budget, 0: the priority ring's */
	__u64 limited;	  /* records not sent so far in this flood */
};

/* A process's budget on one ring (map vg_rates, key: tgid | bulk << 32),
 * a GCRA token bucket: tat is when the bucket would be full again. */
struct vg_rate {
	__u64 tat;
	__u64 limited;	  /* records not sent in the current flood */
	__u32 flooding;	  /* 1 between the START and END records */
	__u32 event_type; /* the type that started the flood */
};

/* A process's ids as seen in its own pid namespace (the one it was
 * created in): what getpid(), getpgrp() and getsid(0) return to it. */
struct vg_nsids {
	__u32 vpid;
	__u32 vpgid;
	__u32 sid;
	__u32 _pad;
};

/* What one of fds 0, 1 and 2 of a new image is. No path: a walk per fd
 * would cost too much per exec. */
struct vg_stdio {
	__u64 ino;	/* inode number: both ends of a pipe have the same */
	__u32 rdev;	/* character and block devices: the kernel's dev_t (major << 20 | minor) */
	__u16 mode;	/* the S_IFMT bits of i_mode (0 for anonymous inodes) */
	__u8 open;	/* 1: the fd is open */
	__u8 _pad0;
	__u16 family;	/* sockets: AF_* */
	__u16 protocol; /* sockets: IPPROTO_* */
	__u16 dport;	/* inet and inet6 sockets: the peer's port, 0 when unconnected */
	__u16 _pad1;
	__u8 daddr[16]; /* inet and inet6 sockets: the peer's address */
};

/* sched_process_exec. Tail: exe, cwd, argv (NUL separated), then the
 * environment (NUL separated, only when vg_config.env_bytes > 0). */
struct vg_exec {
	struct vg_hdr hdr;
	__u32 ppid;
	__u32 tty; /* tty_nr as in /proc/PID/stat */
	__u64 start_ns; /* task start, CLOCK_BOOTTIME ns */
	__u16 exe_len;
	__u16 cwd_len;
	__u16 args_len;
	__u16 env_len;
	struct vg_nsids ids;
	struct vg_stdio stdio[3]; /* fds 0, 1, 2 */
};

/* sched_process_fork of a new process (threads are not reported). The
 * header describes the parent. */
struct vg_fork {
	struct vg_hdr hdr;
	__u32 child_pid;
	__u32 _pad;
	__u64 child_start_ns;
	struct vg_nsids child_ids;
};

/* sched_process_exit of the last thread of a process. */
struct vg_exit {
	struct vg_hdr hdr;
	__u32 status; /* wait(2) status */
	__u32 _pad;
};

enum vg_open_flags {
	VG_OPEN_RAW_TRUNC = 1 << 0,
	VG_OPEN_RAW_FAULT = 1 << 1, /* the path could not be read from user memory */
	VG_OPEN_BASE_TRUNC = 1 << 2,
	VG_OPEN_BASE_FAULT = 1 << 3, /* the directory of a relative path is unknown */
};

/* open, openat, openat2, creat. Tail: raw path, then base: the directory a
 * relative raw path is relative to (cwd or the dirfd's path), empty for
 * absolute paths. */
struct vg_open {
	struct vg_hdr hdr;
	__s64 ret;
	__u32 oflags;
	__u32 mode;
	__s32 dfd;
	__u16 raw_len;
	__u16 base_len;
	__u16 syscall; /* enum vg_syscall */
	__u16 _pad[3];
};

/* The syscall of a record: every syscall whose exit makes an event. */
enum vg_syscall {
	VG_SYS_OPEN = 1,
	VG_SYS_OPENAT = 2,
	VG_SYS_OPENAT2 = 3,
	VG_SYS_CREAT = 4,
	VG_SYS_UNLINK = 5,
	VG_SYS_UNLINKAT = 6,
	VG_SYS_RMDIR = 7,
	VG_SYS_MKDIR = 8,
	VG_SYS_MKDIRAT = 9,
	VG_SYS_RENAME = 10,
	VG_SYS_RENAMEAT = 11,
	VG_SYS_RENAMEAT2 = 12,
	VG_SYS_LINK = 13,
	VG_SYS_LINKAT = 14,
	VG_SYS_SYMLINK = 15,
	VG_SYS_SYMLINKAT = 16,
	VG_SYS_CHMOD = 17,
	VG_SYS_FCHMOD = 18,
	VG_SYS_FCHMODAT = 19,
	VG_SYS_FCHMODAT2 = 20,
	VG_SYS_PTRACE = 21,
	VG_SYS_SETUID = 22,
	VG_SYS_SETREUID = 23,
	VG_SYS_SETRESUID = 24,
	VG_SYS_SETFSUID = 25,
	VG_SYS_SETGID = 26,
	VG_SYS_SETREGID = 27,
	VG_SYS_SETRESGID = 28,
	VG_SYS_SETFSGID = 29,
	VG_SYS_MEMFD_CREATE = 30,
	VG_SYS_INIT_MODULE = 31,
	VG_SYS_FINIT_MODULE = 32,
	VG_SYS_SETNS = 33,
	VG_SYS_UNSHARE = 34,
	VG_SYS_MOUNT = 35,
	VG_SYS_BPF = 36,
	VG_SYS_DUP = 37,
	VG_SYS_DUP2 = 38,
	VG_SYS_DUP3 = 39,
	VG_SYS_ACCEPT = 40,
	VG_SYS_ACCEPT4 = 41,
	VG_SYS_LISTEN = 42,
	VG_SYS_CONNECT = 43,
	VG_SYS_SOCKET = 44,
	VG_SYS_USERFAULTFD = 45,
	VG_SYS_TRUNCATE = 46,
	VG_SYS_FTRUNCATE = 47,
	VG_SYS_CHOWN = 48,
	VG_SYS_FCHOWN = 49,
	VG_SYS_LCHOWN = 50,
	VG_SYS_FCHOWNAT = 51,
	VG_SYS_UTIME = 52,
	VG_SYS_UTIMES = 53,
	VG_SYS_FUTIMESAT = 54,
	VG_SYS_UTIMENSAT = 55,
	VG_SYS_SETXATTR = 56,
	VG_SYS_LSETXATTR = 57,
	VG_SYS_FSETXATTR = 58,
	VG_SYS_REMOVEXATTR = 59,
	VG_SYS_LREMOVEXATTR = 60,
	VG_SYS_FREMOVEXATTR = 61,
	VG_SYS_SETXATTRAT = 62,
	VG_SYS_REMOVEXATTRAT = 63,
	VG_SYS_IOCTL = 64,
	VG_SYS_PRCTL = 80,
	VG_SYS_FCNTL = 81,
	VG_SYS_PROCESS_VM_READV = 82,
	VG_SYS_PROCESS_VM_WRITEV = 83,
};

/* How a utime* call gave its times (vg_sys arg4). */
enum vg_utimes_how {
	VG_UTIMES_GIVEN = 0, /* read from the call's array */
	VG_UTIMES_NULL = 1,  /* no array: both set to the current time */
	VG_UTIMES_FAULT = 2, /* the array could not be read */
};

enum vg_sys_flags {
	VG_SYS_TRUNC = 1 << 0, /* a string was cut short (or dropped: no room) */
	VG_SYS_FAULT = 1 << 1, /* a string could not be read from user memory */
	VG_SYS_BASE_FAULT = 1 << 2, /* the directory of a relative path is unknown */
};

/*
 * Every type without a record of its own. arg[] and the tail strings
 * (lengths in len[]; s0..s4) mean, per syscall:
 *   rename*:  s0/s1 old path raw/base dir, s2/s3 new path; arg0 renameat2 flags
 *   link*:    s0/s1 existing file (the target), s2/s3 the new link; arg0 linkat flags
 *   symlink*: s0 target as stored in the link, s2/s3 the new link
 *   chmod*:   s0/s1 path (fchmod: s0 the fd's absolute path); arg0 mode; arg1 flags
 *   ptrace:   arg0 request, arg1 pid, arg2 the target's thread group id (0: unknown)
 *   set*id:   arg0..3 requested real, effective, saved, fs id (-1: unchanged);
 *             arg4 old real | old effective << 32, arg5 old saved | old fs << 32
 *   memfd_create: s0 name; arg0 flags
 *   init_module:  arg0 image length; s4 parameters
 *   finit_module: s0 the file's absolute path; arg0 flags, arg1 fd; s4 parameters
 *   setns:    arg0 nstype argument, arg1 fd, arg2 the namespace type of the fd
 *   unshare:  arg0 flags
 *   mount:    s0 source, s2/s3 target, s4 fstype; arg0 flags
 *   bpf:      arg0 cmd; arg1 program type (PROG_LOAD) or map type
 *             (MAP_CREATE); s0 the program's or map's name
 *   socket:   arg0 domain, arg1 type (with SOCK_NONBLOCK, SOCK_CLOEXEC),
 *             arg2 protocol
 *   userfaultfd: arg0 flags
 *   truncate: s0/s1 path (ftruncate: s0 the fd's absolute path); arg0 length
 *   chown*:   s0/s1 path (fchown, and fchownat of "" with AT_EMPTY_PATH:
 *             s0 the fd's absolute path); arg0 uid, arg1 gid (as passed,
 *             -1: unchanged); arg2 fchownat's flags
 *   utime*:   s0/s1 path (futimesat and utimensat of a NULL path, or of ""
 *             with AT_EMPTY_PATH: s0 the fd's absolute path); arg0/arg1
 *             the access time's seconds and sub-seconds as passed
 *             (utimes, futimesat: microseconds; utimensat: nanoseconds,
 *             or UTIME_NOW, UTIME_OMIT; utime: none), arg2/arg3 the
 *             modification time's; arg4 enum vg_utimes_how; arg5
 *             utimensat's flags
 *   *xattr*:  s0/s1 path (f*xattr, and *xattrat of a NULL or "" path with
 *             AT_EMPTY_PATH: s0 the fd's absolute path); s2 the
 *             attribute's name; s4 the first VG_XATTR_HEAD bytes of the
 *             value (set only); arg0 the value's size, arg1 the XATTR_*
 *             flags (set only), arg2 the *xattrat at_flags
 *   ioctl:    (chattr: FS_IOC_SETFLAGS, FS_IOC32_SETFLAGS,
 *             FS_IOC_FSSETXATTR only) s0 the fd's absolute path; arg0 the
 *             new flags as passed (FSSETXATTR: fsx_xflags), arg1 the cmd,
 *             arg2 the inode's i_flags (S_*) at entry (0: unknown)
 *   prctl:    arg0 option, arg1 arg2; s0 the new name (PR_SET_NAME only,
 *             at most 15 bytes as the kernel keeps it)
 *   process_vm_readv, process_vm_writev: arg0 pid (as passed)
 * Base dirs are empty for absolute paths, as in struct vg_open.
 */
#define VG_XATTR_HEAD 24 /* a vfs_cap_data of revision 3, the largest */
#define VG_SYS_STRS 5
struct vg_sys {
	struct vg_hdr hdr;
	__s64 ret;
	__u64 arg[6];
	__u16 syscall; /* enum vg_syscall */
	__u16 len[VG_SYS_STRS];
	__u32 _pad;
};

enum vg_connect_flags {
	VG_CONNECT_ADDR_FAULT = 1 << 0, /* the sockaddr could not be read */
	VG_CONNECT_NOT_SOCKET = 1 << 1, /* the fd is not a socket */
};

/* connect, and dup/accept/listen (VG_DUP, VG_ACCEPT, VG_LISTEN: d* the
 * socket's peer, s* its local address, fd the descriptor passed; for dup
 * ret is the new descriptor). Addresses in network byte order, ports in
 * host order. Tail: the unix socket path (connect: sun_path bytes as
 * passed, abstract names start with NUL). */
struct vg_connect {
	struct vg_hdr hdr;
	__s64 ret;
	__s32 fd;
	__u16 family;	  /* sa_family passed to connect */
	__u16 sock_type;  /* SOCK_STREAM, ... */
	__u16 protocol;	  /* IPPROTO_* */
	__u16 sock_family; /* the socket's own family */
	__u16 dport;
	__u16 sport;
	__u8 daddr[16];
	__u8 saddr[16];
	__u16 path_len;
	__u16 syscall; /* enum vg_syscall */
	__u16 _pad[2];
};

/* Written by user space into vg_cfg[0]; read by every program (map vg_cfg). This is
 * the place for kernel-side filters: cheap checks that run before anything
 * is copied. */
struct vg_config {
	__u32 self_tgid;   /* never report this process (vigil) */
	__u32 target_tgid; /* if non-zero, report only this process */
	__u64 type_mask;   /* bit (1 << enum vg_type) set: the type is reported */
	__s32 cgroup_v1_subsys; /* < 0: cgroup v2 ids; else this v1 subsystem's ids */
	__u64 wakeup_bytes; /* wake the reader once this much data is waiting */
	__u64 wakeup_ns;    /* ...or when the last forced wakeup is this old */
	__u32 open_filter;  /* 1: drop opens of clean absolute paths outside vg_open_paths */
	__u32 pol_gen;      /* the policy generation in force (0 or 1) */
	__u32 pol_types;    /* bit (1 << policy type index) set: that type has a policy */
	__u32 env_bytes;    /* bytes of the environment sent with exec records (0: none) */
	/* Argument filters of the syscall types (engine/argfilter.go) */
	__u64 name_types;    /* bit (1 << enum vg_type) set: only the comms in vg_names */
	__u32 setid_root;    /* 1: only set*id calls that ask for id 0 */
	__u64 ptrace_reqs;   /* with ptrace_filter: the requests reported (bit: ptrace_bit()) */
	__u32 ptrace_filter;
	__u32 bpf_filter;   /* 1: only the bpf(2) commands in bpf_cmds */
	__u64 file_filter;  /* bit (1 << enum vg_type): only paths in vg_file_paths */
	__u64 bpf_cmds;     /* bit (1 << cmd) */
	__u64 prctl_opts[2]; /* with prctl_filter: the options reported (bit: prctl_bit()) */
	__u32 prctl_filter;
	__u32 _pad_prctl;
	/* Traffic classes (engine/event TypeInfo.Class): the types on the
	 * bulk ring (vg_bulk; all others use vg_events), and those under the
	 * per-process rate limit. Records with a policy outcome always use
	 * vg_events and are never limited. */
	__u64 bulk_types;   /* bit (1 << enum vg_type) */
	__u64 limit_types;  /* bit (1 << enum vg_type) */
	__u64 rate_interval_ns; /* per process and ring: a record per this, on average (0: no limit) */
	__u64 rate_burst_ns;    /* ...with this much credit saved up: burst * interval */
	/* bit (1 << enum vg_type): a path the tries do not admit is looked up
	 * in vg_suffixes too (rules on file names: file.name == ".bashrc") */
	__u64 suffix_types;
	/* with socket_filter: per domain (domains from 63 up in the last
	 * entry), bit (1 << (type & 15)) set: socket(2) of that pair reported */
	__u16 socket_types[64];
	__u32 socket_filter;
	__u32 _pad_socket;
};

/* Key of vg_file_paths, an LPM trie like vg_open_paths whose first byte
 * is a tag: the event type << 1, | 1 for the second path (the new path
 * of a rename, the target of a link). */
struct vg_fpath_key {
	__u32 prefixlen; /* bits, the tag's 8 included */
	__u8 data[VG_FILTER_PATH_MAX];
};

/* Key of vg_names: an event type and a command name, NUL padded. */
struct vg_name_key {
	__u32 type;
	__u32 _pad;
	char comm[VG_COMM_LEN];
};

/* ---- Enforcement policy (bpf/c/policy.h, engine/plan/policy.go) ----
 * Every policy map is keyed by generation too: user space writes the
 * generation not in force, then flips vg_config.pol_gen, so a reload
 * never leaves the kernel without a complete policy. */
#define VG_POL_TYPES 3   /* exec, open, connect */
#define VG_POL_CLASSES 8 /* plan.PolicyClass */
#define VG_POL_BITS 64   /* atoms and conjunctions per type */

enum vg_pol_class {
	VG_POL_EXE = 0,
	VG_POL_NAME = 1,
	VG_POL_FILE = 2,
	VG_POL_DIP = 3,
	VG_POL_DPORT = 4,
	VG_POL_UID = 5,
	VG_POL_FAMILY = 6,
	VG_POL_SCOPE = 7, /* in a container: not in the initial PID namespace */
};

/* Per type: for each class, the atoms that require membership (pos) and
 * the negated ones (neg); each conjunction's atoms; which conjunctions
 * kill, deny, enforce (else audit only). */
struct vg_pol_desc {
	__u64 pos[VG_POL_CLASSES];
	__u64 neg[VG_POL_CLASSES];
	__u64 conj[VG_POL_BITS];
	__u64 kill;
	__u64 deny;
	__u64 enforce;
	__u32 nconj;
	__u32 _pad;
};

/* Atom membership of a value, per policy type. allow: the value is an
 * exact path of the allow-list (exe entries only). */
struct vg_pol_masks {
	__u64 m[VG_POL_TYPES];
	__u64 allow;
};

/* vg_pol_path key: LPM over gen, class (VG_POL_EXE or VG_POL_FILE), then
 * the path's bytes; an exact path includes its NUL. */
struct vg_pol_path_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 cls;
	__u8 path[VG_FILTER_PATH_MAX - 2];
};

/* vg_pol_ip key: LPM over gen, family (4 or 6), address. */
struct vg_pol_ip_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 family;
	__u8 addr[16];
};

struct vg_pol_name_key {
	__u8 gen;
	__u8 _pad[7];
	char comm[VG_COMM_LEN];
};

struct vg_pol_uid_key {
	__u32 gen;
	__u32 uid;
};

/* A process's exe membership, per generation (judged at exec). */
struct vg_pol_proc {
	struct vg_pol_masks gen[2];
};

/* Header policy word (vg_hdr.policy): bits 0-7 the deciding
 * conjunction + 1 (0: none), bits 8-11 the outcome, bit 12 the generation. */
enum vg_pol_outcome {
	VG_POL_DENIED = 1,
	VG_POL_KILLED = 2,
	VG_POL_WOULD_DENY = 3,
	VG_POL_WOULD_KILL = 4,
};

/* Key of vg_open_paths, an LPM trie over path bytes. A prefix entry is the
 * bytes of the prefix; an exact entry includes the path's NUL, so only
 * that path matches it. The value is a mask of open flags of which the
 * open must have one (0: any open). */
struct vg_path_key {
	__u32 prefixlen; /* bits */
	__u8 data[VG_FILTER_PATH_MAX];
};

/* Key of vg_suffixes, an LPM trie over the ends of paths: data[0] is the
 * tag of vg_file_paths (VG_OPEN << 1 for opens), then the path's last
 * bytes in reverse order, so the longest match is the longest suffix a
 * rule names ("/.bashrc" for file.name == ".bashrc", ".log" for
 * file.name.endsWith(".log")). The value is as in vg_open_paths (opens)
 * or unused. */
#define VG_SUFFIX_MAX 64
struct vg_suffix_key {
	__u32 prefixlen; /* bits, the tag's 8 included */
	__u8 data[VG_SUFFIX_MAX];
};

#endif
