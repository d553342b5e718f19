// Outcome: everything observable about one mmu op, as the MMU produced it.
//   builder ops (Map, Unmap, Protect, CorruptPte) and ToggleScratch: code;
//   Translate: fault, pa and the exception code a hart raises for the fault;
//   Load / Store: fault, exception code, the value loaded, and the physical addresses of the
//     first and last byte (when no page fault stopped it), so the relaxed model can judge which
//     translation the access used;
//   Batch: one translation per address;
//   Flush applied at once (not posted): whether a range flush flushed everything instead;
//   under Config::dirty_tracking, every op: the pages (guest physical, ascending) the dirty
//   bitmaps of RAM and the scratch region reported after the op. operator== leaves them out:
//   the model judges them on their own.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mmu/mmu.h"
#include "scenario/mmu/ops.h"
#include "support/status.h"

namespace vmmem::scenario::mmu {

using vmmem::mmu::Fault;
using vmmem::mmu::Translation;

struct Outcome {
  ErrorCode code = ErrorCode::kOk;
  Fault fault = Fault::kNone;
  unsigned cause = 0;  // mmu::exception_cause of the fault and the access (0: no fault)
  uint64_t pa = 0;
  uint64_t pa_last = 0;
  uint64_t value = 0;
  uint8_t batch_size = 0;
  std::array<Translation, kMaxBatch> batch{};
  bool fell_back = false;
  std::vector<uint64_t> dirty_pages;

  friend bool operator==(const Outcome& a, const Outcome& b) {
    return a.code == b.code && a.fault == b.fault && a.cause == b.cause && a.pa == b.pa &&
           a.pa_last == b.pa_last && a.value == b.value && a.fell_back == b.fell_back &&
           a.batch_size == b.batch_size &&
           std::equal(a.batch.begin(), a.batch.begin() + a.batch_size, b.batch.begin());
  }
};

std::string describe(const Outcome& outcome);

}  // namespace vmmem::scenario::mmu
