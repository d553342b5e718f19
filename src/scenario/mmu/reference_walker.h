// The reference translation: the privileged spec's "virtual address translation process"
// (section 4.3.2, extended to Sv48 as in 4.5) written out step by step for the model. It
// shares no code with src/mmu on purpose: a bug there must disagree with this to be seen.
//
// `read(address)` returns the PTE at a physical address, or nullopt when it is not RAM;
// `update(address, value)` stores a PTE (Svadu's A/D update; the model runs on one thread, so
// no compare-and-set is needed).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "mmu/fault.h"
#include "mmu/pte.h"
#include "mmu/walker.h"

namespace vmmem::scenario::mmu {

struct ReferenceRequest {
  vmmem::mmu::Mode mode;
  uint64_t root_ppn;
  vmmem::mmu::Privilege privilege;
  bool sum;
  bool mxr;
  vmmem::mmu::AdPolicy ad_policy;
  vmmem::mmu::Access access;
  uint64_t va;
};

struct ReferenceResult {
  vmmem::mmu::Fault fault = vmmem::mmu::Fault::kNone;
  uint64_t pa = 0;
  int level = 0;     // of the leaf
  uint64_t pte = 0;  // the leaf
};

using PteRead = std::function<std::optional<uint64_t>(uint64_t address)>;
using PteUpdate = std::function<void(uint64_t address, uint64_t value)>;

ReferenceResult reference_translate(const ReferenceRequest& request, const PteRead& read,
                                    const PteUpdate& update);

}  // namespace vmmem::scenario::mmu
