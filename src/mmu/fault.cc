#include "mmu/fault.h"

namespace vmmem::mmu {

std::string_view to_string(Fault fault) {
  switch (fault) {
    case Fault::kNone:
      return "ok";
    case Fault::kNonCanonical:
      return "non-canonical";
    case Fault::kInvalidPte:
      return "invalid pte";
    case Fault::kWriteWithoutRead:
      return "write without read";
    case Fault::kReservedBits:
      return "reserved bits";
    case Fault::kPointerAtLastLevel:
      return "pointer at last level";
    case Fault::kMisalignedSuperpage:
      return "misaligned superpage";
    case Fault::kUserPageInSupervisor:
      return "user page in supervisor";
    case Fault::kSupervisorPageInUser:
      return "supervisor page in user";
    case Fault::kNotReadable:
      return "not readable";
    case Fault::kNotWritable:
      return "not writable";
    case Fault::kNotExecutable:
      return "not executable";
    case Fault::kAccessedClear:
      return "accessed clear";
    case Fault::kDirtyClear:
      return "dirty clear";
    case Fault::kPteAccessFault:
      return "pte access fault";
    case Fault::kPhysicalAccessFault:
      return "physical access fault";
  }
  return "?";
}

std::string_view to_string(Access access) {
  switch (access) {
    case Access::kLoad:
      return "load";
    case Access::kStore:
      return "store";
    case Access::kFetch:
      return "fetch";
  }
  return "?";
}

}  // namespace vmmem::mmu
