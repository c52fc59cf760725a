#!/usr/bin/env bash
# The benign workload of scripts/noise-check.sh: ordinary admin and
# developer work, one function a step. Run as root in a session of its
# own (setsid): the judge attributes alerts to this shell's pid, which is
# also the session id. Usage: workload.sh WORK ROOT
#   WORK   a directory this workload may fill (the caller removes it), with
#          what the caller prepared before vigil started: the busybox image
#          (busybox.tar) and a spool of files ten days old (spool/)
#   ROOT   the repository (cloned, and built with a cold cache)
# It writes its pid to WORK/workload.pid and the ids of the containers it
# starts to WORK/containers. A failing step fails the workload.
set -euo pipefail
work=$1 root=$2
echo $$ >"$work/workload.pid"
: >"$work/containers"
export DEBIAN_FRONTEND=noninteractive
step_start=

step() {
	echo "noise-check: step $1" >&2
	step_start=$(date +%s.%N)
}

step_done() {
	awk -v s="$step_start" -v e="$(date +%s.%N)" -v n="$1" 'BEGIN { printf "noise-check:   %s took %.1fs\n", n, e - s }' >&2
}

# go_build_cold builds vigil with an empty build cache, as a fresh CI job
# or a developer's first build does.
go_build_cold() {
	step go_build_cold
	(cd "$root" && GOCACHE=$work/gocache go build -o "$work/vigil-build" ./cmd/vigil)
	step_done go_build_cold
}

# package_install_purge installs and purges mg, a small editor whose
# postinst and prerm register and remove it as an editor alternative
# (update-alternatives rewrites links under /etc/alternatives). A host
# that already has mg gets it reinstalled instead, so it stays as it was.
package_install_purge() {
	step package_install_purge
	if dpkg-query -W -f='${Status}' mg 2>/dev/null | grep -q 'install ok installed'; then
		apt-get install -y -qq --reinstall mg >/dev/null
	else
		apt-get install -y -qq --no-install-recommends mg >/dev/null
		apt-get purge -y -qq mg >/dev/null
	fi
	step_done package_install_purge
}

# git_clone_test clones the repository over file:// and runs two short
# test suites in the clone, with the build cache of go_build_cold.
git_clone_test() {
	step git_clone_test
	git clone -q "file://$root" "$work/clone"
	(cd "$work/clone" && GOCACHE=$work/gocache go test -count=1 ./engine/plan ./engine/event >/dev/null)
	step_done git_clone_test
}

# containerd_run starts containerd in its own directories and socket (as
# internal/ctrtest does), imports a busybox image built from the host's
# busybox-static, runs one container and stops containerd again.
containerd_run() {
	step containerd_run
	local dir=$work/containerd sock id=noise-$$
	sock=$dir/containerd.sock
	mkdir -p "$dir"
	local cgroups_before
	cgroups_before=$(cgroup_dirs)
	cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  # root lacks CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj.
  restrict_oom_score_adj = true
EOF
	containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
	local cpid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	[ -S "$sock" ] || { cat "$dir/containerd.log" >&2; echo "noise-check: containerd did not start" >&2; return 1; }
	ctr --address "$sock" images import "$work/busybox.tar" >/dev/null
	echo "$id" >>"$work/containers"
	ctr --address "$sock" run --rm docker.io/vigil/noise:test "$id" /bin/echo hi >/dev/null
	kill -TERM "$cpid"
	wait "$cpid" || true
	# A shim outlives containerd if its container did; this socket path
	# names only the shims of this containerd.
	local shims
	shims=$(pgrep -f -- "$sock" || true)
	[ -z "$shims" ] || kill -KILL $shims 2>/dev/null || true
	awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" || true; done
	rm -rf "$dir"
	# runc removes a container's cgroup but not the namespace's parent.
	comm -13 <(echo "$cgroups_before") <(cgroup_dirs) | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2- |
		while read -r c; do rmdir "$c" 2>/dev/null || true; done
	step_done containerd_run
}

cgroup_dirs() {
	find /sys/fs/cgroup /sys/fs/cgroup/*/ -maxdepth 1 -type d -name default 2>/dev/null |
		while read -r d; do find "$d" -type d; done | sort -u
}

# logrotate_conf writes a logrotate configuration for two logs under
# WORK/logs: one rotated by copytruncate, one by create; both compressed.
logrotate_conf() {
	mkdir -p "$work/logs"
	cat >"$work/logrotate.conf" <<EOF
$work/logs/app.log {
	rotate 3
	copytruncate
	compress
	missingok
}
$work/logs/web.log {
	rotate 3
	create 0640 root adm
	compress
	missingok
}
EOF
}

# log_rotation fills two logs and rotates them, forced (as after a day).
log_rotation() {
	step log_rotation
	logrotate_conf
	seq 1 5000 | sed 's/^/app: request /' >"$work/logs/app.log"
	seq 1 5000 | sed 's/^/web: GET \/index.html /' >"$work/logs/web.log"
	logrotate -f -s "$work/logrotate.state" "$work/logrotate.conf"
	step_done log_rotation
}

# editor_etc edits a configuration file in /etc with vim in ex mode and
# with sed -i, then removes it.
editor_etc() {
	step editor_etc
	local f=/etc/vigil-noise-test.conf
	vim -Nes -c 'call setline(1, ["# vigil noise check", "workers = 4", "log_level = info"])' -c wq "$f"
	sed -i 's/^workers = 4$/workers = 8/' "$f"
	grep -qx 'workers = 8' "$f"
	rm -f "$f"
	step_done editor_etc
}

# login_shells starts root's login shell three ways, as logins and
# administrators' scripts do.
login_shells() {
	step login_shells
	bash -l -c true
	su - root -c true
	runuser -l root -c true
	step_done login_shells
}

# cron_jobs runs, with run-parts, scripts of the kind /etc/cron.daily
# holds (from WORK: a real cron.daily would run them every day): delete
# the spool files older than a week (prepared by the caller), back up a directory and the dpkg status
# into a backups directory, rotate logs.
cron_jobs() {
	step cron_jobs
	local daily=$work/cron.daily spool=$work/spool backups=$work/backups
	mkdir -p "$daily" "$spool" "$backups"
	logrotate_conf
	for i in 1 2 3; do
		echo "new $i" >"$spool/new-$i.tmp"
	done
	cat >"$daily/clean-spool" <<EOF
#!/bin/sh
# Remove spool files older than a week.
find "$spool" -type f -mtime +7 -delete
EOF
	cat >"$daily/backup" <<EOF
#!/bin/sh
set -e
tar -czf "$backups/spool-\$(date +%Y%m%d).tar.gz" -C "$work" spool
cp /var/lib/dpkg/status "$backups/dpkg.status.0"
gzip -9f "$backups/dpkg.status.0"
EOF
	cat >"$daily/logrotate" <<EOF
#!/bin/sh
exec logrotate -s "$work/logrotate.state" "$work/logrotate.conf"
EOF
	chmod 755 "$daily"/*
	run-parts --report "$daily"
	[ "$(find "$spool" -type f | wc -l)" -eq 3 ]
	step_done cron_jobs
}

# canary (NOISE_CANARY=1 only) does what a rule must report, at Warning:
# with it, the check must fail, which shows that alerts reach the judge
# and are attributed to the workload.
canary() {
	step canary
	grep -rl 'BEGIN RSA PRIVATE KEY' "$work/spool" || true
	step_done canary
}

if [[ ${NOISE_CANARY:-} == 1 ]]; then
	canary
fi
go_build_cold
package_install_purge
git_clone_test
containerd_run
log_rotation
editor_etc
login_shells
cron_jobs
