// check_in_rounds: runs a RapidCheck property again, with a fresh seed, until a condition on what
// the runs have seen holds (typically: every required outcome came up at least once).
//
// RapidCheck seeds every rc::check in a process from the one configured seed, so calling
// rc::check twice replays the same cases; a second round is only worth running with a seed of
// its own. Round 0 runs on the configured seed (RC_PARAMS="seed=N" reproduces it as usual); each
// later round derives its seed from it and prints it, so any round can be rerun alone.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <utility>

namespace vmmem::properties {

// Runs `testable` as rc::check(description, testable) would, in up to `max_rounds` rounds,
// stopping after the first round at whose end `enough()` is true. Returns false as soon as a
// round fails.
template <class Testable, class Enough>
bool check_in_rounds(const std::string& description, int max_rounds, Testable&& testable,
                     Enough&& enough) {
  using namespace rc::detail;
  rc::detail::TestParams params = configuration().testParams;
  const uint64_t configured_seed = params.seed;
  for (int round = 0; round < max_rounds; ++round) {
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
    if (enough()) break;
  }
  return true;
}

}  // namespace vmmem::properties
