#!/usr/bin/env bash
# Ordinary developer and admin work must raise no alert from the built-in
# rules: with `vigil run` watching, build this project from a cold cache,
# reinstall a small Debian package, and run the test suites that do not
# trigger rules on purpose (cmd/vigil's live tests do). Fails, printing the
# alerts, if any was raised.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
vigil=${1:-./bin/vigil}
work=$(mktemp -d)
pid=
cleanup() {
	[[ -n $pid ]] && kill -INT "$pid" 2>/dev/null && wait "$pid" || true
	rm -rf "$work"
}
trap cleanup EXIT

"$vigil" run --format json --stats >"$work/alerts.jsonl" 2>"$work/vigil.log" &
pid=$!
for _ in $(seq 300); do
	grep -q ready "$work/vigil.log" && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/vigil.log" >&2; echo "noise-check: vigil run exited" >&2; exit 1; }
	sleep 0.1
done
grep -q ready "$work/vigil.log" || { echo "noise-check: vigil run not ready" >&2; exit 1; }

echo "noise-check: go build (cold cache)" >&2
GOCACHE=$work/gocache go build -o "$work/vigil-build" ./cmd/vigil
echo "noise-check: apt-get install --reinstall hostname" >&2
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
	apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall hostname >/dev/null
echo "noise-check: go test (suites that do not trigger rules on purpose)" >&2
# Pass or fail is make test's business; here only alerts count. Left out:
# ./bpf and ./bpf/features load BPF programs (a BPF load by an unknown
# program is what a built-in rule reports) and ./bpf performs the attacks
# of the live rule tests on purpose, like cmd/vigil.
go test -count=1 ./bpf/process ./bpf/cgroup ./bpf/mountinfo ./engine/... ./rules/... >/dev/null 2>&1 || true

kill -INT "$pid"
wait "$pid" || true
pid=
grep 'msg=stopped' "$work/vigil.log" | sed 's/^.*msg=stopped/noise-check: vigil counters:/' >&2 || true
if [ -s "$work/alerts.jsonl" ]; then
	echo "noise-check: FAIL: ordinary work raised $(wc -l <"$work/alerts.jsonl") alert(s):" >&2
	cut -c1-600 "$work/alerts.jsonl" >&2
	exit 1
fi
echo "noise-check: ok, no alert" >&2
