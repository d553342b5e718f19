#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh as OSS-Fuzz runs it for libFuzzer + AddressSanitizer (its
# compilers, flags and variables), into a scratch $OUT, then checks that every fuzz target is
# there with its .dict, .options and seed zip, and runs each from $OUT on its seed zip with
# the flags of its .options and its dictionary (libFuzzer rejects a bad dictionary).
# Usage: oss_fuzz_build_test.sh REPO_ROOT WORK_DIR (WORK_DIR keeps the build between runs).
set -euo pipefail
root=$1
work=$2

fail() {
  printf 'OSS-Fuzz build check FAILED: %s\n' "$*" >&2
  exit 1
}

mkdir -p "$work"
out=$(mktemp -d "$work/out.XXXXXX")
trap 'rm -rf "$out"' EXIT

# What OSS-Fuzz's base-builder exports for FUZZING_ENGINE=libfuzzer SANITIZER=address, except
# that CXXFLAGS lacks its -stdlib=libc++: Debian 12's libc++ 14 has no std::ranges algorithms
# (ranges::copy, ranges::equal), which the libc++ of OSS-Fuzz's current clang has.
export CC=clang CXX=clang++
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
export CXXFLAGS="$CFLAGS"
export LIB_FUZZING_ENGINE="-fsanitize=fuzzer"
export SANITIZER=address FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64 FUZZING_LANGUAGE=c++
SRC=$(dirname "$root")
export SRC WORK=$work OUT=$out

start=$SECONDS
(cd "$root" && bash .clusterfuzzlite/build.sh) >"$work/build.log" 2>&1 || {
  tail -n 40 "$work/build.log" >&2
  fail "build.sh failed (log: $work/build.log)"
}
echo "build.sh: $((SECONDS - start)) s"

targets=()
for source in "$root"/fuzz/*_fuzzer.cc; do
  name=${source##*/}
  targets+=("${name%.cc}")
done
[[ ${#targets[@]} -gt 0 ]] || fail "no fuzz/*_fuzzer.cc"

export ASAN_OPTIONS=detect_leaks=1
for binary in "${targets[@]}"; do
  for file in "$binary" "$binary.dict" "$binary.options" "${binary}_seed_corpus.zip"; do
    [[ -s $out/$file ]] || fail "\$OUT/$file is missing or empty"
  done
  [[ -x $out/$binary ]] || fail "\$OUT/$binary is not executable"
  head -n 1 "$out/$binary.options" | grep -qx '\[libfuzzer\]' ||
    fail "\$OUT/$binary.options does not start with [libfuzzer]"
  flags=()
  while IFS= read -r line; do
    [[ $line =~ ^([A-Za-z_0-9]+)\ =\ (.*)$ ]] || continue
    flags+=("-${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
  done < <(tail -n +2 "$out/$binary.options")
  seeds=$out/seeds-$binary
  mkdir -p "$seeds"
  unzip -q "$out/${binary}_seed_corpus.zip" -d "$seeds"
  count=$(find "$seeds" -type f | wc -l)
  if ! "$out/$binary" -runs=0 "${flags[@]}" -dict="$out/$binary.dict" "$seeds" \
    >"$work/run-$binary.log" 2>&1; then
    tail -n 30 "$work/run-$binary.log" >&2
    fail "$binary from \$OUT failed on its seed zip (log: $work/run-$binary.log)"
  fi
  echo "$binary: $count seed inputs passed from \$OUT with ${flags[*]} and its dictionary"
done
echo "OSS-Fuzz build check passed (${#targets[@]} targets, $((SECONDS - start)) s)"
