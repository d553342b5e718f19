# shellcheck shell=bash
# Debian packages the project needs, and their installation. Sourced by ./suite.

# The one list of packages. Add new ones here.
DEBIAN_PACKAGES=(
  cmake
  ninja-build
  g++
  clang
  libclang-rt-14-dev # sanitizer and libFuzzer runtimes for clang 14
  llvm               # llvm-profdata-14, llvm-cov-14, llvm-symbolizer-14
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  librapidcheck-dev
  clang-format
  python3
  # ./suite fuzz --engine afl; zip and unzip for the OSS-Fuzz build check's seed corpora
  afl++
  zip
  unzip
  # ./suite bench --save/--compare (Google Benchmark's compare.py, its U test) and --report
  libbenchmark-tools
  python3-scipy
  python3-matplotlib
  # ./suite bench --against --cachegrind
  valgrind
  # allocator and collector peers, measured in the same bench run
  libmimalloc-dev
  libjemalloc-dev
  libgoogle-perftools-dev
  libgc-dev
)

is_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing_packages() {
  local pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    is_installed "$pkg" || printf '%s\n' "$pkg"
  done
}

# apt-get, as root or through sudo, never asking questions.
apt_run() {
  local cmd=(env DEBIAN_FRONTEND=noninteractive apt-get "$@")
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "not root and sudo is missing; cannot run apt-get $*"
    cmd=(sudo "${cmd[@]}")
  fi
  "${cmd[@]}"
}

# True when apt knows an installation candidate for every given package.
apt_has_candidates() {
  local pkg
  for pkg in "$@"; do
    apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]' || return 1
  done
}

# deps_install [--quiet]: install whatever is missing. --quiet prints nothing when nothing is.
deps_install() {
  local quiet=false missing
  if [[ ${1:-} == --quiet ]]; then quiet=true; fi
  if [[ ${SUITE_SKIP_DEPS:-0} == 1 ]]; then
    $quiet || info "SUITE_SKIP_DEPS=1: not checking Debian packages"
    return 0
  fi
  command -v dpkg-query >/dev/null 2>&1 ||
    die "dpkg-query not found: this is not a Debian system (set SUITE_SKIP_DEPS=1 to skip)"
  mapfile -t missing < <(missing_packages)
  if [[ ${#missing[@]} -eq 0 ]]; then
    $quiet || info "all ${#DEBIAN_PACKAGES[@]} Debian packages are installed"
    return 0
  fi
  info "installing missing Debian packages: ${missing[*]}"
  local updated=false
  if ! apt_has_candidates "${missing[@]}"; then
    info "apt does not know some of them yet: apt-get update"
    apt_run update || die "apt-get update failed"
    updated=true
  fi
  if ! apt_run install -y "${missing[@]}"; then
    $updated && die "apt-get install failed: ${missing[*]}"
    info "apt-get install failed; apt-get update and one more try"
    apt_run update || die "apt-get update failed"
    apt_run install -y "${missing[@]}" || die "apt-get install failed: ${missing[*]}"
  fi
  mapfile -t missing < <(missing_packages)
  [[ ${#missing[@]} -eq 0 ]] || die "still not installed after apt-get: ${missing[*]}"
}
