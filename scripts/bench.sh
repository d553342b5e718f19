# shellcheck shell=bash
# ./suite bench: build the release preset and run Google Benchmark binaries, optionally
# writing JSON and saving / comparing against a named baseline. Sourced by ./suite.

BASELINES_REL=build/release/baselines

# JSON path for one bench: FILE itself when only one bench runs, else FILE with the bench
# name before the extension (out.json -> out.mem_bench.json; out -> out.mem_bench).
json_path_for() {
  local file=$1 bench=$2 count=$3 dir base
  if [[ $count -eq 1 ]]; then
    printf '%s\n' "$file"
    return
  fi
  dir=$(dirname "$file")
  base=$(basename "$file")
  if [[ $base == ?*.* ]]; then
    printf '%s/%s.%s.%s\n' "$dir" "${base%.*}" "$bench" "${base##*.}"
  else
    printf '%s/%s.%s\n' "$dir" "$base" "$bench"
  fi
}

# run_bench BENCH JSON_OR_EMPTY FILTER_OR_EMPTY EXTRA_ARG...
run_bench() {
  local bench=$1 json=$2 filter=$3 args=()
  shift 3
  if [[ -n $filter ]]; then args+=(--benchmark_filter="$filter"); fi
  if [[ -n $json ]]; then args+=(--benchmark_out="$json" --benchmark_out_format=json); fi
  args+=("$@")
  info "$bench${args[*]:+ ${args[*]}}"
  "$ROOT/build/release/benches/$bench" "${args[@]}"
}

# bench_main JSON FILTER BASELINE BENCH... [-- EXTRA_ARG...]
bench_main() {
  local json=$1 filter=$2 baseline=$3 benches=() extra=() bench out saved failed=()
  shift 3
  while [[ $# -gt 0 && $1 != -- ]]; do
    benches+=("$1")
    shift
  done
  if [[ ${1:-} == -- ]]; then shift; fi
  extra=("$@")

  ensure_built release "${benches[@]}" || die "could not build the release preset"
  if [[ -n $json ]]; then mkdir -p "$(dirname "$json")"; fi
  for bench in "${benches[@]}"; do
    out=
    if [[ -n $json ]]; then out=$(json_path_for "$json" "$bench" "${#benches[@]}"); fi
    saved=
    if [[ -n $baseline ]]; then
      saved=$ROOT/$BASELINES_REL/$baseline/$bench.json
      # A JSON file is needed to save or compare; keep it in the build tree when not asked for.
      if [[ -z $out ]]; then
        out=$ROOT/build/release/bench-latest/$bench.json
        mkdir -p "$(dirname "$out")"
      fi
    fi
    if ! run_bench "$bench" "$out" "$filter" "${extra[@]}"; then
      warn "$bench failed"
      failed+=("$bench")
      continue
    fi
    if [[ -n $baseline ]]; then
      save_or_compare "$bench" "$out" "$saved" "$baseline"
    elif [[ -n $out ]]; then
      info "$bench: JSON written to $out"
    fi
  done
  if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'bench: failed: %s\n' "${failed[*]}" >&2
    return 1
  fi
}

save_or_compare() {
  local bench=$1 out=$2 saved=$3 name=$4
  if [[ -f $saved ]]; then
    printf '\n%s: compared with baseline "%s" (%s)\n' "$bench" "$name" "${saved#"$ROOT"/}"
    python3 "$ROOT/scripts/bench_compare.py" "$saved" "$out"
  else
    mkdir -p "$(dirname "$saved")"
    cp "$out" "$saved"
    info "$bench: saved as baseline \"$name\": ${saved#"$ROOT"/}"
  fi
}
