#!/usr/bin/env bash
# Measures the CPU time per operation of open+close, fork+exec and connect
# loops with and without `vigil events` running, in one interleaved run, and
# reports the medians, their ratio and vigil's own CPU time per operation.
#
# Usage: bench/run.sh [path/to/vigil]      (default: $VIGIL, else ./bin/vigil)
# Environment: BENCH_ROUNDS (rounds of baseline+vigil, default 5), BENCH_OPS
# (default "open exec connect"), BENCH_N_OPEN, BENCH_N_EXEC, BENCH_N_CONNECT
# (iterations per run), BENCH_READY_TIMEOUT, BENCH_SETTLE, BENCH_OUT (below).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
vigil=${1:-${VIGIL:-./bin/vigil}}
rounds=${BENCH_ROUNDS:-5}
read -r -a ops <<<"${BENCH_OPS:-open exec connect}"
# Sized so one run of each loop takes about 2-3 s on a 2-core EPYC VM and the
# whole benchmark about 2 minutes.
declare -A n=(
	[open]=${BENCH_N_OPEN:-1000000}
	[exec]=${BENCH_N_EXEC:-4000}
	[connect]=${BENCH_N_CONNECT:-100000}
	# issue 7's syscalls (BENCH_MODE=types): about a second each
	[rename]=150000 [link]=100000 [symlink]=50000 [mkdir]=30000 [chmod]=500000
	[ptrace]=3000000 [setuid]=3000000 [memfd]=200000 [setns]=600000
	[unshare]=3000000 [mount]=30000 [bpf]=150000 [dup]=3000000 [listen]=3000000
)
new_ops="rename link symlink mkdir chmod ptrace setuid memfd setns unshare mount bpf dup listen"
# issue 15's syscalls (BENCH_SET=15 with the types modes); ioctl and fcntl
# run commands no rule asks for: the cost every other call pays.
n+=([truncate]=200000 [chown]=300000 [utimes]=300000 [xattr]=250000 [chattr]=400000
	[ioctl]=2000000 [fcntl]=2000000 [prctl]=2000000 [process_vm]=600000 [socket]=150000)
issue15_ops="truncate chown utimes xattr chattr ioctl fcntl prctl process_vm socket"
if [[ ${BENCH_SET:-} == 15 ]]; then
	new_ops=$issue15_ops
fi
# BENCH_MODE=events streams every event (`vigil events`); BENCH_MODE=run
# judges them with the built-in rules (`vigil run`), whose kernel filter
# drops opens no rule cares about.
mode=${BENCH_MODE:-events}
declare -A dtarget=() # vigil's own CPU per iteration, ns (where a target exists)
case $mode in
events)
	vigil_args=(events --format json --stats)
	declare -A target=([open]=1.60 [exec]=1.05 [connect]=1.10)
	;;
run)
	vigil_args=(run --format json --stats)
	declare -A target=([open]=1.35 [exec]=1.03 [connect]=1.05)
	# Issue 16: vigil's own CPU per iteration with the built-in rules.
	dtarget=([open]=1500 [exec]=10000 [connect]=1500)
	;;
falco)
	# The loops under `vigil run` with Falco's stable rules instead of the
	# built-in ones (BENCH_FALCO_RULES, default ../shared/falco-rules/
	# falco_rules.yaml: third-party data, never committed). Several of
	# them read every open (a path that contains id_rsa, any *.log
	# written), so the kernel cannot drop opens as it does for the
	# built-in rules.
	falco_rules=${BENCH_FALCO_RULES:-$root/../shared/falco-rules/falco_rules.yaml}
	[[ -f $falco_rules ]] || { echo "bench: BENCH_MODE=falco: no $falco_rules" >&2; exit 1; }
	vigil_args=(run --format json --stats --falco-rules "$falco_rules")
	declare -A target=([open]=1.60 [exec]=1.05 [connect]=1.05)
	;;
types)
	# A loop over each syscall of issue 7 without vigil and with vigil
	# judging one rule on every new type that matches none of the loops
	# (bench/new-types.yaml).
	[[ -v BENCH_OPS ]] || read -r -a ops <<<"$new_ops"
	vigil_args=(run --format json --stats --rules "$root/bench/new-types${BENCH_SET:-}.yaml")
	declare -A target=()
	for op in $new_ops; do target[$op]=1.10; done
	;;
