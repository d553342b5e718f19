// TranslationContext: the state of a hart that decides how a virtual address translates, as
// the privileged spec defines it: satp (MODE, ASID, root PPN), the effective privilege of the
// access (U or S) and mstatus.SUM / mstatus.MXR.
#pragma once

#include <cstdint>

#include "mmu/pte.h"

namespace vmmem::mmu {

struct Satp {
  Mode mode = Mode::kBare;
  uint16_t asid = 0;
  uint64_t root_ppn = 0;  // 44 bits

  // The architectural register value: MODE in 63..60 (0 Bare, 8 Sv39, 9 Sv48), ASID in
  // 59..44, PPN in 43..0.
  constexpr uint64_t raw() const {
    const uint64_t mode_field = mode == Mode::kSv39 ? 8 : mode == Mode::kSv48 ? 9 : 0;
    return (mode_field << 60) | (uint64_t{asid} << 44) | (root_ppn & ((uint64_t{1} << 44) - 1));
  }
  // REQUIRES: MODE is 0, 8 or 9 (a hart ignores writes of other modes).
  static constexpr Satp from_raw(uint64_t value) {
    const uint64_t mode_field = value >> 60;
    return Satp{mode_field == 8   ? Mode::kSv39
                : mode_field == 9 ? Mode::kSv48
                                  : Mode::kBare,
                static_cast<uint16_t>(value >> 44), value & ((uint64_t{1} << 44) - 1)};
  }
  friend constexpr bool operator==(const Satp&, const Satp&) = default;
};

struct TranslationContext {
  Satp satp;
  Privilege privilege = Privilege::kSupervisor;
  bool sum = false;  // S-mode may load and store (never fetch) on U pages
  bool mxr = false;  // loads may read execute-only pages
  friend constexpr bool operator==(const TranslationContext&, const TranslationContext&) = default;
};

}  // namespace vmmem::mmu
