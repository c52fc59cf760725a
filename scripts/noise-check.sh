#!/usr/bin/env bash
# Ordinary developer and admin work must raise no alert from the built-in
# rules. With `vigil run` watching, run the benign workload of
# scripts/noise/workload.sh (cold go build, package install and purge,
# git clone and go test, a container under containerd, log rotation, an
# editor in /etc, login shells, cron-like jobs) in a session of its own,
# then judge only the alerts the workload caused (scripts/noise, see
# docs/noise.md): any of priority Warning or above fails, Notice and
# Informational ones only of the rules in the allow-list below, at most
# 10. Other activity on the host is ignored. Run as root.
# Usage: scripts/noise-check.sh [VIGIL]   (default ./bin/vigil)
# NOISE_CANARY=1 adds a step that a rule reports at Warning: the check
# must then fail (a check of the check).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
vigil=$(realpath "${1:-./bin/vigil}")
export PATH=$PATH:/usr/local/go/bin

# The allow-list: rules whose Notice or Informational alerts the workload
# may raise, each with the reason ("RULE|REASON"; docs/noise.md has the
# same list). Empty: no built-in rule has yet earned an exception.
allow=()

[ "$(id -u)" -eq 0 ] || { echo "noise-check: run as root" >&2; exit 1; }
start=$(date +%s)
# Not below /tmp: programs run from there are "Execution from a temporary
# directory", and cron jobs, logs and spools live below /var.
mkdir -p /var/lib/vigil-noise
work=$(mktemp -d /var/lib/vigil-noise/run-XXXXXX)
vpid= wpid=
cleanup() {
	[[ -n $wpid ]] && kill -TERM -- "-$wpid" 2>/dev/null || true
	[[ -n $vpid ]] && kill -INT "$vpid" 2>/dev/null && wait "$vpid" || true
	rm -f /etc/vigil-noise-test.conf
	rm -rf "$work"
	rmdir /var/lib/vigil-noise 2>/dev/null || true
}
trap cleanup EXIT

# What the workload runs, installed from Debian when missing (the apt
# lists first, when there are none).
need=()
for pair in containerd:containerd ctr:containerd runc:runc busybox:busybox-static logrotate:logrotate vim:vim git:git run-parts:debianutils setsid:util-linux runuser:util-linux; do
	command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
		apt-get update -qq
	fi
	echo "noise-check: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
go build -o "$work/noise" ./scripts/noise

# Prepared before vigil starts, as a host has them before the day's work:
# the image the workload imports, and spool files that are ten days old.
"$work/noise" image "$work/busybox.tar" docker.io/vigil/noise:test
mkdir -p "$work/spool"
for i in 1 2 3; do
	echo "old $i" >"$work/spool/old-$i.tmp"
	touch -d '10 days ago' "$work/spool/old-$i.tmp"
done

# A lock file of its own: the check judges only its workload, so it may
# run beside another vigil on the host.
"$vigil" run --format json --stats --lock-file "$work/vigil.lock" >"$work/alerts.jsonl" 2>"$work/vigil.log" &
vpid=$!
for _ in $(seq 300); do
	grep -q ready "$work/vigil.log" && break
	kill -0 "$vpid" 2>/dev/null || { cat "$work/vigil.log" >&2; echo "noise-check: vigil run exited" >&2; exit 1; }
	sleep 0.1
done
grep -q ready "$work/vigil.log" || { echo "noise-check: vigil run not ready" >&2; exit 1; }

# setsid: the workload's shell leads its own session and process group,
# so its pid is also the session id of every descendant that keeps it.
setsid -w bash scripts/noise/workload.sh "$work" "$root" &
wpid=$!
status=0
wait "$wpid" || status=$?
wpid=
# Let the last events reach the rules before vigil stops.
sleep 1
kill -INT "$vpid"
wait "$vpid" || true
vpid=
grep 'msg=stopped' "$work/vigil.log" | sed 's/^.*msg=stopped/noise-check: vigil counters:/' >&2 || true
if [ "$status" -ne 0 ]; then
	echo "noise-check: FAIL: the workload failed (exit $status)" >&2
	exit 1
fi

args=(-pid "$(cat "$work/workload.pid")" -containers "$work/containers")
for a in ${allow[@]+"${allow[@]}"}; do
	args+=(-allow "$a")
done
verdict=0
"$work/noise" judge "${args[@]}" "$work/alerts.jsonl" >&2 || verdict=$?
echo "noise-check: took $(($(date +%s) - start))s" >&2
exit "$verdict"
