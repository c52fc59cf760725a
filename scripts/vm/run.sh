#!/usr/bin/env bash
# The kernel matrix: boots Debian's 6.1 and 6.12 cloud kernels under QEMU
# (software emulation: this host's KVM cannot run them), each with and
# without bpf in lsm=, and runs vigil's BPF test binary inside: the
# pipeline's live tests on every kernel, and the enforcement tests
# (BPF LSM deny where bpf is an active LSM, an honest "unavailable" where
# not). Usage: scripts/vm/run.sh [go test -run pattern]
# Environment: VIGIL_VM_CACHE (kernels), VIGIL_VM_KERNELS (a regexp: only
# the kernels it matches), VIGIL_VM_TIMEOUT (s per boot, 1800),
# VIGIL_VM_BENCH=1: run BenchmarkPolicySize instead, on the lsm=bpf boots
# (what 1,000 policy entries cost against 1, under BPF LSM; relative
# figures only, the machine is emulated).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pattern=${1:-${VIGIL_VM_TESTS:-.}}
timeout=${VIGIL_VM_TIMEOUT:-1800}
bench=${VIGIL_VM_BENCH:-}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
mapfile -t kernels < <("$root/scripts/vm/kernels.sh")
if [[ -n ${VIGIL_VM_KERNELS:-} ]]; then # a regexp: only the kernels it matches
	mapfile -t kernels < <(printf '%s\n' "${kernels[@]}" | grep -E -- "$VIGIL_VM_KERNELS")
fi
work=$(mktemp -d)
logs=${VIGIL_VM_LOGS:-/tmp/vigil-vm-logs}
mkdir -p "$logs"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/root"/{bin,sbin,etc,proc,sys,dev,tmp,root,run}
(cd "$root" && CGO_ENABLED=0 "$GO" test -c -o "$work/root/bpf.test" ./bpf)
(cd "$root" && CGO_ENABLED=0 "$GO" build -o "$work/root/bin/true" ./scripts/vm/true)
cp /usr/bin/busybox "$work/root/bin/busybox"
# bash (with its libraries) for the reverse-shell test: busybox sh has no
# /dev/tcp; e2fsprogs' chattr and libcap's setcap for the chattr and xattr
# tests: busybox has neither. The host's loader and libraries are copied
# at their paths.
for bin in /bin/bash /usr/bin/chattr /usr/sbin/setcap; do
	cp "$bin" "$work/root/bin/"
	for lib in $(ldd "$bin" | awk '/=>/ { print $3 } $1 ~ /^\// { print $1 }'); do
		cp --parents -L "$lib" "$work/root"
	done
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$work/root/etc/passwd"
printf 'root:x:0:\n' >"$work/root/etc/group"
cat >"$work/root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs shm /dev/shm
mount -t tmpfs tmp /tmp
mount -t securityfs none /sys/kernel/security
mount -t tracefs none /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf
# The host's layout: v1 controllers beside a v2 "unified" mount.
mount -t tmpfs cgroup /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/unified /sys/fs/cgroup/memory
mount -t cgroup2 none /sys/fs/cgroup/unified
# The rule-level live tests need Debian's programs (useradd, python3,
# openssl, ...), which the busybox root lacks; the host run covers them,
# and each event type has its own live test here.
skip='TestExecRulesLive|TestBuiltinSystemRulesLive|TestBuiltinRulesLive|TestFileChangeRulesLive'
if ! mount -t cgroup -o memory none /sys/fs/cgroup/memory 2>/dev/null; then
	# No cgroup v1 memory controller in this kernel (Debian 6.12).
	rmdir /sys/fs/cgroup/memory
	# One -test.skip, split at "/" by level: the rule tests' subtests
	# (none starts with "v") and TestContainerFromCgroup's v1 ones.
	skip="\$skip|TestContainerFromCgroup/^([^v]|v1_)"
	echo "VIGIL-VM: no cgroup v1 memory controller: skipping \$skip"
fi
ip link set lo up
export VIGIL_BPF_STATS=${VIGIL_BPF_STATS:-} CI=true HOME=/root PATH=/bin:/sbin TMPDIR=/tmp
export VIGIL_VM_LSM=\$(sed -n 's/.*vigil.lsm=\([a-z]*\).*/\1/p' /proc/cmdline)
echo "VIGIL-VM: kernel \$(uname -r), lsm \$(cat /sys/kernel/security/lsm)"
cd /tmp
if [ -n "$bench" ]; then
	/bpf.test -test.run '^\$' -test.bench BenchmarkPolicySize -test.benchtime 3x
else
	/bpf.test -test.v -test.timeout ${timeout}s -test.run '$pattern' -test.skip "\${skip:-^\$}"
fi
echo "VIGIL-VM-RESULT: rc=\$?"
poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1 >"$work/initramfs.gz")

# boot KERNEL LSM: one boot, its console in its log, its wall time in
# LOG.secs.
boot() {
	local k=$1 lsm=$2 list=lockdown,capability,landlock,yama start=$SECONDS
	[[ $lsm == bpf ]] && list+=,bpf
	local log="$logs/console-$(basename "$k")-$lsm.log"
	# Single-threaded TCG: with thread=multi, the kernel's live text
	# patching (int3, when tracepoints are switched on) was seen to
	# oops 6.12 under emulation.
	timeout "$((timeout + 60))" qemu-system-x86_64 -accel tcg,thread=single -cpu max -m 1536 -smp 2 \
		-nographic -no-reboot -kernel "$k" -initrd "$work/initramfs.gz" \
		-append "console=ttyS0 lsm=$list vigil.lsm=$lsm panic=-1 quiet" >"$log" 2>&1 || true
	echo $((SECONDS - start)) >"$log.secs"
}

# The two boots of a kernel run side by side: each emulated CPU is one
# host thread, so on two cores that halves the matrix's wall time.
fail=0
for k in "${kernels[@]}"; do
	lsms=(bpf none)
	[[ -n $bench ]] && lsms=(bpf)
	for lsm in "${lsms[@]}"; do
		boot "$k" "$lsm" &
	done
	wait
	for lsm in "${lsms[@]}"; do
		log="$logs/console-$(basename "$k")-$lsm.log"
		result=$(grep -a 'VIGIL-VM-RESULT' "$log" | tail -1 || true)
		echo "vm: $(basename "$k") lsm=$lsm: ${result:-no result} ($(cat "$log.secs") s)"
		rm -f "$log.secs"
		[[ -n $bench ]] && grep -a '^BenchmarkPolicySize' "$log" | sed 's/^/  /'
		if [[ $result != *"rc=0"* ]]; then
			fail=1
			grep -a -E '^(=== RUN|--- FAIL|    |FAIL|panic|VIGIL)' "$log" | grep -av -- '--- PASS' | tail -60 | sed 's/^/  /'
		fi
	done
done
exit $fail
