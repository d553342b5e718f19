// The alloc workloads, named after the benches that time them. Each emits `count` ops; slots
// are drawn to name live blocks (the generators track how many there are, assuming success).
// Benches time them, corpus/alloc/seed/<name> is encode_input() of each under
// seed_config(name), and properties sample them.
#pragma once

#include <span>
#include <string_view>

#include "scenario/alloc/executor.h"
#include "scenario/alloc/ops.h"
#include "scenario/common/profile.h"

namespace vmmem::scenario::alloc {

std::span<const Profile<Op>> profiles();

// The configuration a profile's seed runs under (edge_cases and hardened_frees run hardened).
Config seed_config(std::string_view profile);

}  // namespace vmmem::scenario::alloc
