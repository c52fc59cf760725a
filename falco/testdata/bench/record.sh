#!/bin/bash
# record.sh records events.jsonl: `vigil events --format json` (as root)
# for $SECS seconds while ./benchmix runs ordinary activity, keeping only
# benchmix's processes and their children (not the rest of the host),
# then every Nth of them so about $KEEP (3000) remain, in order.
#
#   sudo falco/testdata/bench/record.sh bin/vigil
#
# Sanitising: ancestors above record.sh are cut (they are the machine's
# session tooling), derived fields (event.DecodeJSON recomputes them) and
# empty strings, maps and false values are dropped (empty lists are kept:
# proc.args [] is not proc.args absent); no environment is recorded (no --env).
set -euo pipefail
vigil=$(realpath "${1:?usage: record.sh path/to/vigil}")
here=$(cd "$(dirname "$0")" && pwd)
secs=${SECS:-20}
keep=${KEEP:-3000}
work=$(mktemp -d /tmp/benchmix.XXXXXX)
types=exec,open,connect,unlink,mkdir,rename,link,symlink,ptrace,setuid,setgid,module_load,setns,unshare,bpf,dup

"$vigil" events --format json --type "$types" --stats >"$work/raw.jsonl" 2>"$work/stats.txt" &
rec=$!
sleep 2
"$here/benchmix" "$secs" "$work/mix"
sleep 1
kill -INT "$rec"
wait "$rec" || true
tail -n 1 "$work/stats.txt" >&2

jq -c '
	select(.["proc.name"] == "benchmix" or ((.["proc.ancestors"] // []) | index("benchmix")))
	| .["proc.ancestors"] |= (index("record.sh") as $i | if $i == null then . else .[:$i + 1] end)
	| del(.["evt.failed"], .["proc.args_text"], .["proc.argv0"], .["proc.env_text"], .["proc.pargv0"],
		.["file.name"], .["file.dir"], .["file.flags_text"], .["file.mode_text"], .["file.setuid"], .["file.setgid"],
		.["file.read"], .["file.write"], .["file.create"], .["file.trunc"], .["setid.to_root"],
		.["container.image_repository"], .["container.image_tag"])
	| with_entries(select(.value != "" and .value != {} and .value != false and .value != null))
' "$work/raw.jsonl" >"$work/kept.jsonl"
n=$(wc -l <"$work/kept.jsonl")
step=$(( (n + keep - 1) / keep ))
awk -v s="$step" 'NR % s == 1 || s == 1' "$work/kept.jsonl" >"$here/events.jsonl"
echo "recorded $(wc -l <"$work/raw.jsonl"), kept $n, sampled every $step: $(wc -l <"$here/events.jsonl") events" >&2
rm -rf "$work"