types-floor)
	# The same loops with every program attached but each returning at its
	# first check (vigil events --pid 1: only PID 1's events pass): the
	# least any syscall tracepoint costs on this machine.
	[[ -v BENCH_OPS ]] || read -r -a ops <<<"$new_ops"
	vigil_args=(events --type all --pid 1 --format json --stats)
	declare -A target=()
	for op in $new_ops; do target[$op]=1.10; done
	;;
types-builtin)
	# The same loops against the built-in rules plus a never-matching rule
	# on the types they do not use (bench/all-types.yaml): what a default
	# install pays. Some loops are what the built-in rules look for (dup2
	# of a socket onto stdin).
	[[ -v BENCH_OPS ]] || read -r -a ops <<<"$new_ops"
	vigil_args=(run --format json --stats --rules builtin --rules "$root/bench/all-types.yaml")
	declare -A target=()
	for op in $new_ops; do target[$op]=1.10; done
	;;
types-existing)
	# The open/exec/connect loops under the built-in rules with every new
	# type traced (the measured phase) against the same rules limited to
	# the types before issue 7 (the baseline runs vigil too): the new
	# types' cost on the existing loops, target 2%.
	declare -A target=([open]=1.02 [exec]=1.02 [connect]=1.02)
	;;
policy)
	# Both phases run vigil with a kill rule on opens and a deny rule on
	# connects; the baseline's name one path and one CIDR, the measured
	# ones 1,000 of each (none matching the loops): the cost of a large
	# policy in the kernel (bench/policy-rules.sh writes the files).
	[[ -v BENCH_OPS ]] || ops=(open connect)
	declare -A target=([open]=1.05 [exec]=1.05 [connect]=1.05)
	;;
compare)
	# The open/exec/connect loops under `vigil run` with the built-in
	# rules, the baseline phase running another vigil binary
	# (BENCH_BASE_VIGIL, required; make bench-compare builds one from
	# git) with the same arguments: a change that should not cost
	# anything gives ratios of 1.
	[[ -n ${BENCH_BASE_VIGIL:-} ]] || { echo "bench: BENCH_MODE=compare needs BENCH_BASE_VIGIL" >&2; exit 1; }
	vigil_args=(run --format json --stats)
	base_args=("${vigil_args[@]}")
	declare -A target=([open]=1.02 [exec]=1.02 [connect]=1.02)
	;;
*)
	echo "bench: BENCH_MODE=$mode: want events, run, falco, policy, types, types-floor, types-builtin, types-existing or compare" >&2
	exit 1
	;;
esac
ready_timeout=${BENCH_READY_TIMEOUT:-30} # seconds to wait for vigil's "ready"
settle=${BENCH_SETTLE:-1}                # seconds to let vigil finish starting up
out=${BENCH_OUT:-$root/bench/results.json}

die() {
	echo "bench: $*" >&2
	exit 1
}

for op in "${ops[@]}"; do
	[[ -v "n[$op]" ]] || die "unknown op $op in BENCH_OPS (want open, exec, connect, $new_ops)"
