// The shim workloads: C API call mixes, named after what they exercise. Each emits `count` ops;
// slots are drawn to name live blocks (the generators track how many there are, assuming each
// call succeeds). The bench times them against the C library's own functions,
// corpus/shim/seed/<name> is encode_input() of each under seed_config(name), and the
// properties sample them.
#pragma once

#include <span>
#include <string_view>

#include "scenario/common/profile.h"
#include "scenario/shim/executor.h"
#include "scenario/shim/ops.h"

namespace vmmem::scenario::shim {

std::span<const Profile<Op>> profiles();

// The configuration a profile's seed runs under (bad_pointers runs hardened).
Config seed_config(std::string_view profile);

}  // namespace vmmem::scenario::shim
