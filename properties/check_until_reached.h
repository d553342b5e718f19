// check_until_reached: runs a RapidCheck property again, with a fresh seed, until every required
// outcome has come up at least once; expect_reached then fails the test for any that never did.
//
// RapidCheck seeds every rc::check in a process from the one configured seed, so calling
// rc::check twice replays the same cases; a second round is only worth running with a seed of
// its own. Round 0 runs on the configured seed (RC_PARAMS="seed=N" reproduces it as usual); each
// later round derives its seed from it and prints it, so any round can be rerun alone.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "scenario/common/outcome_distribution.h"

namespace vmmem::properties {

// Enough rounds for an outcome that comes up a few times in 100 cases; one no round reaches
// fails expect_reached.
inline constexpr int kMaxRounds = 3;

// Runs `testable` as rc::check(description, testable) would, in up to kMaxRounds rounds,
// stopping after the first round at whose end `seen` holds every outcome in `required`.
// Returns false as soon as a round fails. `cases`, when not 0, replaces the configured number
// of cases per round (for a cheap property whose bugs take more than 100 cases to meet).
template <class Testable>
bool check_until_reached(const std::string& description, const scenario::OutcomeDistribution& seen,
                         const std::vector<std::string>& required, Testable&& testable,
                         int cases = 0) {
  using namespace rc::detail;
  TestParams params = configuration().testParams;
  if (cases != 0) params.maxSuccess = cases;
  const uint64_t configured_seed = params.seed;
  for (int round = 0; round < kMaxRounds; ++round) {
    // A 64-bit odd constant keeps the rounds' seeds distinct (the golden ratio's bits).
    params.seed = configured_seed + static_cast<uint64_t>(round) * 0x9e37'79b9'7f4a'7c15ull;
    std::cerr << "\n- " << description;
    if (round > 0) std::cerr << " (round " << round + 1 << ", seed=" << params.seed << ")";
    std::cerr << "\n";
    TestMetadata metadata;
    metadata.id = description;
    metadata.description = description;
    const TestResult result = checkTestable(testable, metadata, params);
    printResultMessage(result, std::cerr);
    std::cerr << "\n";
    if (!result.template is<SuccessResult>()) return false;
    if (seen.missing(required).empty()) break;
  }
  return true;
}

// A test failure for each outcome in `required` that `seen` never recorded.
inline void expect_reached(const scenario::OutcomeDistribution& seen,
                           const std::vector<std::string>& required) {
  for (const std::string& tag : seen.missing(required))
    ADD_FAILURE() << tag << " was never reached";
}

}  // namespace vmmem::properties
