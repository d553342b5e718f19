# shellcheck shell=bash
# ./suite fuzz: run libFuzzer targets from the fuzz preset for a time budget, keep a minimal
# working corpus in the build tree, and turn crashes into committed regression inputs.
# Sourced by ./suite.

FUZZ_DIR_REL=build/fuzz
FUZZ_WORK=$ROOT/$FUZZ_DIR_REL/corpus-work
FUZZ_LOGS=$ROOT/$FUZZ_DIR_REL/logs
FUZZ_CRASHES=$ROOT/$FUZZ_DIR_REL/crashes
MINIMIZE_TIMEOUT_S=600

# libFuzzer flags from fuzz/<T>.options: one per line, '#' starts a comment.
read_fuzz_options() {
  local file=$ROOT/fuzz/$1.options line
  [[ -f $file ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%%#*}
    line=${line#"${line%%[![:space:]]*}"}
    line=${line%"${line##*[![:space:]]}"}
    if [[ -z $line ]]; then continue; fi
    [[ $line == -* ]] || die "fuzz/$1.options: not a libFuzzer flag: '$line'"
    printf '%s\n' "$line"
  done <"$file"
}

# First use: create build/fuzz/corpus-work/<T> from the committed seed and regressions.
seed_work_corpus() {
  local target=$1 work=$FUZZ_WORK/$1 dir dirs=()
  if [[ -d $work ]]; then return 0; fi
  mkdir -p "$work"
  mapfile -t dirs < <(corpus_dirs "$target")
  for dir in "${dirs[@]}"; do
    find "$dir" -maxdepth 1 -type f -exec cp -t "$work" {} +
  done
  info "$target: new working corpus ${work#"$ROOT"/} with $(count_files "$work") inputs"
}

# Replace the working corpus by its -merge=1 minimization. On failure the old one stays.
merge_work_corpus() {
  local target=$1 bin=$2 work=$FUZZ_WORK/$1 fresh=$FUZZ_WORK/.$1.merging
  local old=$FUZZ_WORK/.$1.old log=$FUZZ_LOGS/$1.merge.log before after
  shift 2
  rm -rf "$fresh" "$old"
  mkdir -p "$fresh"
  before=$(count_files "$work")
  if ! "$bin" -merge=1 "$@" "$fresh" "$work" >"$log" 2>&1; then
    rm -rf "$fresh"
    warn "$target: merging the working corpus failed; kept it unmerged (log: ${log#"$ROOT"/})"
    return 1
  fi
  mv "$work" "$old"
  mv "$fresh" "$work"
  rm -rf "$old"
  after=$(count_files "$work")
  info "$target: merged working corpus: $before -> $after inputs"
}

# Minimize one crash artifact and store it as corpus/<T>/regressions/<sha1[:12]>. Sets
# STORED_PATH to the new file (relative to ROOT), or to "" when it was already there.
store_crash() {
  local target=$1 bin=$2 artifact=$3 min input hash dest
  shift 3
  STORED_PATH=
  min=$(dirname "$artifact")/minimized-$(basename "$artifact")
  info "$target: minimizing ${artifact#"$ROOT"/}"
  # Non-zero also when the input cannot be made smaller; the file tells what happened.
  timeout "$MINIMIZE_TIMEOUT_S" "$bin" -minimize_crash=1 -runs=20000 "$@" \
    -exact_artifact_path="$min" "$artifact" >"$FUZZ_LOGS/$target.minimize.log" 2>&1 || true
  if [[ -s $min ]]; then
    input=$min
    info "$target: minimized $(wc -c <"$artifact") -> $(wc -c <"$min") bytes"
  else
    input=$artifact
    info "$target: no smaller crashing input found; storing the artifact as is" \
      "(log: ${FUZZ_LOGS#"$ROOT"/}/$target.minimize.log)"
  fi
  hash=$(sha1sum <"$input" | cut -c1-12)
  dest=corpus/$target/regressions/$hash
  if [[ -e $ROOT/$dest ]]; then
    info "$target: this crash is already a regression input: $dest"
    return 0
  fi
  mkdir -p "$ROOT/corpus/$target/regressions"
  cp "$input" "$ROOT/$dest"
  STORED_PATH=$dest
}

# The sanitizer / libFuzzer report of a crash, from the log.
show_crash_report() {
  local log=$1
  printf -- '---- %s (from the first error) ----\n' "${log#"$ROOT"/}"
  awk '/ERROR|==[0-9]+==|deadly signal|runtime error/ { on = 1 } on' "$log" | head -n 60
  printf -- '----\n'
}

write_summary() {
  local file=$FUZZ_LOGS/$1.summary
  shift
  printf '%s\n' "$@" >"$file"
}

# fuzz_one_target T SECONDS JOBS: sets FUZZ_STATUS ("ok", "crashed", ...) and writes
# build/fuzz/logs/<T>.summary for the report.
fuzz_one_target() {
  local target=$1 seconds=$2 jobs=$3
  local bin log crash_dir start rc status=ok stored=() artifact path options flags=() args=()
  bin=$(fuzzer_binary fuzz "$target")
  log=$FUZZ_LOGS/$target.log
  crash_dir=$FUZZ_CRASHES/$target/$(date +%Y%m%d-%H%M%S)
  mkdir -p "$crash_dir" "$FUZZ_LOGS"
  seed_work_corpus "$target"
  options=$(read_fuzz_options "$target")
  if [[ -n $options ]]; then mapfile -t flags <<<"$options"; fi

  args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$crash_dir/")
  if [[ -f $ROOT/fuzz/$target.dict ]]; then
    args+=(-dict="$ROOT/fuzz/$target.dict")
  else
    warn "fuzz/$target.dict not found; fuzzing $target without a dictionary"
  fi
  args+=("${flags[@]}")
  if [[ $jobs -gt 1 ]]; then args+=(-fork="$jobs" -ignore_crashes=0); fi

  info "$target: fuzzing for ${seconds}s (log: ${log#"$ROOT"/})"
  printf '    %s\n' "${bin#"$ROOT"/} ${args[*]} ${FUZZ_WORK#"$ROOT"/}/$target"
  start=$EPOCHSECONDS
  set +e
  (cd "$ROOT" && "$bin" "${args[@]}" "$FUZZ_WORK/$target") 2>&1 |
    python3 "$ROOT/scripts/fuzz_progress.py" --log "$log" --label "$target" --seconds "$seconds"
  rc=${PIPESTATUS[0]}
  set -e
  local elapsed=$((EPOCHSECONDS - start))

  local artifacts=()
  for artifact in "$crash_dir"/{crash,leak,timeout,oom}-*; do
    if [[ -f $artifact ]]; then artifacts+=("$artifact"); fi
  done
  # Keep build/fuzz/crashes/<T>/ to the runs that left something.
  rmdir "$crash_dir" 2>/dev/null || true
  if [[ $rc -ne 0 && ${#artifacts[@]} -gt 0 ]]; then
    status=crashed
    show_crash_report "$log"
    for artifact in "${artifacts[@]}"; do
      store_crash "$target" "$bin" "$artifact" "${flags[@]}"
      if [[ -n $STORED_PATH ]]; then stored+=("$STORED_PATH"); fi
    done
  elif [[ $rc -ne 0 ]]; then
    status="failed (exit $rc, no artifact)"
    warn "$target: libFuzzer exited with status $rc without a crash artifact; last lines of the log:"
    tail -n 30 "$log" >&2
  fi

  if ! merge_work_corpus "$target" "$bin" "${flags[@]}"; then
    if [[ $status == ok ]]; then status="merge failed"; fi
  fi

  for path in "${stored[@]}"; do
    printf '\n%s: NEW REGRESSION INPUT %s\n' "$target" "$path"
    printf '  reproduce: %s %s\n' "$FUZZ_DIR_REL/fuzz/${target}_fuzzer" "$path"
    printf '  commit it: git add %s  (and describe it in corpus/README.md)\n' "$path"
  done

  write_summary "$target" "target=$target" "seconds=$elapsed" "status=$status" \
    "log=$log" "corpus_files=$(count_files "$FUZZ_WORK/$target")" "crashes_stored=${#stored[@]}"
  FUZZ_STATUS=$status
}

# fuzz_main TOTAL_SECONDS JOBS TARGET...
fuzz_main() {
  local total=$1 jobs=$2 target per failed=() summaries=()
  shift 2
  per=$((total / $#))
  [[ $per -ge 1 ]] || usage_error "a budget of ${total}s is less than 1s per target for $# targets"
  ensure_built fuzz "${@/%/_fuzzer}" || die "could not build the fuzz preset"
  export_sanitizer_options
  info "fuzzing $# target(s) for ${per}s each, $jobs job(s) per target"
  for target in "$@"; do
    fuzz_one_target "$target" "$per" "$jobs"
    if [[ $FUZZ_STATUS != ok ]]; then failed+=("$target"); fi
    summaries+=("$FUZZ_LOGS/$target.summary")
  done
  echo
  python3 "$ROOT/scripts/fuzz_report.py" "${summaries[@]}"
  if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'fuzz: failed: %s\n' "${failed[*]}" >&2
    return 1
  fi
}
