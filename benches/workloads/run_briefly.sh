#!/usr/bin/env bash
# Runs every allocator workload briefly without and with LD_PRELOAD=SHIM (plain and hardened)
# and fails when a checksum differs or a run fails (ctest shim.workloads).
#   run_briefly.sh SHIM WORKLOAD_DIR
set -euo pipefail
shim=$1
dir=$2
failed=0
while read -r name args; do
  # shellcheck disable=SC2086  # args are words on purpose
  expected=$("$dir/$name" $args 2>/dev/null)
  for options in "" hardened; do
    # shellcheck disable=SC2086
    if ! got=$(LD_PRELOAD=$shim VMMEM_MALLOC=$options "$dir/$name" $args 2>/dev/null); then
      printf 'FAIL %s (VMMEM_MALLOC=%s): exit status\n' "$name" "$options"
      failed=1
    elif [[ $got != "$expected" ]]; then
      printf 'FAIL %s (VMMEM_MALLOC=%s): %s, %s without the shim\n' "$name" "$options" "$got" \
        "$expected"
      failed=1
    else
      printf 'ok   %s (VMMEM_MALLOC=%s): %s\n' "$name" "$options" "$got"
    fi
  done
done <<'LIST'
churn 200000 5000
larson 4 6 10000 500
xthread 2 100000
cache_scratch 4 20 1000 8
realloc_grow 3 50 256
LIST
exit "$failed"
