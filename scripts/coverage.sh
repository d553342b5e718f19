# shellcheck shell=bash
# ./suite coverage: replay every corpus through every fuzz target in the coverage preset and
# report source-based coverage of src/ (text, HTML, and a line per subsystem src/<S>/).
# Sourced by ./suite.

COV_DIR_REL=build/coverage

# Replays corpus/<T>/{seed,regressions} through the coverage build of T, writing profiles.
coverage_replay() {
  local target=$1 bin dirs=() dir inputs=0 log
  bin=$(fuzzer_binary coverage "$target")
  log=$ROOT/$COV_DIR_REL/logs/replay-$target.log
  mapfile -t dirs < <(corpus_dirs "$target")
  if [[ ${#dirs[@]} -eq 0 ]]; then
    warn "$target: no corpus under corpus/$target; its code gets no coverage"
    return 0
  fi
  for dir in "${dirs[@]}"; do inputs=$((inputs + $(count_files "$dir"))); done
  info "$target: replaying $inputs inputs"
  if ! LLVM_PROFILE_FILE="$ROOT/$COV_DIR_REL/profiles/%p-%m.profraw" \
    "$bin" -runs=0 "${dirs[@]}" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    warn "$target: replay failed (log: ${log#"$ROOT"/}); coverage below is from what ran"
    return 1
  fi
}

# coverage_main SUBSYSTEM...: none means all of src/.
coverage_main() {
  local targets=() target sources=() objects=() profdata profdata_tool cov_tool rc=0 s
  mapfile -t targets < <(fuzz_targets)
  [[ ${#targets[@]} -gt 0 ]] || die "no fuzz targets (fuzz/*_fuzzer.cc)"
  if [[ $# -eq 0 ]]; then
    sources=("$ROOT/src")
  else
    for s in "$@"; do sources+=("$ROOT/src/$s"); done
  fi
  profdata_tool=$(find_tool llvm-profdata-14 llvm-profdata)
  cov_tool=$(find_tool llvm-cov-14 llvm-cov)

  ensure_built coverage "${targets[@]/%/_fuzzer}" || die "could not build the coverage preset"
  rm -rf "${ROOT:?}/$COV_DIR_REL/profiles" "${ROOT:?}/$COV_DIR_REL/html"
  mkdir -p "$ROOT/$COV_DIR_REL/profiles" "$ROOT/$COV_DIR_REL/logs"
  for target in "${targets[@]}"; do
    coverage_replay "$target" || rc=1
    if [[ ${#objects[@]} -eq 0 ]]; then
      objects=("$(fuzzer_binary coverage "$target")")
    else
      objects+=(-object "$(fuzzer_binary coverage "$target")")
    fi
  done
  compgen -G "$ROOT/$COV_DIR_REL/profiles/*.profraw" >/dev/null ||
    die "no profiles were written under $COV_DIR_REL/profiles (is the coverage preset instrumented?)"

  profdata=$ROOT/$COV_DIR_REL/coverage.profdata
  "$profdata_tool" merge -sparse "$ROOT/$COV_DIR_REL/profiles/"*.profraw -o "$profdata"
  echo
  "$cov_tool" report -instr-profile="$profdata" "${objects[@]}" "${sources[@]}"
  "$cov_tool" show -format=html -output-dir="$ROOT/$COV_DIR_REL/html" \
    -instr-profile="$profdata" "${objects[@]}" "${sources[@]}"
  printf '\nline coverage per subsystem:\n'
  "$cov_tool" export -summary-only -instr-profile="$profdata" "${objects[@]}" "${sources[@]}" |
    "$PYTHON" "$ROOT/scripts/coverage_summary.py" --root "$ROOT"
  printf '\nHTML: %s/html/index.html\n' "$COV_DIR_REL"
  return "$rc"
}
