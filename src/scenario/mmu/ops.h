// The mmu op vocabulary: what software on one hart does to its page tables, its translation
// context and its TLB, and the accesses it makes. Addresses are raw (the MMU's job is to judge
// them); address spaces are named by slot (kSpaces of them, each with its own ASID and root
// table), so every op is valid to execute.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "mmu/fault.h"
#include "mmu/pte.h"
#include "mmu/tlb.h"

namespace vmmem::scenario::mmu {

using vmmem::mmu::Access;
using vmmem::mmu::FlushKind;
using vmmem::mmu::Privilege;

inline constexpr unsigned kSpaces = 3;
// The ASID of each address-space slot: 0 (what a kernel without ASIDs runs every process
// under, and the value a TLB entry has before anyone sets it), 1 and the largest.
inline constexpr uint16_t kSpaceAsids[kSpaces] = {1, 0, 0xffff};

// Maps [va, va + size) to [pa, pa + size) in the current address space (in every one when
// flags has G, as the spec requires of global mappings).
struct Map {
  uint64_t va;
  uint64_t pa;
  uint64_t size;
  uint8_t flags;  // R W X U G A D
  friend bool operator==(const Map&, const Map&) = default;
};

// Clears the leaf that maps va (in every address space when it is global).
struct Unmap {
  uint64_t va;
  friend bool operator==(const Unmap&, const Unmap&) = default;
};

// Replaces the R W X U A D flags of the leaf that maps va (G stays).
struct Protect {
  uint64_t va;
  uint8_t flags;
  friend bool operator==(const Protect&, const Protect&) = default;
};

// Switches satp to address-space slot `space` (its ASID and root).
struct SetAsid {
  uint8_t space;
  friend bool operator==(const SetAsid&, const SetAsid&) = default;
};

// The effective privilege and mstatus.SUM / MXR.
struct SetPrivilege {
  Privilege privilege;
  bool sum;
  bool mxr;
  friend bool operator==(const SetPrivilege&, const SetPrivilege&) = default;
};

struct Translate {
  uint64_t va;
  Access access;
  friend bool operator==(const Translate&, const Translate&) = default;
};

struct Load {
  uint64_t va;
  uint8_t size;  // 1, 2, 4 or 8
  friend bool operator==(const Load&, const Load&) = default;
};

struct Store {
  uint64_t va;
  uint8_t size;
  uint64_t value;
  friend bool operator==(const Store&, const Store&) = default;
};

// sfence.vma (or the range flush): va and asid are used by the kinds that take them.
struct Flush {
  FlushKind kind;
  uint64_t va;
  uint16_t asid;
  uint64_t length;
  friend bool operator==(const Flush&, const Flush&) = default;
};

// translate_batch of va, va + stride, ..., count addresses.
struct Batch {
  uint64_t va;
  uint8_t count;  // 0 .. kMaxBatch
  int32_t stride;
  Access access;
  friend bool operator==(const Batch&, const Batch&) = default;
};
inline constexpr unsigned kMaxBatch = 64;

// XORs `bits` into the level-`level` PTE on va's walk in the current address space: how the
// walker's faults (reserved bits, misaligned superpages, loops, tables outside RAM) are reached.
struct CorruptPte {
  uint64_t va;
  uint8_t level;
  uint64_t bits;
  friend bool operator==(const CorruptPte&, const CorruptPte&) = default;
};

// Removes the scratch RAM region, or adds it back (zeroed): guest memory's generation
// changes, and every TLB host address must die with it. Under Config::dirty_tracking, RAM's
// tracking goes off and on with it, so stores switch between host addresses and GuestMemory.
struct ToggleScratch {
  friend bool operator==(const ToggleScratch&, const ToggleScratch&) = default;
};

using Op = std::variant<Map, Unmap, Protect, SetAsid, SetPrivilege, Translate, Load, Store, Flush,
                        Batch, CorruptPte, ToggleScratch>;

std::string describe(const Op& op);

}  // namespace vmmem::scenario::mmu
