// The seed corpus of every fuzz target: for each profile of each scenario, the encoding of a
// short op stream drawn from a fixed seed. tools/vmmem_seeds writes it to corpus/<target>/seed/,
// and a unit test checks that the committed files still match.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmmem::scenario {

struct SeedFile {
  std::string target;  // fuzz target, e.g. "mem"
  std::string name;    // profile name
  std::vector<uint8_t> bytes;
};

inline constexpr uint64_t kSeedRngSeed = 0x5eed;

std::vector<SeedFile> seed_corpus();

}  // namespace vmmem::scenario
