// The mmu workloads. Each profile maps its pages first (setup ops), then emits `count`
// workload ops. Benches time them, corpus/mmu/seed/<name> is encode_input(profile_config,
// ops), properties sample them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "scenario/common/profile.h"
#include "scenario/mmu/layout.h"
#include "scenario/mmu/ops.h"

namespace vmmem::scenario::mmu {

// Where profiles map their pages: kProfileVaBase + i * 4 KiB -> a data page of RAM.
inline constexpr uint64_t kProfileVaBase = 0x4000'0000;
inline constexpr uint64_t kDataPages = (kRamSize - kFrameBytes) / 4096;

// Maps `pages` 4 KiB pages from kProfileVaBase (read/write, A and D set) onto RAM data pages
// (wrapping around the data area).
std::vector<Op> map_pages(uint64_t pages);

std::span<const Profile<Op>> profiles();
// The configuration a profile's seed and property runs use.
Config profile_config(std::string_view name);

}  // namespace vmmem::scenario::mmu
