package event

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Names of kernel constants the fields render. A number without a name
// renders as the table's prefix followed by the number, and parses back,
// so nothing is lost between `vigil events` and `vigil replay` on a kernel
// newer than this table.

// constNames names the values of one kernel constant.
type constNames struct {
	prefix string            // of numbers without a name
	dense  []string          // names by value, for constants numbered from 0
	sparse map[uint32]string // names of constants with gaps
}

func (c *constNames) name(v uint32) string {
	if int(v) < len(c.dense) {
		return c.dense[v]
	}
	if n, ok := c.sparse[v]; ok {
		return n
	}
	return c.prefix + strconv.FormatUint(uint64(v), 10)
}

func (c *constNames) parse(s string) (uint32, bool) {
	if i := slices.Index(c.dense, s); i >= 0 {
		return uint32(i), true
	}
	for v, n := range c.sparse {
		if n == s {
			return v, true
		}
	}
	rest, ok := strings.CutPrefix(s, c.prefix)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(rest, 10, 32)
	return uint32(v), err == nil && strconv.FormatUint(v, 10) == rest
}

// values are the known names in value order.
func (c *constNames) values() []string {
	if c.sparse == nil {
		return c.dense
	}
	keys := make([]uint32, 0, len(c.sparse))
	for v := range c.sparse {
		keys = append(keys, v)
	}
	slices.Sort(keys)
	out := make([]string, len(keys))
	for i, v := range keys {
		out[i] = c.sparse[v]
	}
	return out
}

var capNames = constNames{prefix: "CAP_", dense: []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}}

// CapNames lists the capabilities of a capability mask, in bit order.
func CapNames(mask uint64) []string {
	var out []string
	for i := uint32(0); mask != 0 && i < 64; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		mask &^= 1 << i
		out = append(out, capNames.name(i))
	}
	return out
}

// inodeFlagNames name the FS_*_FL inode flags (linux/fs.h) by bit, as
// lsattr(1) describes them; "" for bits without a name.
var inodeFlagNames = [32]string{"secrm", "unrm", "compr", "sync", "immutable", "append", "nodump", "noatime",
	"dirty", "comprblk", "nocomp", "encrypt", "index", "imagic", "journal_data", "notail",
	"dirsync", "topdir", "huge_file", "extent", "verity", "ea_inode", "eofblocks", "nocow",
	"", "dax", "", "", "inline_data", "projinherit", "casefold", "reserved"}

// InodeFlagNames lists the flags of f by name, lowest bit first; a bit
// without a name as its hex value (0x1000000).
func InodeFlagNames(f uint32) []string {
	var out []string
	for i := range 32 {
		if f&(1<<i) == 0 {
			continue
		}
		if n := inodeFlagNames[i]; n != "" {
			out = append(out, n)
		} else {
			out = append(out, "0x"+strconv.FormatUint(1<<i, 16))
		}
	}
	return out
}

// fileCapNames are capNames in lower case, as getcap(8) and setcap(8)
// write them.
var fileCapNames = func() constNames {
	c := constNames{prefix: "cap_"}
	for _, n := range capNames.dense {
		c.dense = append(c.dense, strings.ToLower(n))
	}
	return c
}()

// FileCapNames lists the capabilities of mask (bit n: capability n) in
// lower case, as getcap(8) writes them: cap_net_raw, ...
func FileCapNames(mask uint64) []string {
	var out []string
	for i := uint32(0); mask != 0 && i < 64; i++ {
		if mask&(1<<i) != 0 {
			mask &^= 1 << i
			out = append(out, fileCapNames.name(i))
		}
	}
	return out
}

// fileCapMask is the mask FileCapNames renders as names.
func fileCapMask(names []string) (uint64, error) {
	var mask uint64
	for _, c := range names {
		i, ok := fileCapNames.parse(c)
		if !ok || i >= 64 {
			return 0, fmt.Errorf("unknown capability %q", c)
		}
		mask |= 1 << i
	}
	return mask, nil
}

// capMask is the capability mask CapNames renders as names.
func capMask(names []string) (uint64, error) {
	var mask uint64
	for _, c := range names {
		i, ok := capNames.parse(c)
		if !ok || i >= 64 {
			return 0, fmt.Errorf("unknown capability %q", c)
		}
		mask |= 1 << i
	}
	return mask, nil
}

