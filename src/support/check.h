// VMM_CHECK: the guard for internal invariants. A failed check means vmmem itself is broken
// (never the caller's input: bad input gets a Status), so it prints where and why and aborts.
// Checks stay on in every build type; they are never on a path hot enough to matter.
#pragma once

namespace vmmem::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* condition,
                               const char* message);
}  // namespace vmmem::detail

// On an invariant checker that walks a whole structure (a check() or a verifier): leaves it out
// of libFuzzer's comparison tracing. Its comparisons pass on every input that finds no bug, so
// they guide nothing, and tracing them took most of a fuzz target's time. Clang only (GCC warns
// on the sanitizer name).
#if defined(__clang__)
#define VMM_NO_FUZZ_TRACING __attribute__((no_sanitize("coverage")))
#else
#define VMM_NO_FUZZ_TRACING
#endif

#define VMM_CHECK(condition, message)                                           \
  do {                                                                          \
    if (__builtin_expect(!(condition), 0))                                      \
      ::vmmem::detail::check_failed(__FILE__, __LINE__, #condition, (message)); \
  } while (0)
