#!/usr/bin/env bash
# The session functions below are called through run_both.
# shellcheck disable=SC2317
# Runs real programs with and without LD_PRELOAD=SHIM and fails when any output differs
# (ctest label: shim): a python3 workload, sort of a generated file (one and two threads), git
# on a small repository (commit, log, gc with pack-objects threads), a C++ compile and the
# compiled program's run, and the test binaries given after the shim.
#   real_programs.sh SHIM [TEST_BINARY...]
set -euo pipefail
shim=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LC_ALL=C PYTHONHASHSEED=0
python=/usr/bin/python3
[[ -x $python ]] || python=python3
failed=0

# run_both NAME COMMAND...: the command's stdout and exit status, plain and preloaded, must match.
run_both() {
  local name=$1 plain_status=0 shim_status=0
  shift
  (cd "$work" && "$@") >"$work/$name.plain" 2>"$work/$name.plain.err" || plain_status=$?
  (cd "$work" && LD_PRELOAD=$shim "$@") >"$work/$name.shim" 2>"$work/$name.shim.err" ||
    shim_status=$?
  if [[ $plain_status -ne $shim_status ]]; then
    printf 'FAIL %s: exit status %s without the shim, %s with it\n' "$name" "$plain_status" \
      "$shim_status"
    sed 's/^/  shim stderr: /' "$work/$name.shim.err" | tail -n 20
    failed=1
  elif ! cmp -s "$work/$name.plain" "$work/$name.shim"; then
    printf 'FAIL %s: output differs under the shim\n' "$name"
    diff "$work/$name.plain" "$work/$name.shim" | head -n 20
    failed=1
  else
    printf 'ok   %s (%s lines of output)\n' "$name" "$(wc -l <"$work/$name.plain")"
  fi
}

run_both python "$python" "$here/python_workload.py" 1

"$python" -c '
import random
r = random.Random(7)
with open("lines.txt", "w") as f:
    for i in range(150000):
        f.write("%08d %s\n" % (r.randrange(10**8), "".join(r.choice("abcdefgh") for _ in range(r.randrange(1, 40)))))
' && mv lines.txt "$work/"
run_both sort sort "$work/lines.txt"
run_both sort_numeric_parallel sort -n -k1,1 -S 8M --parallel=2 "$work/lines.txt"

git_session() {
  local repo
  repo=$(mktemp -d "$work/repo.XXXX")
  export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t
  export GIT_COMMITTER_EMAIL=t@example.com GIT_AUTHOR_DATE='2020-01-01T00:00:00Z'
  export GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1 HOME=$repo
  git -C "$repo" init -q -b main
  for i in $(seq 1 40); do
    seq "$i" 3 4000 >"$repo/file$i.txt"
  done
  git -C "$repo" add .
  git -C "$repo" commit -q -m first
  for i in $(seq 1 40 | sed -n '1~3p'); do
    seq 1 "$i" >>"$repo/file$i.txt"
  done
  git -C "$repo" commit -q -am second
  git -C "$repo" log --stat --format='%H %s'
  git -C "$repo" gc -q --aggressive
  git -C "$repo" count-objects -v | grep -v size
  git -C "$repo" diff HEAD~1 --stat
}
run_both git git_session

cat >"$work/program.cc" <<'CC'
#include <iostream>
#include <map>
#include <string>
#include <vector>
int main() {
  std::map<std::string, std::vector<int>> index;
  for (int i = 0; i < 100000; ++i) index[std::to_string(i % 977)].push_back(i);
  long sum = 0;
  for (const auto& [key, values] : index) sum += static_cast<long>(key.size() * values.size());
  std::cout << index.size() << " " << sum << "\n";
}
CC
compile_and_run() {
  local out
  out=$(mktemp -d "$work/build.XXXX")
  g++ -O1 -frandom-seed=vmmem -c "$work/program.cc" -o "$out/program.o"
  g++ "$out/program.o" -o "$out/program"
  md5sum <"$out/program.o"
  "$out/program"
}
run_both cxx_compile compile_and_run

# GoogleTest binaries: their output without the timings.
gtest_run() {
  "$1" --gtest_brief=1 | sed -E 's/ \([0-9]+ ms[^)]*\)//g'
}
for binary in "$@"; do
  run_both "$(basename "$binary")" gtest_run "$binary"
done

exit "$failed"
