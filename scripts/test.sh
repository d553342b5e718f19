# shellcheck shell=bash
# ./suite test: format check, then configure + build + ctest per preset, then one summary.
# Sourced by ./suite.

# One row per step, in order.
STEP_NAMES=()
STEP_PASSED=()
STEP_FAILED=()
STEP_SECONDS=()
STEP_RESULTS=()
TOTAL_PASSED=0
TOTAL_FAILED=0
ANY_STEP_FAILED=false

# record_step NAME PASSED FAILED START_EPOCH RESULT   ("-" for counts that do not apply)
record_step() {
  STEP_NAMES+=("$1")
  STEP_PASSED+=("$2")
  STEP_FAILED+=("$3")
  STEP_SECONDS+=("$((EPOCHSECONDS - $4))")
  STEP_RESULTS+=("$5")
  [[ $2 == - ]] || TOTAL_PASSED=$((TOTAL_PASSED + $2))
  [[ $3 == - ]] || TOTAL_FAILED=$((TOTAL_FAILED + $3))
  [[ $5 == ok ]] || ANY_STEP_FAILED=true
  info "step $1: $5"
}

step_format() {
  local start=$EPOCHSECONDS clang_format files=() bad=() log rc
  info "format check"
  clang_format=$(find_tool clang-format-14 clang-format)
  mapfile -d '' files < <(cpp_files)
  log=$ROOT/build/logs/format.log
  set +e
  (cd "$ROOT" && "$clang_format" --dry-run --Werror "${files[@]}") >"$log" 2>&1
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    info "format: all ${#files[@]} C++ files are clang-formatted"
    record_step format - - "$start" ok
    return
  fi
  # "path:line:col: error: code should be clang-formatted [-Wclang-format-violations]"
  mapfile -t bad < <(sed -nE 's/^([^:]+):[0-9]+:[0-9]+: error: .*clang-format-violations.*/\1/p' \
    "$log" | sort -u)
  if [[ ${#bad[@]} -eq 0 ]]; then
    cat "$log" >&2
    record_step format - - "$start" "FAILED (clang-format exit $rc)"
    return
  fi
  printf 'format: %d of %d files need clang-format (fix with ./suite format):\n' \
    "${#bad[@]}" "${#files[@]}" >&2
  printf '  %s\n' "${bad[@]}" >&2
  record_step format - - "$start" "FAILED (${#bad[@]} files)"
}

# run_ctest STEP PRESET START [ctest args...]: runs ctest, parses its totals, records the step.
run_ctest() {
  local step=$1 preset=$2 start=$3 log rc summary passed failed total
  shift 3
  log="$ROOT/build/logs/ctest-$step.log"
  info "ctest $preset${*:+ $*}"
  set +e
  (cd "$ROOT" && ctest --preset "$preset" --output-on-failure --parallel "$(job_count)" "$@") 2>&1 |
    tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  # "90% tests passed, 1 tests failed out of 10"
  summary=$(grep -Eo '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ -z $summary ]]; then
    record_step "$step" 0 0 "$start" "FAILED (ctest exit $rc, no test summary)"
    return
  fi
  failed=${summary%% *}
  total=${summary##* }
  passed=$((total - failed))
  if [[ $rc -eq 0 && $failed -eq 0 ]]; then
    record_step "$step" "$passed" "$failed" "$start" ok
  elif [[ $failed -gt 0 ]]; then
    record_step "$step" "$passed" "$failed" "$start" "FAILED"
  else
    record_step "$step" "$passed" "$failed" "$start" "FAILED (ctest exit $rc)"
  fi
}

# step_preset STEP PRESET [ctest args...]: configure, build all of the preset, ctest. A step
# whose configure or build fails records no test counts.
step_preset() {
  local step=$1 preset=$2 start=$EPOCHSECONDS
  shift 2
  if ! configure_preset "$preset"; then
    record_step "$step" - - "$start" "FAILED (configure)"
  elif ! build_preset "$preset"; then
    record_step "$step" - - "$start" "FAILED (build)"
  else
    run_ctest "$step" "$preset" "$start" "$@"
  fi
}

# The fuzz step: a libFuzzer smoke run of every target, the fuzzing pipeline's own test
# (planted_fuzzer through ./suite fuzz) and the OSS-Fuzz build check. Only the fuzzer binaries
# are built; the OSS-Fuzz check builds its own, in build/fuzz/oss-fuzz-work.
FUZZ_STEP_LABELS='fuzz-smoke|fuzz-pipeline|oss-fuzz'

step_fuzz() {
  local start=$EPOCHSECONDS targets=() t
  mapfile -t targets < <(fuzz_targets)
  if ! configure_preset fuzz; then
    record_step fuzz - - "$start" "FAILED (configure)"
  elif ! build_preset fuzz "${targets[@]/%/_fuzzer}" planted_fuzzer; then
    record_step fuzz - - "$start" "FAILED (build)"
  else
    for t in "${targets[@]}"; do
      [[ -f $ROOT/fuzz/$t.dict ]] || warn "fuzz/$t.dict is missing; the fuzz-smoke.$t test needs it"
    done
    run_ctest fuzz fuzz "$start" -L "$FUZZ_STEP_LABELS"
  fi
}

print_summary() {
  local i
  printf '\n%-12s %8s %8s %8s  %s\n' step passed failed seconds result
  printf '%-12s %8s %8s %8s  %s\n' ------------ -------- -------- -------- ------
  for i in "${!STEP_NAMES[@]}"; do
    printf '%-12s %8s %8s %8s  %s\n' "${STEP_NAMES[i]}" "${STEP_PASSED[i]}" \
      "${STEP_FAILED[i]}" "${STEP_SECONDS[i]}" "${STEP_RESULTS[i]}"
  done
  printf '\n%d passed, %d failed\n' "$TOTAL_PASSED" "$TOTAL_FAILED"
}

# test_main PRESET...: "fuzz" means the fuzz step (ctest -L "$FUZZ_STEP_LABELS" in the fuzz
# preset).
test_main() {
  local preset
  mkdir -p "$ROOT/build/logs"
  step_format
  for preset in "$@"; do
    if [[ $preset == fuzz ]]; then
      step_fuzz
    else
      step_preset "$preset" "$preset"
    fi
  done
  print_summary
  ! $ANY_STEP_FAILED
}
