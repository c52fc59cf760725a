#!/usr/bin/env bash
# Writes a rules file with a kill rule on opens of N paths and a deny rule
# on connects to N CIDRs (none of them what bench/loop touches), for
# BENCH_MODE=policy: the kernel cost of a policy of N entries.
set -euo pipefail
n=${1:?usage: policy-rules.sh N}
paths=() nets=()
for ((i = 0; i < n; i++)); do
	paths+=("\"/srv/deny/$i/secret\"")
	nets+=("\"10.$((i / 256)).$((i % 256)).0/24\"")
done
join() { local IFS=,; echo "$*"; }
cat <<YAML
- rule: Bench forbidden files
  desc: opens of any of $n paths kill the process
  condition: evt.type == "open" && file.path in [$(join "${paths[@]}")]
  output: forbidden open of %file.path by %proc.name
  priority: critical
  action: kill
- rule: Bench forbidden networks
  desc: connects to any of $n networks are denied
  condition: evt.type == "connect" && net.dip.inCidrs([$(join "${nets[@]}")])
  output: forbidden connect to %net.dip by %proc.name
  priority: critical
  action: deny
YAML
