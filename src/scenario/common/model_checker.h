// ModelChecker: compares every outcome of the real subsystem with the reference model's
// prediction for the same op, and runs the subsystem's own invariant checker at checkpoints.
//
// A Model either predicts — `Outcome apply(const Op&)`, compared with what the subsystem did —
// or judges — `std::optional<std::string> judge(const Op&, const Outcome& actual)`, for
// subsystems whose results are theirs to choose (an allocator picks addresses; the model
// checks that the choice is valid and returns a complaint when it is not). A judging model may
// also look before each op: `std::optional<std::string> before(const Op&)` (say, to verify a
// block's contents before the op frees it). The System provides `Status check() const`;
// describe(Op) and describe(Outcome) render both for the failure report (found by ADL).
// After the first divergence the checker stops the run and failure() explains it, with the
// op index, the op, what the model predicted and what the subsystem did.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "support/status.h"

namespace vmmem::scenario {

template <class Model, class System>
class ModelChecker {
 public:
  // checkpoint_every: run system.check() after every this many ops (0: never, except
  // finish()).
  ModelChecker(Model& model, const System& system, size_t checkpoint_every)
      : model_(model), system_(system), checkpoint_every_(checkpoint_every) {}

  template <class Op>
  bool before(size_t index, const Op& op) {
    if constexpr (requires { model_.before(op); }) {
      if (std::optional<std::string> complaint = model_.before(op)) {
        failure_ = "before op " + std::to_string(index) + ": " + describe(op) +
                   "\n  model found: " + *complaint;
        return false;
      }
    }
    return true;
  }

  template <class Op, class Outcome>
  bool after(size_t index, const Op& op, const Outcome& actual) {
    if constexpr (requires { model_.judge(op, actual); }) {
      if (std::optional<std::string> complaint = model_.judge(op, actual)) {
        failure_ = "op " + std::to_string(index) + ": " + describe(op) +
                   "\n  model objects: " + *complaint + "\n  subsystem did: " + describe(actual);
        return false;
      }
    } else {
      const Outcome expected = model_.apply(op);
      if (!(expected == actual)) {
        failure_ = "op " + std::to_string(index) + ": " + describe(op) +
                   "\n  model predicted: " + describe(expected) +
                   "\n  subsystem did:   " + describe(actual);
        return false;
      }
    }
    if (checkpoint_every_ != 0 && (index + 1) % checkpoint_every_ == 0) return checkpoint(index);
    return true;
  }

  // The final invariant check after the last op; false when it fails.
  bool finish() { return failure_.has_value() ? false : checkpoint(SIZE_MAX); }

  const std::optional<std::string>& failure() const { return failure_; }

 private:
  bool checkpoint(size_t index) {
    const Status status = system_.check();
    if (status.ok()) return true;
    failure_ =
        (index == SIZE_MAX ? std::string("final check") : "after op " + std::to_string(index)) +
        ": invariant check failed: " + status.message();
    return false;
  }

  Model& model_;
  const System& system_;
  size_t checkpoint_every_;
  std::optional<std::string> failure_;
};

}  // namespace vmmem::scenario
