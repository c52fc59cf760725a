#!/usr/bin/env bash
# redis-benchmark throughput (Debian's redis-server on loopback) without and
# with `vigil run` (built-in rules), interleaved; prints the median ratio
# of requests/s (target >= 0.95).
set -euo pipefail
vigil=$(realpath -- "${1:-./bin/vigil}")
rounds=${BENCH_ROUNDS:-5}
port=${BENCH_REDIS_PORT:-6390}
requests=${BENCH_REDIS_N:-200000}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

rps() {
	# Requests per second of SET and GET, summed.
	redis-benchmark -p "$port" -q -t set,get -n "$requests" --csv 2>/dev/null |
		awk -F'","' 'NR > 1 { gsub(/"/, "", $2); s += $2 } END { printf "%.0f\n", s }'
}

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

base="" with=""
for r in $(seq "$rounds"); do
	b=$(rps)
	"$vigil" run --format json --lock-file "$work/vigil.lock" >/dev/null 2>"$work/vigil.log" &
	vp=$!
	for _ in $(seq 300); do grep -q ready "$work/vigil.log" && break; sleep 0.1; done
	sleep 1
	w=$(rps)
	kill -INT "$vp"
	wait "$vp" || true
	echo "bench: redis round $r: $b req/s without vigil, $w with" >&2
	base="$base $b" with="$with $w"
done
b=$(median "$base")
w=$(median "$with")
ratio=$(awk -v b="$b" -v w="$w" 'BEGIN { printf "%.3f", w / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.95) ? "ok" : "UNDER" }')
printf '\nredis-benchmark (SET+GET, %d requests each): %s req/s without vigil, %s with vigil run: ratio %s (target >= 0.95) %s\n' "$requests" "$b" "$w" "$ratio" "$verdict"
