#!/usr/bin/env bash
# vigil's resident memory after a busy stretch (default 5 minutes) of
# opens, execs and connects under `vigil run` (target <= 64 MiB).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
vigil=$(realpath -- "${1:-./bin/vigil}")
seconds=${BENCH_RSS_SECONDS:-300}
work=$(mktemp -d)
vp=
cleanup() { [[ -n $vp ]] && kill -INT "$vp" 2>/dev/null && wait "$vp" || true; rm -rf "$work"; }
trap cleanup EXIT
(cd "$root" && go build -o "$work/loop" ./bench/loop)
"$vigil" run --format json --lock-file "$work/vigil.lock" >/dev/null 2>"$work/vigil.log" &
vp=$!
for _ in $(seq 300); do grep -q ready "$work/vigil.log" && break; sleep 0.1; done
end=$((SECONDS + seconds))
while ((SECONDS < end)); do
	"$work/loop" -op open -n 200000 >/dev/null
	"$work/loop" -op exec -n 500 >/dev/null
	"$work/loop" -op connect -n 20000 >/dev/null
	find /usr -xdev -type f -name '*.so*' >/dev/null 2>&1 || true
done
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$vp/status")
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$vp/status")
verdict=$(awk -v k="$rss_kb" 'BEGIN { print (k <= 64 * 1024) ? "ok" : "OVER" }')
printf '\nvigil run RSS after %ds of opens, execs and connects: %.1f MiB (peak %.1f MiB; target <= 64 MiB) %s\n' \
	"$seconds" "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')" "$(awk -v k="$hwm_kb" 'BEGIN { print k / 1024 }')" "$verdict"
