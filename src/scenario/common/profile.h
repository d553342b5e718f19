// Profile: a named workload that turns a seeded Rng into an op stream. Benches time it,
// corpus/<target>/seed/<name> is its encoding, and properties draw seeds for it, so all three
// exercise the same workloads.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "support/rng.h"

namespace vmmem::scenario {

template <class Op>
struct Profile {
  std::string_view name;
  std::string_view description;
  // `count` is the number of workload ops; setup ops (mapping regions, ...) come on top.
  std::vector<Op> (*generate)(Rng& rng, size_t count);
  // Workload ops in the committed seed: enough to reach the profile's interesting states,
  // short enough to keep the fuzzer fast. Profiles whose point is breadth ask for more.
  size_t seed_ops = 48;
};

template <class Op>
const Profile<Op>* find_profile(std::span<const Profile<Op>> profiles, std::string_view name) {
  for (const Profile<Op>& profile : profiles) {
    if (profile.name == name) return &profile;
  }
  return nullptr;
}

}  // namespace vmmem::scenario
