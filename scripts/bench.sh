# shellcheck shell=bash
# ./suite bench: build the release preset and run Google Benchmark binaries; save a named
# baseline, compare with one through compare.py and its U test (the regression gate), write
# the HTML report. Sourced by ./suite.
#
# Modes (one per run): run (plain), save NAME, compare NAME. --report may join any of them.

BASELINES_REL=build/release/baselines
REPORT_REL=build/release/report
LATEST_REL=build/release/bench-latest
# Repetitions compare.py's U test needs to be trusted (its own recommendation is 9).
GATE_REPETITIONS=9
GATE_MIN_TIME=0.05
REPORT_REPETITIONS=3
REPORT_MIN_TIME=0.2

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

# run_bench BENCH JSON_OR_EMPTY ARG...
run_bench() {
  local bench=$1 json=$2 args=()
  shift 2
  args=("$@")
  if [[ -n $json ]]; then
    mkdir -p "$(dirname "$json")"
    args+=(--benchmark_out="$json" --benchmark_out_format=json)
  fi
  info "$bench${args[*]:+ ${args[*]}}"
  "$ROOT/build/release/benches/$bench" "${args[@]}"
}

# The baseline's settings file: one "key=value" per line.
baseline_setting() {
  sed -n "s/^$2=//p" "$1" | head -n 1
}

# bench_main MODE NAME JSON FILTER REPORT(yes|no) REPETITIONS MIN_TIME THRESHOLD ALPHA
#            BENCH... -- EXTRA_ARG...
# REPETITIONS and MIN_TIME may be "" (the mode's default).
bench_main() {
  local mode=$1 name=$2 json=$3 filter=$4 report=$5 reps=$6 min_time=$7 threshold=$8 alpha=$9
  shift 9
  local benches=() extra=() bench out failed=() args=() outs=() pairs=() dir settings
  while [[ $# -gt 0 && $1 != -- ]]; do
    benches+=("$1")
    shift
  done
  if [[ ${1:-} == -- ]]; then shift; fi
  extra=("$@")

  dir=$ROOT/$BASELINES_REL/$name
  settings=$dir/settings
  case $mode in
    save)
      reps=${reps:-$GATE_REPETITIONS}
      min_time=${min_time:-$GATE_MIN_TIME}
      ;;
    compare)
      [[ -f $settings ]] || die "no baseline \"$name\" (save one with ./suite bench --save $name)"
      # The comparison runs exactly as the baseline did, unless told otherwise.
      reps=${reps:-$(baseline_setting "$settings" repetitions)}
      min_time=${min_time:-$(baseline_setting "$settings" min_time)}
      if [[ -z $filter ]]; then filter=$(baseline_setting "$settings" filter); fi
      ;;
    run)
      if [[ $report == yes ]]; then
        reps=${reps:-$REPORT_REPETITIONS}
        min_time=${min_time:-$REPORT_MIN_TIME}
      fi
      ;;
  esac
  if [[ -n $filter ]]; then args+=(--benchmark_filter="$filter"); fi
  if [[ -n $reps ]]; then
    args+=(--benchmark_repetitions="$reps" --benchmark_enable_random_interleaving=true)
  fi
  if [[ -n $min_time ]]; then args+=(--benchmark_min_time="$min_time"); fi
  args+=("${extra[@]}")

  ensure_built release "${benches[@]}" || die "could not build the release preset"
  if [[ $mode == save ]]; then
    rm -rf "$dir"
    mkdir -p "$dir"
  fi
  for bench in "${benches[@]}"; do
    case $mode in
      save) out=$dir/$bench.json ;;
      compare) out=$ROOT/$LATEST_REL/$bench.json ;;
      run)
        out=
        if [[ -n $json ]]; then
          out=$(json_path_for "$json" "$bench" "${#benches[@]}")
        elif [[ $report == yes ]]; then
          out=$ROOT/$REPORT_REL/data/$bench.json
        fi
        ;;
    esac
    if ! run_bench "$bench" "$out" "${args[@]}"; then
      warn "$bench failed"
      failed+=("$bench")
      continue
    fi
    if [[ -n $out ]]; then outs+=("$out"); fi
    if [[ $mode == compare ]]; then
      if [[ -f $dir/$bench.json ]]; then
        pairs+=("$dir/$bench.json" "$out")
      else
        warn "$bench is not in baseline \"$name\"; not compared"
      fi
    fi
  done
  if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'bench: failed: %s\n' "${failed[*]}" >&2
    return 1
  fi

  if [[ $mode == save ]]; then
    {
      printf 'repetitions=%s\nmin_time=%s\nfilter=%s\n' "$reps" "$min_time" "$filter"
      printf 'commit=%s\ndate=%s\n' "$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
        "$(date -Iseconds)"
    } >"$settings"
    info "saved baseline \"$name\": ${dir#"$ROOT"/}/ ($reps repetitions, min time ${min_time}s)"
  fi
  if [[ $report == yes && ${#outs[@]} -gt 0 ]]; then
    "$PYTHON" "$ROOT/scripts/bench_report.py" --out "$ROOT/$REPORT_REL" --root "$ROOT" \
      --build-dir "$ROOT/build/release" "${outs[@]}" ||
      die "writing the bench report failed"
  elif [[ $mode == run && -n $json ]]; then
    info "JSON written: ${outs[*]}"
  fi
  if [[ $mode == compare ]]; then
    [[ ${#pairs[@]} -gt 0 ]] || die "nothing to compare with baseline \"$name\""
    "$PYTHON" "$ROOT/scripts/bench_gate.py" --threshold "$threshold" --alpha "$alpha" \
      --label "baseline \"$name\"" "${pairs[@]}"
  fi
}
