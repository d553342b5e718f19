// Fault: why a translation or an access through the MMU did not complete. Every way the
// spec's walk can stop is its own value, so tests and the reference model compare causes,
// not just "page fault". exception_cause() maps each to the mcause/scause code a hart raises.
#pragma once

#include <cstdint>
#include <string_view>

#include "mmu/pte.h"

namespace vmmem::mmu {

enum class Fault : uint8_t {
  kNone = 0,
  // Page faults (cause 12 / 13 / 15 by access type).
  kNonCanonical,          // VA bits above VA_BITS-1 are not copies of bit VA_BITS-1
  kInvalidPte,            // V = 0
  kWriteWithoutRead,      // R = 0, W = 1 (a reserved encoding)
  kReservedBits,          // bits 63..54 set, or D/A/U set in a pointer PTE
  kPointerAtLastLevel,    // R = W = X = 0 in a level-0 PTE
  kMisalignedSuperpage,   // a superpage leaf whose low PPN fields are not zero
  kUserPageInSupervisor,  // S-mode fetch from a U page, or load/store without SUM
  kSupervisorPageInUser,  // U-mode access to a page with U = 0
  kNotReadable,           // load from a page with R = 0 (and not X with MXR)
  kNotWritable,           // store to a page with W = 0
  kNotExecutable,         // fetch from a page with X = 0
  kAccessedClear,         // Svade: A = 0
  kDirtyClear,            // Svade: store to a page with D = 0
  // Access faults (cause 1 / 5 / 7 by access type).
  kPteAccessFault,       // a PTE address is not in RAM
  kPhysicalAccessFault,  // the translated address is not RAM or a device refused it
};
inline constexpr unsigned kFaultKinds = 16;

constexpr bool is_page_fault(Fault fault) {
  return fault != Fault::kNone && fault < Fault::kPteAccessFault;
}

// The exception code: 12/13/15 for page faults, 1/5/7 for access faults (fetch, load,
// store); 0 for kNone.
constexpr unsigned exception_cause(Fault fault, Access access) {
  if (fault == Fault::kNone) return 0;
  if (is_page_fault(fault))
    return access == Access::kFetch ? 12 : access == Access::kLoad ? 13 : 15;
  return access == Access::kFetch ? 1 : access == Access::kLoad ? 5 : 7;
}

std::string_view to_string(Fault fault);
std::string_view to_string(Access access);

}  // namespace vmmem::mmu
