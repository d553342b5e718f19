// The RISC-V Sv39/Sv48 page-table entry and address geometry, as the privileged spec lays
// them out:
//
//   bit  63    62..61  60..54    53..10   9..8  7 6 5 4 3 2 1 0
//        N     PBMT    reserved  PPN      RSW   D A G U X W R V
//
// vmmem implements neither Svnapot nor Svpbmt, so bits 63..54 are reserved and must be zero.
// A PTE with R=W=X=0 points to the next table (D, A and U are reserved there); any other
// valid PTE is a leaf. Level 0 maps 4 KiB pages, level 1 2 MiB, level 2 1 GiB, level 3
// (Sv48 only) 512 GiB.
#pragma once

#include <cstdint>

namespace vmmem::mmu {

namespace pte {
inline constexpr uint64_t kValid = 1u << 0;
inline constexpr uint64_t kRead = 1u << 1;
inline constexpr uint64_t kWrite = 1u << 2;
inline constexpr uint64_t kExecute = 1u << 3;
inline constexpr uint64_t kUser = 1u << 4;
inline constexpr uint64_t kGlobal = 1u << 5;
inline constexpr uint64_t kAccessed = 1u << 6;
inline constexpr uint64_t kDirty = 1u << 7;
inline constexpr uint64_t kFlagBits = 0xff;
inline constexpr unsigned kPpnShift = 10;
inline constexpr uint64_t kPpnMask = ((uint64_t{1} << 44) - 1) << kPpnShift;  // bits 53..10
inline constexpr uint64_t kReservedHigh = ~uint64_t{0} << 54;                 // N, PBMT, reserved
// Bits a pointer (non-leaf) PTE must leave clear.
inline constexpr uint64_t kReservedInPointer = kDirty | kAccessed | kUser;

constexpr bool is_leaf(uint64_t entry) {
  return (entry & (kRead | kWrite | kExecute)) != 0;
}
constexpr uint64_t ppn(uint64_t entry) {
  return (entry & kPpnMask) >> kPpnShift;
}
constexpr uint64_t make(uint64_t physical_page_number, uint64_t flags) {
  return (physical_page_number << kPpnShift) | (flags & kFlagBits);
}
}  // namespace pte

inline constexpr unsigned kPageShift = 12;
inline constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;
inline constexpr unsigned kLevelBits = 9;  // 512 PTEs of 8 bytes per 4 KiB table
inline constexpr unsigned kMaxLevels = 4;
// Physical addresses are 56 bits wide under Sv39 and Sv48.
inline constexpr uint64_t kPhysicalAddressLimit = uint64_t{1} << 56;

enum class Mode : uint8_t { kBare, kSv39, kSv48 };

constexpr unsigned levels(Mode mode) {
  return mode == Mode::kSv48 ? 4 : mode == Mode::kSv39 ? 3 : 0;
}
constexpr unsigned virtual_address_bits(Mode mode) {
  return kPageShift + kLevelBits * levels(mode);
}
// Bytes a leaf at `level` maps: 4 KiB << 9 * level.
constexpr uint64_t page_size_at(unsigned level) {
  return kPageSize << (kLevelBits * level);
}
// The index into the level-`level` table that `va` selects.
constexpr unsigned vpn_index(uint64_t va, unsigned level) {
  return static_cast<unsigned>((va >> (kPageShift + kLevelBits * level)) & 0x1ff);
}
// Bits 63..VA_BITS-1 all equal (the spec's canonical form); Bare accepts every address.
constexpr bool is_canonical(uint64_t va, Mode mode) {
  if (mode == Mode::kBare) return true;
  const unsigned shift = virtual_address_bits(mode) - 1;
  const auto high = static_cast<int64_t>(va) >> shift;
  return high == 0 || high == -1;
}

// The kind of access a translation is for.
enum class Access : uint8_t { kLoad, kStore, kFetch };
inline constexpr unsigned kAccessKinds = 3;

enum class Privilege : uint8_t { kUser, kSupervisor };

}  // namespace vmmem::mmu