done
if [[ $vigil != */* ]]; then
	vigil=$(command -v -- "$vigil") || die "vigil binary $vigil not found in PATH"
fi
[[ -x $vigil ]] || die "vigil binary $vigil not found or not executable (build it first, or set VIGIL)"
vigil=$(realpath -- "$vigil")

work=$(mktemp -d)
[[ $mode == compare ]] || base_args=()
if [[ $mode == types-existing ]]; then
	vigil_args=(run --format json --stats --rules builtin --rules "$root/bench/all-types.yaml")
	if [[ -n ${BENCH_BASE_VIGIL:-} ]]; then
		# The binary from before issue 7 with its built-in rules (make
		# bench-types builds it): the ratio is the whole change.
		base_args=(run --format json --stats --rules builtin)
	else
		# Without it: this binary, limited to the old types.
		printf 'events: [exec, fork, exit, open, connect]\n' >"$work/old-types.yaml"
		base_args=(run --format json --stats --rules builtin --config "$work/old-types.yaml")
	fi
fi
base_vigil=$(realpath -- "${BENCH_BASE_VIGIL:-$vigil}")
if [[ $mode == policy ]]; then
	"$root/bench/policy-rules.sh" 1 >"$work/policy-1.yaml"
	"$root/bench/policy-rules.sh" 1000 >"$work/policy-1000.yaml"
	vigil_args=(run --format json --stats --rules "$work/policy-1000.yaml")
	base_args=(run --format json --stats --rules "$work/policy-1.yaml")
fi
vigil_pid=
stop_vigil() {
	[[ -n $vigil_pid ]] || return 0
	kill -TERM "$vigil_pid" 2>/dev/null || true
	for _ in {1..100}; do
		kill -0 "$vigil_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$vigil_pid" 2>/dev/null || true
	wait "$vigil_pid" 2>/dev/null || true
	vigil_pid=
	# vigil's own counters for the phase: kernel drops, output drops, latency.
	grep 'msg=stopped' "$work/vigil.log" >>"$work/vigil-stats.log" || true
}
trap 'stop_vigil; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# vigil_failed reports why vigil is unusable, with the end of its stderr.
vigil_failed() {
	echo "bench: $1; last lines of its stderr:" >&2
	tail -n 20 "$work/vigil.log" | sed 's/^/  /' >&2
	exit 1
}

start_vigil() {
	local -a args=("${vigil_args[@]}")
	local bin=$vigil
	[[ ${1:-} == baseline ]] && args=("${base_args[@]}") && bin=$base_vigil
	"$bin" "${args[@]}" >/dev/null 2>"$work/vigil.log" &
	vigil_pid=$!
	local tries=$((ready_timeout * 10)) status=0
	until grep -qw ready "$work/vigil.log"; do
		if ! kill -0 "$vigil_pid" 2>/dev/null; then
			wait "$vigil_pid" || status=$?
			vigil_pid=
			vigil_failed "vigil exited with status $status before it was ready"
		fi
		if ((tries-- <= 0)); then
			stop_vigil
			vigil_failed "vigil was not ready after ${ready_timeout}s"
		fi
		sleep 0.1
	done
	sleep "$settle"
}

# cpu_ns prints the nanoseconds process $1 has run so far, summed over its
# threads (schedstat: exact, where stat's utime+stime are 10 ms ticks).
cpu_ns() {
	[[ -d /proc/$1/task ]] || return 1
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

json_num() {
	sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" <<<"$2"
}

median() {
	tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '
		{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "bench: building bench/loop" >&2
(cd "$root" && go build -o "$work/loop" ./bench/loop)

declare -A base=() with=() daemon_ns=() daemon_ops=() bdaemon_ns=() bdaemon_ops=()
for op in "${ops[@]}"; do
	daemon_ns[$op]=0
	daemon_ops[$op]=0
	bdaemon_ns[$op]=0
	bdaemon_ops[$op]=0
done

# run_phase runs every op once, with vigil running if $2 is "vigil".
run_phase() {
	local round=$1 mode=$2 op line cpu warm t0=0 t1=0
	[[ $mode == vigil ]] && start_vigil
	# In policy mode the baseline runs vigil too, with the small policy.
	((${#base_args[@]})) && [[ $mode == baseline ]] && start_vigil baseline
	for op in "${ops[@]}"; do
		warm=$((n[$op] / 10))
		if [[ -n $vigil_pid ]]; then
			t0=$(cpu_ns "$vigil_pid") || vigil_failed "vigil died before the $op loop"
		fi
		line=$("$work/loop" -op "$op" -n "${n[$op]}" -warmup "$warm")
		if [[ -n $vigil_pid ]]; then
			t1=$(cpu_ns "$vigil_pid") || vigil_failed "vigil died during the $op loop"
		fi
		if [[ $mode == vigil ]]; then
			daemon_ns[$op]=$((daemon_ns[$op] + t1 - t0))
			daemon_ops[$op]=$((daemon_ops[$op] + n[$op] + warm))
		elif [[ -n $vigil_pid ]]; then
			# The baseline runs a vigil too (policy, types-existing, compare).
			bdaemon_ns[$op]=$((bdaemon_ns[$op] + t1 - t0))
			bdaemon_ops[$op]=$((bdaemon_ops[$op] + n[$op] + warm))
		fi
		cpu=$(json_num cpu_ns_per_op "$line")
		[[ -n $cpu ]] || die "unexpected output from loop: $line"
		if [[ $mode == vigil ]]; then with[$op]+="$cpu "; else base[$op]+="$cpu "; fi
		printf 'bench: round %d/%d %-8s %-7s %12s ns/op\n' "$round" "$rounds" "$mode" "$op" "$cpu" >&2
	done
	[[ $mode == vigil ]] && stop_vigil
	((${#base_args[@]})) && [[ $mode == baseline ]] && stop_vigil
	return 0
}

# Alternate which phase goes first so slow drift of the machine's load
# affects both sides alike; vigil goes first so a broken vigil fails fast.
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then
		run_phase "$r" vigil
		run_phase "$r" baseline
	else
		run_phase "$r" baseline
		run_phase "$r" vigil
	fi
done

printf '\nmode: %s (vigil %s)\n' "$mode" "${vigil_args[*]}"
printf 'vigil overhead: %d rounds, median CPU time per operation (user+sys, ns)\n' "$rounds"
printf '%-8s %8s %12s %12s %8s %8s %-5s %13s %8s\n' op n baseline "with vigil" ratio target "" "vigil ns/op" target
entries=()
for op in "${ops[@]}"; do
	b=$(median "${base[$op]}")
	w=$(median "${with[$op]}")
	ratio=$(awk -v b="$b" -v w="$w" 'BEGIN { printf "%.3f", w / b }')
	verdict=$(awk -v r="$ratio" -v t="${target[$op]}" 'BEGIN { print (r <= t) ? "ok" : "OVER" }')
	dns=$(awk -v t="${daemon_ns[$op]}" -v n="${daemon_ops[$op]}" 'BEGIN { printf "%.1f", t / n }')
	bdns=$(awk -v t="${bdaemon_ns[$op]}" -v n="${bdaemon_ops[$op]}" 'BEGIN { printf "%.1f", n ? t / n : 0 }')
	dt=${dtarget[$op]:-}
	dverdict=
	[[ -n $dt ]] && dverdict=$(awk -v d="$dns" -v t="$dt" 'BEGIN { print (d <= t) ? "ok" : "OVER" }')
	printf '%-8s %8d %12s %12s %7sx %7sx %-5s %13s %8s %s\n' \
		"$op" "${n[$op]}" "$b" "$w" "$ratio" "${target[$op]}" "$verdict" "$dns" "${dt:--}" "$dverdict"
	base_list=$(tr -s ' ' ',' <<<"${base[$op]% }")
	with_list=$(tr -s ' ' ',' <<<"${with[$op]% }")
	entries+=("$(printf '    {"op": "%s", "n": %d, "baseline_cpu_ns_per_op": %s, "vigil_cpu_ns_per_op": %s, "ratio": %s, "target_ratio": %s, "within_target": %s, "vigil_daemon_cpu_ns_per_op": %s, "vigil_daemon_target_ns_per_op": %s, "baseline_daemon_cpu_ns_per_op": %s, "baseline_rounds": [%s], "vigil_rounds": [%s]}' \
		"$op" "${n[$op]}" "$b" "$w" "$ratio" "${target[$op]}" \
		"$([[ $verdict == ok ]] && echo true || echo false)" "$dns" "${dt:-null}" "$bdns" "$base_list" "$with_list")")
	((${#base_args[@]})) && printf '%-8s baseline vigil ns/op %s\n' "$op" "$bdns"
done
echo "(vigil ns/op: CPU time of the vigil process, all its threads, while the loop ran, per operation; its target: issue 16)"
echo
echo "vigil's counters per run with vigil (kernel drops must be 0 for the ratios to mean every event was streamed):"
sed 's/^.*msg=stopped //' "$work/vigil-stats.log" 2>/dev/null || echo "(none recorded)"

{
	printf '{\n'
	printf '  "date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	printf '  "kernel": "%s",\n' "$(uname -r)"
	printf '  "cpus": %d,\n' "$(nproc)"
	printf '  "rounds": %d,\n' "$rounds"
	printf '  "results": [\n'
	for i in "${!entries[@]}"; do
		sep=,
		((i == ${#entries[@]} - 1)) && sep=
		printf '%s%s\n' "${entries[$i]}" "$sep"
	done
	printf '  ]\n}\n'
} >"$out"
echo "bench: results written to $out" >&2
