package bpf

// The BPF object and its Go bindings. Compiler flags come from
// BPF2GO_CFLAGS, set by the Makefile (`make generate`); run it through make
// so the committed output is reproducible.
//go:generate go tool bpf2go -cc clang -target amd64 -type vg_hdr -type vg_exec -type vg_stdio -type vg_nsids -type vg_fork -type vg_exit -type vg_flood -type vg_flood_flags -type vg_rate -type vg_open -type vg_connect -type vg_sys -type vg_sys_flags -type vg_utimes_how -type vg_name_key -type vg_fpath_key -type vg_config -type vg_path_key -type vg_type -type vg_exec_flags -type vg_open_flags -type vg_connect_flags -type vg_syscall -type vg_pol_desc -type vg_pol_masks -type vg_pol_path_key -type vg_pol_ip_key -type vg_pol_name_key -type vg_pol_uid_key -type vg_pol_proc -type vg_pol_outcome vigil c/vigil.c -- -I./include

// The BPF LSM programs: a second object, loaded only where bpf is an active
// LSM (other kernels refuse LSM programs, which would fail the main load),
// its maps replaced by the main object's.
//go:generate go tool bpf2go -cc clang -target amd64 vigilLsm c/lsm.c -- -I./include