var ptraceNames = constNames{prefix: "PTRACE_", sparse: map[uint32]string{
	0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSR",
	4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSR", 7: "PTRACE_CONT",
	8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
	14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH",
	18: "PTRACE_GETFPXREGS", 19: "PTRACE_SETFPXREGS", 24: "PTRACE_SYSCALL",
	0x4200: "PTRACE_SETOPTIONS", 0x4201: "PTRACE_GETEVENTMSG", 0x4202: "PTRACE_GETSIGINFO",
	0x4203: "PTRACE_SETSIGINFO", 0x4204: "PTRACE_GETREGSET", 0x4205: "PTRACE_SETREGSET",
	0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT", 0x4208: "PTRACE_LISTEN",
	0x4209: "PTRACE_PEEKSIGINFO", 0x420a: "PTRACE_GETSIGMASK", 0x420b: "PTRACE_SETSIGMASK",
	0x420c: "PTRACE_SECCOMP_GET_FILTER", 0x420d: "PTRACE_SECCOMP_GET_METADATA",
	0x420e: "PTRACE_GET_SYSCALL_INFO", 0x420f: "PTRACE_GET_RSEQ_CONFIGURATION",
}}

// PtraceRequestName names a ptrace request ("PTRACE_ATTACH").
func PtraceRequestName(r uint32) string { return ptraceNames.name(r) }

// ParsePtraceRequest is the number of a ptrace request named as
// PtraceRequestName names it.
func ParsePtraceRequest(name string) (uint32, bool) { return ptraceNames.parse(name) }

var bpfCmdNames = constNames{prefix: "BPF_CMD_", dense: []string{
	"BPF_MAP_CREATE", "BPF_MAP_LOOKUP_ELEM", "BPF_MAP_UPDATE_ELEM", "BPF_MAP_DELETE_ELEM",
	"BPF_MAP_GET_NEXT_KEY", "BPF_PROG_LOAD", "BPF_OBJ_PIN", "BPF_OBJ_GET", "BPF_PROG_ATTACH",
	"BPF_PROG_DETACH", "BPF_PROG_TEST_RUN", "BPF_PROG_GET_NEXT_ID", "BPF_MAP_GET_NEXT_ID",
	"BPF_PROG_GET_FD_BY_ID", "BPF_MAP_GET_FD_BY_ID", "BPF_OBJ_GET_INFO_BY_FD", "BPF_PROG_QUERY",
	"BPF_RAW_TRACEPOINT_OPEN", "BPF_BTF_LOAD", "BPF_BTF_GET_FD_BY_ID", "BPF_TASK_FD_QUERY",
	"BPF_MAP_LOOKUP_AND_DELETE_ELEM", "BPF_MAP_FREEZE", "BPF_BTF_GET_NEXT_ID",
	"BPF_MAP_LOOKUP_BATCH", "BPF_MAP_LOOKUP_AND_DELETE_BATCH", "BPF_MAP_UPDATE_BATCH",
	"BPF_MAP_DELETE_BATCH", "BPF_LINK_CREATE", "BPF_LINK_UPDATE", "BPF_LINK_GET_FD_BY_ID",
	"BPF_LINK_GET_NEXT_ID", "BPF_ENABLE_STATS", "BPF_ITER_CREATE", "BPF_LINK_DETACH",
	"BPF_PROG_BIND_MAP", "BPF_TOKEN_CREATE",
}}

// The bpf(2) commands whose object type bpf.map_type and bpf.prog_type
// name.
const (
	bpfMapCreate = 0
	bpfProgLoad  = 5
)

// BPFCmdName names a bpf(2) command ("BPF_PROG_LOAD").
func BPFCmdName(c uint32) string { return bpfCmdNames.name(c) }

// ParseBPFCmd is the number of a bpf(2) command named as BPFCmdName
// names it.
func ParseBPFCmd(name string) (uint32, bool) { return bpfCmdNames.parse(name) }

var progTypeNames = constNames{prefix: "prog_type_", dense: []string{
	"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp",
	"perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops",
	"sk_skb", "cgroup_device", "sk_msg", "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local",
	"lirc_mode2", "sk_reuseport", "flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable",
	"cgroup_sockopt", "tracing", "struct_ops", "ext", "lsm", "sk_lookup", "syscall", "netfilter",
}}

