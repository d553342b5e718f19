# shellcheck shell=bash
# ./suite fuzz: build what the run needs, then hand over to scripts/fuzz_campaign.py (workers,
# corpus merges, triage of findings, coverage, the report). Sourced by ./suite.

# fuzz_main SECONDS JOBS ENGINE COVERAGE(yes|no) MINIMIZE_S CORPUS OUT FROM TARGET...
# FROM: a folder of prebuilt libFuzzer binaries (and their .options/.dict); "" builds the
# fuzz preset.
fuzz_main() {
  local seconds=$1 jobs=$2 engine=$3 coverage=$4 minimize=$5 corpus=$6 out=$7 from=$8
  shift 8
  local args=() binaries=("${@/%/_fuzzer}") bin_dir rc
  [[ $((seconds / $#)) -ge 1 ]] ||
    usage_error "a budget of ${seconds}s is less than 1s per target for $# targets"

  if [[ -n $from ]]; then
    bin_dir=$from
    args+=(--config-dir "$from" --config-dir "$ROOT/fuzz")
  else
    ensure_built fuzz "${binaries[@]}" || die "could not build the fuzz preset"
    bin_dir=$ROOT/build/fuzz/fuzz
    args+=(--config-dir "$ROOT/fuzz" --build-dir "$ROOT/build/fuzz")
  fi
  if [[ $engine == afl ]]; then
    find_tool afl-fuzz >/dev/null
    ensure_built afl "${binaries[@]}" || die "could not build the afl preset (afl-clang-fast++)"
    args+=(--afl-bin-dir "$ROOT/build/afl/fuzz")
  fi
  if [[ $coverage == yes ]]; then
    # Built before fuzzing, so a long run does not end in a failed build.
    ensure_built coverage "${binaries[@]}" || die "could not build the coverage preset"
    args+=(--coverage-bin-dir "$ROOT/build/coverage/fuzz"
      --profdata "$(find_tool llvm-profdata-14 llvm-profdata)"
      --cov "$(find_tool llvm-cov-14 llvm-cov)")
  fi
  export_sanitizer_options
  info "fuzzing $# target(s) with $engine on $jobs workers for ${seconds}s in all"
  set +e
  "$PYTHON" "$ROOT/scripts/fuzz_campaign.py" --root "$ROOT" --out "$out" --corpus "$corpus" \
    --bin-dir "$bin_dir" --seconds "$seconds" --jobs "$jobs" --engine "$engine" \
    --minimize-seconds "$minimize" "${args[@]}" "$@"
  rc=$?
  set -e
  case $rc in
    0) ;;
    1) printf 'fuzz: findings (see the report above; new regression inputs are under %s)\n' \
      "${corpus#"$ROOT"/}/<target>/regressions" >&2 ;;
    3) printf 'fuzz: the run itself had errors (see the report above)\n' >&2 ;;
    *) printf 'fuzz: scripts/fuzz_campaign.py failed (exit %s)\n' "$rc" >&2 ;;
  esac
  return "$rc"
}
