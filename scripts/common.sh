# shellcheck shell=bash
# Helpers shared by ./suite and the scripts it sources. Sourced, never run.
# Expects ROOT (the repository root) to be set; every path below is relative to it.

# Presets defined in CMakePresets.json; the binary dir of preset P is build/P.
ALL_PRESETS=(dev release asan tsan fuzz coverage afl)
# Debian's python3, where Debian's python3-matplotlib and python3-scipy are installed (a
# python3 earlier on PATH, from pyenv or a virtualenv, would not see them).
# shellcheck disable=SC2034  # used by the scripts that source this one
if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
# C++ sources that must pass clang-format.
CPP_DIRS=(src tests properties fuzz benches tools)

info() { printf '==> %s\n' "$*"; }
warn() { printf 'suite: warning: %s\n' "$*" >&2; }
die() {
  printf 'suite: error: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'suite: %s\nRun "./suite help" for usage.\n' "$*" >&2
  exit 2
}

# Parallelism for builds and ctest; SUITE_JOBS overrides.
job_count() { printf '%s\n' "${SUITE_JOBS:-$(nproc)}"; }

# "a b c" with a separator of ", ".
join_by() {
  local sep=$1 first=$2
  shift 2 || return 0
  printf '%s' "$first" "${@/#/$sep}"
}

contains() {
  local needle=$1 item
  shift
  for item in "$@"; do [[ $item == "$needle" ]] && return 0; done
  return 1
}

require_preset() {
  contains "$1" "${ALL_PRESETS[@]}" ||
    usage_error "unknown preset '$1' (presets: $(join_by ', ' "${ALL_PRESETS[@]}"))"
}

# Value of an option that takes an argument: require_value OPTION "$@" (with $2 the value).
require_value() {
  [[ $# -ge 2 && -n $2 && $2 != --* ]] || usage_error "option $1 needs a value"
}

# ---- CMake ---------------------------------------------------------------------------------

# cmake --preset P; quiet unless it fails (then its whole output is shown).
configure_preset() {
  local preset=$1 log
  mkdir -p "$ROOT/build/logs"
  log="$ROOT/build/logs/configure-$preset.log"
  info "configure $preset"
  if ! (cd "$ROOT" && cmake --preset "$preset") >"$log" 2>&1; then
    cat "$log" >&2
    warn "configuring preset $preset failed (log: ${log#"$ROOT"/})"
    return 1
  fi
}

# cmake --build --preset P [--target T...]; output streams so progress and errors are visible.
build_preset() {
  local preset=$1
  shift
  local target_args=()
  if [[ $# -gt 0 ]]; then target_args=(--target "$@"); fi
  info "build $preset${*:+ ($*)}"
  if ! (cd "$ROOT" && cmake --build --preset "$preset" --parallel "$(job_count)" \
    "${target_args[@]}"); then
    warn "building preset $preset failed"
    return 1
  fi
}

is_configured() { [[ -f $ROOT/build/$1/CMakeCache.txt ]]; }

# Configure (only when build/P has no cache yet) and build the given targets (default: all).
ensure_built() {
  local preset=$1
  shift
  if ! is_configured "$preset"; then
    configure_preset "$preset" || return 1
  fi
  build_preset "$preset" "$@"
}

# ---- discovery -----------------------------------------------------------------------------

# Fuzz targets: fuzz/<T>_fuzzer.cc -> T, sorted.
fuzz_targets() {
  local src
  for src in "$ROOT"/fuzz/*_fuzzer.cc; do
    [[ -e $src ]] || continue
    src=${src##*/}
    printf '%s\n' "${src%_fuzzer.cc}"
  done
}

# Benches: benches/<S>_bench.cc -> S_bench (the CMake target and binary name), sorted.
bench_names() {
  local src
  for src in "$ROOT"/benches/*_bench.cc; do
    [[ -e $src ]] || continue
    src=${src##*/}
    printf '%s\n' "${src%.cc}"
  done
}

# Turn user-given names ("mem" or "mem_fuzzer") into known names; prints one per line.
# resolve_names KIND SUFFIX KNOWN_NAME... -- GIVEN...
resolve_names() {
  local kind=$1 suffix=$2 known=() name
  shift 2
  while [[ $1 != -- ]]; do
    known+=("$1")
    shift
  done
  shift
  for name in "$@"; do
    if contains "$name" "${known[@]}"; then
      printf '%s\n' "$name"
    elif [[ -n $suffix ]] && contains "$name$suffix" "${known[@]}"; then
      printf '%s\n' "$name$suffix"
    elif [[ -n $suffix ]] && contains "${name%"$suffix"}" "${known[@]}"; then
      printf '%s\n' "${name%"$suffix"}"
    else
      usage_error "unknown $kind '$name' (known: $(join_by ', ' "${known[@]}"))"
    fi
  done
}

# fuzzer_binary PRESET TARGET
fuzzer_binary() { printf '%s\n' "$ROOT/build/$1/fuzz/$2_fuzzer"; }

# Committed corpus directories of a target that exist (seed, regressions), one per line.
corpus_dirs() {
  local dir
  for dir in "$ROOT/corpus/$1/seed" "$ROOT/corpus/$1/regressions"; do
    if [[ -d $dir ]]; then printf '%s\n' "$dir"; fi
  done
}

# C++ files subject to clang-format, NUL-separated, relative to ROOT. Tracked and untracked
# (but not ignored) files when this is a git work tree, else everything under CPP_DIRS.
cpp_files() {
  local file
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard -- "${CPP_DIRS[@]}" |
      while IFS= read -r -d '' file; do
        # --cached lists files deleted from the work tree too.
        if [[ -f $ROOT/$file ]]; then printf '%s\0' "$file"; fi
      done
  else
    (cd "$ROOT" && find "${CPP_DIRS[@]}" -type f -print0 2>/dev/null)
  fi | while IFS= read -r -d '' file; do
    case $file in
      *.cc | *.cpp | *.cxx | *.h | *.hh | *.hpp | *.inl) printf '%s\0' "$file" ;;
    esac
  done
}

# ---- tools ---------------------------------------------------------------------------------

# First of the given commands that exists, e.g. find_tool llvm-cov-14 llvm-cov.
find_tool() {
  local tool
  for tool in "$@"; do
    if command -v "$tool" >/dev/null 2>&1; then
      printf '%s\n' "$tool"
      return 0
    fi
  done
  die "none of these commands is installed: $* (run ./suite deps)"
}

# Sanitizer settings the ctest presets use, for binaries run outside ctest. Values already
# in the environment win.
export_sanitizer_options() {
  local dir=$ROOT/sanitizers
  export ASAN_OPTIONS="${ASAN_OPTIONS:-include=$dir/asan.options:suppressions=$dir/asan.supp}"
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$dir/lsan.supp}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-include=$dir/ubsan.options:suppressions=$dir/ubsan.supp}"
  export TSAN_OPTIONS="${TSAN_OPTIONS:-include=$dir/tsan.options:suppressions=$dir/tsan.supp}"
}

# Subsystems: the folders directly under src/, one per line.
subsystems() {
  local dir
  for dir in "$ROOT"/src/*/; do
    dir=${dir%/}
    printf '%s\n' "${dir##*/}"
  done
}

# Count of regular files directly inside a directory (0 when it does not exist).
count_files() {
  [[ -d $1 ]] || {
    echo 0
    return
  }
  find "$1" -maxdepth 1 -type f | wc -l
}
