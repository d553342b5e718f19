#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script. Runs from the source tree (the builder image's
# WORKDIR, $SRC/vmmem) and builds every fuzz/<T>_fuzzer.cc with the compilers and flags the
# service sets ($CC $CXX $CFLAGS $CXXFLAGS, $LIB_FUZZING_ENGINE for main()), in $WORK, into
# $OUT:
#   <T>_fuzzer                  the target
#   <T>_fuzzer.dict             fuzz/<T>.dict
#   <T>_fuzzer.options          fuzz/<T>.options in the [libfuzzer] form OSS-Fuzz reads
#   <T>_fuzzer_seed_corpus.zip  corpus/<T>/seed and corpus/<T>/regressions
# fuzz/pipeline/oss_fuzz_build_test.sh runs it locally with OSS-Fuzz's libFuzzer + ASan flags.

src=$PWD
[[ -d $src/fuzz && -f $src/CMakeLists.txt ]] || {
  echo "build.sh: run it from the vmmem source tree (not $src)" >&2
  exit 1
}
build=$WORK/vmmem-build
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi

targets=()
for source in "$src"/fuzz/*_fuzzer.cc; do
  name=${source##*/}
  targets+=("${name%_fuzzer.cc}")
done

# No build type: the flags are exactly the service's. Fuzz targets only (no tests, benches).
cmake -S "$src" -B "$build" "${generator[@]}" \
  -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DCMAKE_BUILD_TYPE= \
  -DBUILD_TESTING=OFF \
  -DVMMEM_BENCHES=OFF \
  -DVMMEM_WERROR=OFF \
  -DVMMEM_FUZZ_ENGINE=libfuzzer \
  -DVMMEM_FUZZ_ENGINE_LINK="$LIB_FUZZING_ENGINE"
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]/%/_fuzzer}"

for target in "${targets[@]}"; do
  binary=${target}_fuzzer
  cp "$build/fuzz/$binary" "$OUT/$binary"
  if [[ -f $src/fuzz/$target.dict ]]; then
    cp "$src/fuzz/$target.dict" "$OUT/$binary.dict"
  fi
  # "-name=value" lines (comments and blank lines dropped) -> "name = value" under [libfuzzer].
  {
    echo "[libfuzzer]"
    if [[ -f $src/fuzz/$target.options ]]; then
      sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$src/fuzz/$target.options" |
        sed -n 's/^-\([A-Za-z_0-9]*\)=\(.*\)$/\1 = \2/p'
    fi
  } >"$OUT/$binary.options"
  rm -f "$OUT/${binary}_seed_corpus.zip"
  inputs=()
  for folder in seed regressions; do
    if [[ -d $src/corpus/$target/$folder ]]; then
      while IFS= read -r -d '' file; do inputs+=("$file"); done \
        < <(find "$src/corpus/$target/$folder" -maxdepth 1 -type f -print0)
    fi
  done
  if [[ ${#inputs[@]} -gt 0 ]]; then
    zip -q -j "$OUT/${binary}_seed_corpus.zip" "${inputs[@]}"
  fi
done
