#include "scenario/mmu/reference_walker.h"

namespace vmmem::scenario::mmu {

using vmmem::mmu::Access;
using vmmem::mmu::AdPolicy;
using vmmem::mmu::Fault;
using vmmem::mmu::Mode;
using vmmem::mmu::Privilege;

namespace {

// Bit b of x.
bool bit(uint64_t x, unsigned b) {
  return ((x >> b) & 1) != 0;
}
// The 9-bit field i of a virtual page number (va.vpn[i]) or of a PTE's PPN (pte.ppn[i];
// the top field is wider, but only lower fields are ever tested alone).
uint64_t va_vpn(uint64_t va, int i) {
  return (va >> (12 + 9 * i)) & 511;
}
uint64_t pte_ppn_field(uint64_t pte, int i) {
  return (pte >> (10 + 9 * i)) & 511;
}

}  // namespace

ReferenceResult reference_translate(const ReferenceRequest& r, const PteRead& read,
                                    const PteUpdate& update) {
  if (r.mode == Mode::kBare) return {Fault::kNone, r.va, 0, 0xcf};
  const int LEVELS = r.mode == Mode::kSv39 ? 3 : 4;
  const unsigned va_bits = 12 + 9 * static_cast<unsigned>(LEVELS);
  // Bits 63..va_bits-1 must all equal bit va_bits-1.
  for (unsigned b = va_bits; b < 64; ++b) {
    if (bit(r.va, b) != bit(r.va, va_bits - 1)) return {Fault::kNonCanonical};
  }
  for (;;) {  // step 1; repeated only if an A/D update finds the PTE changed (never here)
    uint64_t a = r.root_ppn * 4096;
    int i = LEVELS - 1;
    uint64_t pte = 0;
    uint64_t pte_address = 0;
    for (;;) {
      // Step 2.
      pte_address = a + va_vpn(r.va, i) * 8;
      const std::optional<uint64_t> loaded = read(pte_address);
      if (!loaded) return {Fault::kPteAccessFault};
      pte = *loaded;
      const bool v = bit(pte, 0), rd = bit(pte, 1), w = bit(pte, 2), x = bit(pte, 3);
      // Step 3.
      if (!v) return {Fault::kInvalidPte};
      if (!rd && w) return {Fault::kWriteWithoutRead};
      if ((pte >> 54) != 0) return {Fault::kReservedBits};
      // Step 4.
      if (rd || x) break;
      if (bit(pte, 7) || bit(pte, 6) || bit(pte, 4)) return {Fault::kReservedBits};
      i = i - 1;
      if (i < 0) return {Fault::kPointerAtLastLevel};
      a = ((pte >> 10) & ((uint64_t{1} << 44) - 1)) * 4096;
    }
    // Step 5: the leaf's permissions for this access in this mode.
    const bool rd = bit(pte, 1), w = bit(pte, 2), x = bit(pte, 3), u = bit(pte, 4);
    if (r.privilege == Privilege::kUser && !u) return {Fault::kSupervisorPageInUser};
    if (r.privilege == Privilege::kSupervisor && u && (!r.sum || r.access == Access::kFetch)) {
      return {Fault::kUserPageInSupervisor};
    }
    if (r.access == Access::kLoad && !(rd || (r.mxr && x))) return {Fault::kNotReadable};
    if (r.access == Access::kStore && !w) return {Fault::kNotWritable};
    if (r.access == Access::kFetch && !x) return {Fault::kNotExecutable};
    // Step 6: a superpage's lower PPN fields must be zero.
    for (int j = 0; j < i; ++j) {
      if (pte_ppn_field(pte, j) != 0) return {Fault::kMisalignedSuperpage};
    }
    // Step 7: A and D.
    const bool a_bit = bit(pte, 6), d_bit = bit(pte, 7);
    if (!a_bit || (r.access == Access::kStore && !d_bit)) {
      if (r.ad_policy == AdPolicy::kFault) {
        return {!a_bit ? Fault::kAccessedClear : Fault::kDirtyClear};
      }
      pte |= uint64_t{1} << 6;
      if (r.access == Access::kStore) pte |= uint64_t{1} << 7;
      update(pte_address, pte);
    }
    // Step 8: pa.pgoff = va.pgoff; below level i the PPN comes from the VA.
    uint64_t pa = r.va & 4095;
    for (int j = 0; j < i; ++j)
      pa |= va_vpn(r.va, j) << (12 + 9 * j);
    const uint64_t ppn = (pte >> 10) & ((uint64_t{1} << 44) - 1);
    pa |= (ppn >> (9 * i)) << (12 + 9 * i);
    return {Fault::kNone, pa, i, pte};
  }
}

}  // namespace vmmem::scenario::mmu
