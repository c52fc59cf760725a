/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one BPF object vigil loads. The hook families live in their own
 * files; they are compiled as one unit so that every program shares the
 * same maps (the ring buffers, one configuration, one set of counters).
 */
#include "process.c"
#include "file.c"
#include "net.c"
#include "sys.c"

/* Keep the record types in BTF so bpf2go can generate their Go structs. */
const struct vg_exec *_vg_exec __attribute__((unused));
const struct vg_fork *_vg_fork __attribute__((unused));
const struct vg_flood *_vg_flood __attribute__((unused));
const struct vg_rate *_vg_rate __attribute__((unused));
const enum vg_flood_flags *_vg_flood_flags __attribute__((unused));
const struct vg_exit *_vg_exit __attribute__((unused));
const struct vg_open *_vg_open __attribute__((unused));
const struct vg_connect *_vg_connect __attribute__((unused));
const struct vg_sys *_vg_sys __attribute__((unused));
const struct vg_name_key *_vg_name_key __attribute__((unused));
const struct vg_fpath_key *_vg_fpath_key __attribute__((unused));
const enum vg_sys_flags *_vg_sys_flags __attribute__((unused));
const enum vg_utimes_how *_vg_utimes_how __attribute__((unused));
const struct vg_config *_vg_config __attribute__((unused));
const enum vg_type *_vg_type __attribute__((unused));
const enum vg_exec_flags *_vg_exec_flags __attribute__((unused));
const enum vg_open_flags *_vg_open_flags __attribute__((unused));
const enum vg_connect_flags *_vg_connect_flags __attribute__((unused));
const enum vg_syscall *_vg_syscall __attribute__((unused));
const struct vg_path_key *_vg_path_key __attribute__((unused));
const struct vg_pol_desc *_vg_pol_desc __attribute__((unused));
const struct vg_pol_masks *_vg_pol_masks __attribute__((unused));
const struct vg_pol_path_key *_vg_pol_path_key __attribute__((unused));
const struct vg_pol_ip_key *_vg_pol_ip_key __attribute__((unused));
const struct vg_pol_name_key *_vg_pol_name_key __attribute__((unused));
const struct vg_pol_uid_key *_vg_pol_uid_key __attribute__((unused));
const struct vg_pol_proc *_vg_pol_proc __attribute__((unused));
const enum vg_pol_outcome *_vg_pol_outcome __attribute__((unused));
