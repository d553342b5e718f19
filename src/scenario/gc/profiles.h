// The gc workloads, named after the benches that time them. Each emits `count` ops, aimed with
// the Model's help at the objects the roots hold (every op it emits is applied to a Model, so
// slots name live objects of the right shape). Benches time them, corpus/gc/seed/<name> is
// encode_input() of each under seed_config(name), and properties sample them.
#pragma once

#include <span>
#include <string_view>

#include "scenario/common/profile.h"
#include "scenario/gc/config.h"
#include "scenario/gc/ops.h"

namespace vmmem::scenario::gc {

std::span<const Profile<Op>> profiles();

// The configuration a profile's seed runs under.
Config seed_config(std::string_view profile);

}  // namespace vmmem::scenario::gc
