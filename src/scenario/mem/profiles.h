// The mem workloads. Each profile maps its regions first, then emits `count` access ops.
// Benches time them, corpus/mem/seed/<name> is encode() of each, properties sample them.
#pragma once

#include <cstdint>
#include <span>

#include "scenario/common/profile.h"
#include "scenario/mem/ops.h"

namespace vmmem::scenario::mem {

// Where the bench profiles put their main RAM region.
inline constexpr uint64_t kProfileRamBase = 0x8000'0000;
inline constexpr uint64_t kProfileRamSize = 16ull << 20;
inline constexpr uint64_t kProfileMmioBase = 0xfee0'0000;

std::span<const Profile<Op>> profiles();

}  // namespace vmmem::scenario::mem
