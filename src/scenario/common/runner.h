// run(): the one loop behind every fuzz target, property and bench.
//
// `execute` performs one op on the real subsystem and returns its Outcome; `checker` sees each
// op and outcome right after it ran and may stop the run by returning false. A checker with a
// `before(index, op)` also sees each op just before it runs, and may stop the run there. With
// NoCheck the loop is exactly what a bench times; with a ModelChecker it is what a fuzzer verifies.
#pragma once

#include <cstddef>
#include <span>

namespace vmmem::scenario {

// Accepts everything. Benches that must keep outcomes alive pass their own sink instead,
// since an unobserved outcome may let the compiler drop the work that produced it.
struct NoCheck {
  template <class Op, class Outcome>
  constexpr bool after(size_t /*index*/, const Op& /*op*/, const Outcome& /*outcome*/) {
    return true;
  }
};

// Runs ops in order until the checker objects; returns how many ops ran and were accepted.
template <class Op, class Execute, class Checker>
size_t run(std::span<const Op> ops, Execute&& execute, Checker&& checker) {
  for (size_t i = 0; i < ops.size(); ++i) {
    if constexpr (requires { checker.before(i, ops[i]); }) {
      if (!checker.before(i, ops[i])) return i;
    }
    if (!checker.after(i, ops[i], execute(ops[i]))) return i;
  }
  return ops.size();
}

}  // namespace vmmem::scenario
