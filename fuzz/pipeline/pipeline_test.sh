#!/usr/bin/env bash
# The fuzzing pipeline end to end, on planted_fuzzer (see planted_fuzzer.cc) with a scratch
# corpus and output folder in the build tree:
#   1. ./suite fuzz on two workers finds the planted crash and the planted hang, files each
#      once (kinds crash and timeout) and minimizes the crash to exactly "BUG!";
#   2. a later run hits the crash again: counted, not stored again;
#   3. the reproduce command the report lists, and a replay of the scratch corpus, fail on it;
#   4. the committed corpus is untouched.
# Usage: pipeline_test.sh REPO_ROOT BINARY_DIR (BINARY_DIR holds planted_fuzzer).
set -euo pipefail
root=$1
bin=$2
scratch=$bin/pipeline-test
corpus=$scratch/corpus
regressions=$corpus/planted/regressions
python=python3
if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; fi

fail() {
  printf 'pipeline test FAILED: %s\n' "$*" >&2
  exit 1
}

committed_corpus_state() {
  find "$root/corpus" -type f -printf '%P %s %T@\n' | sort | sha1sum
}

# fuzz_run SECONDS LOG: ./suite fuzz on the scratch corpus; expects exit 1 (findings). Four
# seconds of minimization: one was not always enough to cut a 5-byte crash to 4 on a loaded
# machine, where libFuzzer's first minimizing child alone can take that long to start.
fuzz_run() {
  local rc=0
  SUITE_SKIP_DEPS=1 "$root/suite" fuzz --seconds "$1" --jobs 2 --minimize-seconds 4 \
    --corpus "$corpus" --out "$scratch/out" --from "$bin" planted >"$2" 2>&1 || rc=$?
  [[ $rc -eq 1 ]] || {
    cat "$2" >&2
    fail "./suite fuzz exited $rc, expected 1 (findings); log above"
  }
}

# finding FIELD KIND FUNCTION: FIELD of the one finding of that kind whose stack signature
# names FUNCTION, from the scratch findings.json.
finding() {
  "$python" - "$scratch/out/findings.json" "$@" <<'PY'
import json, sys
path, field, kind, function = sys.argv[1:]
records = [r for r in json.load(open(path)).values()
           if r["kind"] == kind and any(function in f for f in r["frames"])]
if len(records) != 1:
    sys.exit(f"{len(records)} findings of kind {kind} in {function}, expected 1")
value = records[0][field]
print(" ".join(value) if isinstance(value, list) else value)
PY
}

rm -rf "$scratch"
mkdir -p "$corpus/planted/seed"
printf 'seed-input-one' >"$corpus/planted/seed/one"
printf 'another-seed' >"$corpus/planted/seed/two"
before=$(committed_corpus_state)

start=$SECONDS
fuzz_run 8 "$scratch/run1.log"
crash_file=$(finding stored crash read_past_end) || fail "no crash finding in read_past_end"
timeout_file=$(finding stored timeout spin_forever) || fail "no timeout finding in spin_forever"
if [[ $(cat "$crash_file") != "BUG!" ]]; then
  for log in "$scratch"/out/runs/*/planted/minimize/minimize-*.log; do
    [[ -f $log ]] && { printf '==> %s\n' "$log"; grep -v '^ \|^==\|^Shadow\|^  0x' "$log"; } >&2
  done
  fail "the stored crash is not minimized to \"BUG!\": $(xxd "$crash_file" | head -3)"
fi
[[ $(find "$regressions" -type f | wc -l) -eq 2 ]] ||
  fail "expected 2 regression inputs (crash, timeout), found: $(ls "$regressions")"
[[ -s $scratch/out/report/index.html && -s $scratch/out/report/report.txt ]] ||
  fail "no report in $scratch/out/report"
echo "run 1: crash and timeout filed ($((SECONDS - start)) s);" \
  "crash hits so far: $(finding count crash read_past_end)"

# Hitting the crash again is up to the fuzzer's luck: on a loaded machine a worker can spend a
# short run on the hang (a second per timeout, then a restart). So the later runs repeat, up to
# three, until the crash has been hit again; none of them may store anything.
start=$SECONDS
hits=$(finding count crash read_past_end)
first_hits=$hits
for run in 2 3 4; do
  fuzz_run 4 "$scratch/run$run.log"
  [[ $(find "$regressions" -type f | wc -l) -eq 2 ]] ||
    fail "run $run stored again: $(ls "$regressions")"
  hits=$(finding count crash read_past_end)
  [[ $hits -gt $first_hits ]] && break
done
[[ $hits -gt $first_hits ]] ||
  fail "the crash was not hit again in three more runs (hits: $hits); logs: $scratch/run*.log"
echo "runs 2-$run: nothing stored again ($((SECONDS - start)) s); crash hits in all: $hits"

# The reproduce command, as the report prints it (relative to the repository root).
repro=$(finding reproduce crash read_past_end)
if (cd "$root" && $repro) >"$scratch/reproduce.log" 2>&1; then
  fail "the reproduce command passed: $repro"
fi
grep -q 'heap-buffer-overflow' "$scratch/reproduce.log" || fail "reproduce: no ASan report"
if "$bin/planted_fuzzer" -runs=0 -timeout=1 "$corpus/planted/seed" "$regressions" \
  >"$scratch/replay.log" 2>&1; then
  fail "a replay of the scratch corpus passed"
fi
[[ -f $timeout_file ]] || fail "the timeout input is gone"
"$bin/planted_fuzzer" -runs=0 -timeout=1 "$corpus/planted/seed" >/dev/null 2>&1 ||
  fail "the seed alone fails; the planted target is broken"

[[ $(committed_corpus_state) == "$before" ]] || fail "the committed corpus changed"
echo "pipeline test passed"