// BPFProgTypeName names a program type as bpftool does ("kprobe").
func BPFProgTypeName(t uint32) string { return progTypeNames.name(t) }

var mapTypeNames = constNames{prefix: "map_type_", dense: []string{
	"unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array",
	"stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
	"hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
	"reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
	"struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter", "user_ringbuf",
	"cgrp_storage", "arena",
}}

// BPFMapTypeName names a map type as bpftool does ("ringbuf").
func BPFMapTypeName(t uint32) string { return mapTypeNames.name(t) }

// Namespace kinds by their CLONE_NEW* flag.
var nsFlags = []struct {
	flag uint64
	name string
}{
	{0x02000000, "cgroup"}, {0x08000000, "ipc"}, {0x00020000, "mnt"}, {0x40000000, "net"},
	{0x20000000, "pid"}, {0x00000080, "time"}, {0x10000000, "user"}, {0x04000000, "uts"},
}

// NSTypes lists the namespace kinds of CLONE_NEW* flags, in name order.
func NSTypes(flags uint64) []string {
	var out []string
	for _, f := range nsFlags {
		if flags&f.flag != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

// NSFlag is the CLONE_NEW* flag of a namespace kind, 0 for an unknown one.
func NSFlag(name string) uint64 {
	for _, f := range nsFlags {
		if f.name == strings.ToLower(name) {
			return f.flag
		}
	}
	return 0
}

// nsNames are the namespace kinds, in name order.
func nsNames() []string {
	out := make([]string, len(nsFlags))
	for i, f := range nsFlags {
		out[i] = f.name
	}
	return out
}

// sockDomainNames are the address families of socket(2) (AF_*, Linux).
var sockDomainNames = constNames{prefix: "AF_", dense: []string{
	"AF_UNSPEC", "AF_UNIX", "AF_INET", "AF_AX25", "AF_IPX", "AF_APPLETALK", "AF_NETROM", "AF_BRIDGE",
	"AF_ATMPVC", "AF_X25", "AF_INET6", "AF_ROSE", "AF_DECnet", "AF_NETBEUI", "AF_SECURITY", "AF_KEY",
	"AF_NETLINK", "AF_PACKET", "AF_ASH", "AF_ECONET", "AF_ATMSVC", "AF_RDS", "AF_SNA", "AF_IRDA",
	"AF_PPPOX", "AF_WANPIPE", "AF_LLC", "AF_IB", "AF_MPLS", "AF_CAN", "AF_TIPC", "AF_BLUETOOTH",
	"AF_IUCV", "AF_RXRPC", "AF_ISDN", "AF_PHONET", "AF_IEEE802154", "AF_CAIF", "AF_ALG", "AF_NFC",
	"AF_VSOCK", "AF_KCM", "AF_QIPCRTR", "AF_SMC", "AF_XDP", "AF_MCTP",
}}

// SockDomainName names an address family (AF_PACKET).
func SockDomainName(d uint32) string { return sockDomainNames.name(d) }

// ParseSockDomain is the number of an address family's name.
func ParseSockDomain(name string) (uint32, bool) { return sockDomainNames.parse(name) }

// ParseSockType is the number of a socket type's name (SOCK_RAW: 3).
func ParseSockType(name string) (uint32, bool) { return sockTypeNames.parse(name) }

// sockTypeNames are the socket types of socket(2), without its flags.
var sockTypeNames = constNames{prefix: "SOCK_", sparse: map[uint32]string{
	1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET", 6: "SOCK_DCCP", 10: "SOCK_PACKET",
}}

// sockTypeMask is the type in socket(2)'s type argument; the bits above
// are SOCK_NONBLOCK and SOCK_CLOEXEC.
const sockTypeMask = SockTypeMask

// SockTypeMask is the socket type's part of socket(2)'s type argument.
const SockTypeMask = 0xf

// SockTypeName names a socket type, its flags left out (SOCK_RAW).
func SockTypeName(t uint32) string { return sockTypeNames.name(t & sockTypeMask) }

// prctlNames are the options of prctl(2) (Linux's uapi/linux/prctl.h).
var prctlNames = constNames{prefix: "PR_", sparse: map[uint32]string{
	1: "PR_SET_PDEATHSIG", 2: "PR_GET_PDEATHSIG", 3: "PR_GET_DUMPABLE", 4: "PR_SET_DUMPABLE",
	5: "PR_GET_UNALIGN", 6: "PR_SET_UNALIGN", 7: "PR_GET_KEEPCAPS", 8: "PR_SET_KEEPCAPS",
	9: "PR_GET_FPEMU", 10: "PR_SET_FPEMU", 11: "PR_GET_FPEXC", 12: "PR_SET_FPEXC",
	13: "PR_GET_TIMING", 14: "PR_SET_TIMING", 15: "PR_SET_NAME", 16: "PR_GET_NAME",
	19: "PR_GET_ENDIAN", 20: "PR_SET_ENDIAN", 21: "PR_GET_SECCOMP", 22: "PR_SET_SECCOMP",
	23: "PR_CAPBSET_READ", 24: "PR_CAPBSET_DROP", 25: "PR_GET_TSC", 26: "PR_SET_TSC",
	27: "PR_GET_SECUREBITS", 28: "PR_SET_SECUREBITS", 29: "PR_SET_TIMERSLACK", 30: "PR_GET_TIMERSLACK",
	31: "PR_TASK_PERF_EVENTS_DISABLE", 32: "PR_TASK_PERF_EVENTS_ENABLE", 33: "PR_MCE_KILL", 34: "PR_MCE_KILL_GET",
	35: "PR_SET_MM", 36: "PR_SET_CHILD_SUBREAPER", 37: "PR_GET_CHILD_SUBREAPER", 38: "PR_SET_NO_NEW_PRIVS",
	39: "PR_GET_NO_NEW_PRIVS", 40: "PR_GET_TID_ADDRESS", 41: "PR_SET_THP_DISABLE", 42: "PR_GET_THP_DISABLE",
	43: "PR_MPX_ENABLE_MANAGEMENT", 44: "PR_MPX_DISABLE_MANAGEMENT", 45: "PR_SET_FP_MODE", 46: "PR_GET_FP_MODE",
	47: "PR_CAP_AMBIENT", 50: "PR_SVE_SET_VL", 51: "PR_SVE_GET_VL", 52: "PR_GET_SPECULATION_CTRL",
	53: "PR_SET_SPECULATION_CTRL", 54: "PR_PAC_RESET_KEYS", 55: "PR_SET_TAGGED_ADDR_CTRL", 56: "PR_GET_TAGGED_ADDR_CTRL",
	57: "PR_SET_IO_FLUSHER", 58: "PR_GET_IO_FLUSHER", 59: "PR_SET_SYSCALL_USER_DISPATCH", 60: "PR_PAC_SET_ENABLED_KEYS",
	61: "PR_PAC_GET_ENABLED_KEYS", 62: "PR_SCHED_CORE", 63: "PR_SME_SET_VL", 64: "PR_SME_GET_VL",
	65: "PR_SET_MDWE", 66: "PR_GET_MDWE", 67: "PR_SET_MEMORY_MERGE", 68: "PR_GET_MEMORY_MERGE",
	69: "PR_RISCV_V_SET_CONTROL", 70: "PR_RISCV_V_GET_CONTROL", 71: "PR_RISCV_SET_ICACHE_FLUSH_CTX", 72: "PR_PPC_GET_DEXCR",
	73: "PR_PPC_SET_DEXCR", 74: "PR_GET_SHADOW_STACK_STATUS", 75: "PR_SET_SHADOW_STACK_STATUS", 76: "PR_LOCK_SHADOW_STACK_STATUS",
	77: "PR_TIMER_CREATE_RESTORE_IDS", 78: "PR_FUTEX_HASH", 79: "PR_RSEQ_SLICE_EXTENSION", 80: "PR_GET_CFI",
	81: "PR_SET_CFI", 0x41555856: "PR_GET_AUXV", 0x53564d41: "PR_SET_VMA", 0x59616d61: "PR_SET_PTRACER",
}}

// prctlSetName is PR_SET_NAME, the option whose name prctl.name holds.
const prctlSetName = 15

// PrctlOptionName names a prctl(2) option ("PR_SET_NAME").
func PrctlOptionName(o uint32) string { return prctlNames.name(o) }

// ParsePrctlOption is the number of a prctl(2) option named as
// PrctlOptionName names it.
func ParsePrctlOption(name string) (uint32, bool) { return prctlNames.parse(name) }
