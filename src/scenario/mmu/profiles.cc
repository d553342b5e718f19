#include "scenario/mmu/profiles.h"

#include <algorithm>
#include <array>

namespace vmmem::scenario::mmu {
namespace {

// The committed seeds are these profiles' bytes and every compiler must produce the same ones:
// never two Rng draws among one call's arguments or one operator's operands, whose order is
// unspecified (gcc and clang differ). Braced initializers are ordered and may hold several.

namespace pte = vmmem::mmu::pte;
constexpr uint8_t kRw = pte::kRead | pte::kWrite | pte::kAccessed | pte::kDirty;
constexpr uint8_t kSizes[] = {1, 2, 4, 8};

// The pages a profile of `count` ops maps: `pages`, but no more than two per op, so short
// streams (seeds, properties) spend their ops on the workload rather than on setup.
uint64_t working_set(size_t count, uint64_t pages) {
  return std::min<uint64_t>(pages, std::max<uint64_t>(16, 2 * count));
}

uint64_t page_va(uint64_t page) {
  return kProfileVaBase + page * 4096;
}

Op access(Rng& rng, uint64_t va, unsigned store_percent) {
  if (rng.percent(store_percent)) return Store{va, 8, rng.next()};
  return Load{va, 8};
}

std::vector<Op> sequential(Rng& rng, size_t count) {
  const uint64_t pages = working_set(count, 256);
  std::vector<Op> ops = map_pages(pages);
  for (size_t i = 0; i < count; ++i)
    ops.push_back(access(rng, kProfileVaBase + (i * 512) % (pages * 4096), 20));
  return ops;
}

std::vector<Op> strided(Rng& rng, size_t count) {
  const uint64_t pages = working_set(count, 1024);
  std::vector<Op> ops = map_pages(pages);
  for (size_t i = 0; i < count; ++i) {
    ops.push_back(access(rng, page_va((i * 3) % pages) + 64, 10));
    // Now and then the next page of the stride (walked ahead by the prefetcher) from the
    // address space of ASID 0, which has nothing mapped there: prefetched entries must carry
    // their own ASID, not the zero of an entry nobody set.
    if (i % 16 == 15) {
      ops.push_back(SetAsid{1});
      ops.push_back(access(rng, page_va(((i + 1) * 3) % pages) + 64, 10));
      ops.push_back(SetAsid{0});
    }
  }
  return ops;
}

std::vector<Op> random_access(Rng& rng, size_t count) {
  const uint64_t pages = working_set(count, 1024);
  std::vector<Op> ops = map_pages(pages);
  for (size_t i = 0; i < count; ++i)
    ops.push_back(access(rng, kProfileVaBase + (rng.below(pages * 4096) & ~uint64_t{7}), 25));
  return ops;
}

std::vector<Op> superpages(Rng& rng, size_t count) {
  std::vector<Op> ops;
  for (uint64_t i = 0; i < 4; ++i)
    ops.push_back(Map{kProfileVaBase + i * 0x20'0000, 0x8020'0000, 0x20'0000, kRw});
  for (size_t i = 0; i < count; ++i) {
    const uint64_t va = kProfileVaBase + (rng.below(4 * 0x20'0000) & ~uint64_t{7});
    if (rng.percent(5)) {
      ops.push_back(Flush{FlushKind::kAddress, va, 0, 0});
    } else if (rng.percent(3)) {
      ops.push_back(Protect{va, static_cast<uint8_t>(rng.percent(50) ? kRw : kRw & ~pte::kWrite)});
    } else {
      ops.push_back(access(rng, va, 20));
    }
  }
  return ops;
}

std::vector<Op> asid_switch(Rng& rng, size_t count) {
  std::vector<Op> ops;
  for (uint8_t space = 0; space < kSpaces; ++space) {
    ops.push_back(SetAsid{space});
    for (uint64_t page = 0; page < 32; ++page)
      ops.push_back(Map{page_va(page), kDataBase + (space * 32 + page) * 4096, 4096, kRw});
  }
  ops.push_back(Map{page_va(64), kDataBase + 200 * 4096, 4096, kRw | pte::kGlobal});
  for (size_t i = 0; i < count; ++i) {
    const unsigned pick = static_cast<unsigned>(rng.below(100));
    if (pick < 10) {
      ops.push_back(SetAsid{static_cast<uint8_t>(rng.below(kSpaces))});
    } else if (pick < 14) {
      ops.push_back(Flush{FlushKind::kAsid, 0, kSpaceAsids[rng.below(kSpaces)], 0});
    } else if (pick < 17) {
      ops.push_back(Flush{FlushKind::kAddressAsid, page_va(rng.below(65)),
                          kSpaceAsids[rng.below(kSpaces)], 0});
    } else {
      ops.push_back(Translate{page_va(rng.percent(10) ? 64 : rng.below(32)) + 8, Access::kLoad});
    }
  }
  return ops;
}

std::vector<Op> faults(Rng& rng, size_t count) {
  std::vector<Op> ops = map_pages(16);
  ops.push_back(Map{page_va(16), kDataBase, 4096, pte::kExecute | pte::kAccessed});
  ops.push_back(Map{page_va(17), kDataBase, 4096, kRw | pte::kUser});
  ops.push_back(Map{page_va(18), kDataBase, 4096, pte::kRead});  // A clear
  ops.push_back(Map{page_va(19), kDataBase, 4096, pte::kRead | pte::kWrite | pte::kAccessed});
  // Each edge the walker decides once, before the random part (a seed's 96 random ops may
  // miss them): a user page under S-mode with SUM clear and set, and a fetch from it; the
  // addresses around the lower half's end in Sv39 and Sv48 (one past it is non-canonical); a
  // 2 MiB leaf whose PPN's low bit is set (a misaligned superpage).
  ops.push_back(Load{page_va(17), 8});
  ops.push_back(SetPrivilege{Privilege::kSupervisor, true, false});
  ops.push_back(Load{page_va(17), 8});
  ops.push_back(Translate{page_va(17), Access::kFetch});
  ops.push_back(SetPrivilege{Privilege::kSupervisor, false, false});
  for (const unsigned top : {38u, 47u}) {
    ops.push_back(Translate{(uint64_t{1} << top) - 8, Access::kLoad});
    ops.push_back(Translate{uint64_t{1} << top, Access::kLoad});
    ops.push_back(Translate{~uint64_t{0} << top, Access::kLoad});
  }
  const uint64_t superpage = kProfileVaBase + 8 * 0x20'0000;
  ops.push_back(Map{superpage, 0x8020'0000, 0x20'0000, kRw});
  ops.push_back(Load{superpage + 8, 8});
  ops.push_back(CorruptPte{superpage, 1, uint64_t{1} << 10});
  ops.push_back(Load{superpage + 8, 8});
  static constexpr std::array<uint64_t, 10> kBits = {
      1, 2, 0xe, 0x10, 0x40, uint64_t{1} << 54, uint64_t{1} << 10, uint64_t{1} << 30, 0x80, 8};
  for (size_t i = 0; i < count; ++i) {
    const unsigned pick = static_cast<unsigned>(rng.below(100));
    const uint64_t page = rng.below(24);
    const uint64_t va = page_va(page) + rng.below(4096);
    if (pick < 10) {
      ops.push_back(CorruptPte{va, static_cast<uint8_t>(rng.below(3)), kBits[rng.below(10)]});
    } else if (pick < 18) {
      const uint8_t bits = static_cast<uint8_t>(rng.below(8));
      ops.push_back(SetPrivilege{(bits & 1) ? Privilege::kUser : Privilege::kSupervisor,
                                 (bits & 2) != 0, (bits & 4) != 0});
    } else if (pick < 24) {
      ops.push_back(
          Map{va & ~uint64_t{4095}, kDataBase, 4096, static_cast<uint8_t>(rng.below(256))});
    } else if (pick < 28) {
      ops.push_back(Unmap{va});
    } else if (pick < 62) {
      ops.push_back(Translate{va, static_cast<Access>(rng.below(3))});
    } else if (pick < 70) {
      // A load caches the page with D clear; the store after it must still fault (Svade).
      const uint64_t clean = page_va(19) + 8 * rng.below(512);
      ops.push_back(Load{clean, 8});
      ops.push_back(Store{clean, 8, rng.next()});
    } else {
      ops.push_back(access(rng, va & ~uint64_t{7}, 40));
    }
  }
  return ops;
}

std::vector<Op> batch(Rng& rng, size_t count) {
  const uint64_t pages = working_set(count, 512);
  std::vector<Op> ops = map_pages(pages);
  static constexpr std::array<int32_t, 4> kBatchStrides = {8, 512, 4096, 4096 * 3};
  for (size_t i = 0; i < count; ++i) {
    const int32_t stride = kBatchStrides[rng.below(4)];
    ops.push_back(Batch{page_va(rng.below(pages)), static_cast<uint8_t>(rng.between(1, kMaxBatch)),
                        stride, rng.percent(20) ? Access::kStore : Access::kLoad});
  }
  return ops;
}

// Cache pages [first, first + pages), unmap the last one, flush exactly the run: the last page
// must not hit any more (a range flush that stops one page short leaves it stale).
void flush_run(std::vector<Op>& ops, uint64_t first, uint64_t pages, FlushKind kind) {
  for (uint64_t p = 0; p < pages; ++p)
    ops.push_back(Translate{page_va(first + p), Access::kLoad});
  ops.push_back(Unmap{page_va(first + pages - 1)});
  ops.push_back(Flush{kind, page_va(first), kSpaceAsids[0], pages * 4096});
  ops.push_back(Translate{page_va(first + pages - 1), Access::kLoad});
}

constexpr FlushKind kKinds[] = {FlushKind::kAll,         FlushKind::kAsid,  FlushKind::kAddress,
                                FlushKind::kAddressAsid, FlushKind::kRange, FlushKind::kRangeAsid};

// A cached page changed (unmapped, or mapped when it was not: a Map over a mapped page is
// refused and changes nothing), a flush of `kind` that covers it (the current space's ASID, a
// range that holds the page), and the page again: a stale hit now is a bug.
void change_flush_translate(std::vector<Op>& ops, Rng& rng, uint64_t page, FlushKind kind,
                            bool unmap) {
  ops.push_back(SetAsid{0});
  ops.push_back(Translate{page_va(page), Access::kLoad});
  ops.push_back(unmap ? Op{Unmap{page_va(page)}}
                      : Op{Map{page_va(page), kDataBase + rng.below(64) * 4096, 4096, kRw}});
  ops.push_back(Flush{kind, page_va(page), kSpaceAsids[0], rng.between(1, 3) * 4096});
  ops.push_back(Translate{page_va(page), Access::kLoad});
}

std::vector<Op> relaxed_stale(Rng& rng, size_t count) {
  std::vector<Op> ops = map_pages(32);
  // Two pages sharing a slot of the small TLB: the first goes to the victim table, is unmapped
  // and flushed by address; then a range flush of a run.
  ops.push_back(Translate{page_va(0), Access::kLoad});
  ops.push_back(Translate{page_va(16), Access::kLoad});
  ops.push_back(Unmap{page_va(0)});
  ops.push_back(Flush{FlushKind::kAddressAsid, page_va(0), kSpaceAsids[0], 0});
  ops.push_back(Translate{page_va(0), Access::kLoad});
  flush_run(ops, 4, 3, FlushKind::kRange);
  // Every flush kind once on a changed page, so that each seed holds all six.
  for (unsigned k = 0; k < 6; ++k)
    change_flush_translate(ops, rng, 20 + k, kKinds[k], /*unmap=*/true);
  for (size_t i = 0; i < count; ++i) {
    const uint64_t page = rng.below(40);
    const unsigned pick = static_cast<unsigned>(rng.below(100));
    if (pick < 10) {
      ops.push_back(Unmap{page_va(page)});
    } else if (pick < 20) {
      ops.push_back(Map{page_va(page), kDataBase + rng.below(64) * 4096, 4096, kRw});
    } else if (pick < 25) {
      ops.push_back(Protect{page_va(page), static_cast<uint8_t>(kRw & ~pte::kWrite)});
    } else if (pick < 28) {
      ops.push_back(Flush{kKinds[rng.below(6)], page_va(page), kSpaceAsids[rng.below(kSpaces)],
                          rng.below(8) * 4096});
    } else if (pick < 32) {
      // Drawn one statement at a time: the order a call evaluates its arguments in is
      // unspecified, and the seeds must not depend on the compiler's choice.
      const FlushKind kind = kKinds[rng.below(6)];
      const bool unmap = rng.percent(50);
      change_flush_translate(ops, rng, page, kind, unmap);
    } else if (pick < 36) {
      ops.push_back(SetAsid{static_cast<uint8_t>(rng.below(kSpaces))});
    } else if (pick < 40) {
      ops.push_back(SetAsid{0});
      const uint64_t first = rng.below(30);
      const uint64_t pages = rng.between(2, 4);
      flush_run(ops, first, pages, rng.percent(50) ? FlushKind::kRange : FlushKind::kRangeAsid);
    } else if (pick < 60) {
      ops.push_back(Translate{page_va(page) + 8, rng.percent(30) ? Access::kStore : Access::kLoad});
    } else {
      ops.push_back(access(rng, page_va(page) + 8 * rng.below(512), 40));
    }
  }
  return ops;
}

std::vector<Op> edge_cases(Rng& rng, size_t count) {
  // The last page of the lower half, the first of the upper half and the very top page
  // (Sv39 and Sv48 alike), with cross-page accesses between neighbours.
  static constexpr std::array<uint64_t, 5> kPages = {0x3f'ffff'e000, 0x3f'ffff'f000,
                                                     0xffff'ffc0'0000'0000, 0xffff'ffff'ffff'e000,
                                                     0xffff'ffff'ffff'f000};
  std::vector<Op> ops;
  // A and D clear: under Svadu the first load and the first store set them in guest memory.
  for (size_t i = 0; i < kPages.size(); ++i)
    ops.push_back(Map{kPages[i], kDataBase + i * 4096, 4096, pte::kRead | pte::kWrite});
  for (size_t i = 0; i < count; ++i) {
    const size_t k = rng.below(kPages.size());
    const uint64_t base = kPages[k];
    const uint64_t va = base + 4096 - rng.between(1, 8);
    const uint8_t size = kSizes[rng.below(4)];
    const unsigned pick = static_cast<unsigned>(rng.below(100));
    if (pick < 15) {
      ops.push_back(Translate{va ^ (uint64_t{1} << (39 + rng.below(24))), Access::kLoad});
    } else if (pick < 55) {
      ops.push_back(Load{va, size});
    } else if (pick < 90) {
      ops.push_back(Store{va, size, rng.next()});
    } else {
      // Unmapping a page the last of its tables held frees those tables (these pages use the
      // last PTE of theirs); mapping it again takes the freed frames back.
      ops.push_back(Unmap{base});
      if (rng.percent(60)) ops.push_back(Map{base, kDataBase + k * 4096, 4096, kRw});
    }
  }
  return ops;
}

// Requests the page-table builder must refuse, each once and then at random: sizes and flags
// no leaf has, misaligned or non-canonical addresses, physical ranges past the 56-bit limit or
// wrapping, a page mapped twice or inside a larger page, PTE levels that do not exist, and maps
// until the table frames run out. Then range flushes past the TLB's range limit, and a stride the
// prefetcher follows into pages whose A bit is clear (it stops there, filling nothing).
std::vector<Op> bad_requests(Rng& rng, size_t count) {
  std::vector<Op> ops = map_pages(8);
  const uint64_t va = page_va(8);
  const uint64_t non_canonical = uint64_t{1} << 38;
  ops.push_back(Map{va, kDataBase, 0x3000, kRw});
  ops.push_back(Map{va, kDataBase, 0, kRw});
  ops.push_back(Map{va, kDataBase, 4096, pte::kWrite | pte::kAccessed});
  ops.push_back(Map{va, kDataBase, 4096, pte::kAccessed | pte::kDirty});
  ops.push_back(Map{va + 8, kDataBase, 4096, kRw});
  ops.push_back(Map{va, kDataBase + 8, 4096, kRw});
  ops.push_back(Map{non_canonical, kDataBase, 4096, kRw});
  ops.push_back(Map{va, vmmem::mmu::kPhysicalAddressLimit, 4096, kRw});
  ops.push_back(Map{va, ~uint64_t{0xfff}, 4096, kRw});
  ops.push_back(Map{page_va(0), kDataBase, 4096, kRw});  // mapped already
  const uint64_t superpage = kProfileVaBase + 4 * 0x20'0000;
  ops.push_back(Map{superpage, 0x8020'0000, 0x20'0000, kRw});
  ops.push_back(Map{superpage + 4096, kDataBase, 4096, kRw});       // inside the 2 MiB page
  ops.push_back(Map{kProfileVaBase, 0x8020'0000, 0x20'0000, kRw});  // over a table
  ops.push_back(Unmap{non_canonical});
  ops.push_back(Protect{non_canonical, kRw});
  ops.push_back(Protect{page_va(0), pte::kWrite});
  ops.push_back(CorruptPte{page_va(0), 3, 1});                      // Sv39 has no level 3
  ops.push_back(CorruptPte{kProfileVaBase + (64ull << 30), 0, 1});  // no tables there
  // One 4 KiB page per 1 GiB region takes two table frames: the frames run out within 32, for
  // a page of this address space and then for a global one (a table in every space).
  for (uint64_t gib = 2; gib < 34; ++gib)
    ops.push_back(Map{gib << 30, kDataBase, 4096, kRw});
  ops.push_back(Map{uint64_t{40} << 30, kDataBase, 4096, kRw | pte::kGlobal});
  for (uint64_t gib = 2; gib < 6; ++gib)
    ops.push_back(Unmap{gib << 30});
  // A clear on pages 16..23: each walk sets A on its own page, and the prefetcher, having seen a
  // stride of one page, probes the next and stops at its clear A.
  for (uint64_t page = 16; page < 24; ++page)
    ops.push_back(Map{page_va(page), kDataBase, 4096, pte::kRead | pte::kWrite});
  for (uint64_t page = 16; page < 24; ++page)
    ops.push_back(Translate{page_va(page), Access::kLoad});
  // Range flushes at the limit: exactly limit pages go page by page; the same length starting
  // 8 bytes later covers one page more and flushes everything.
  const uint64_t limit_bytes = range_flush_limit(profile_config("bad_requests")) * 4096;
  ops.push_back(Flush{FlushKind::kRange, page_va(0), kSpaceAsids[0], limit_bytes});
  ops.push_back(Flush{FlushKind::kRangeAsid, page_va(0) + 8, kSpaceAsids[0], limit_bytes});
  static constexpr std::array<uint64_t, 5> kMapSizes = {0x1000, 0x3000, 0x800, 0x20'0000, 0};
  static constexpr std::array<uint64_t, 4> kLengths = {0x1000, 0x8000, 0x21000, 0x4000'0000};
  for (size_t i = 0; i < count; ++i) {
    const uint64_t page = rng.below(24);
    const unsigned pick = static_cast<unsigned>(rng.below(100));
    if (pick < 25) {
      const uint64_t at = page_va(rng.below(32)) + (rng.percent(20) ? 8 : 0);
      const uint64_t size = kMapSizes[rng.below(kMapSizes.size())];
      ops.push_back(Map{at, kDataBase, size, static_cast<uint8_t>(rng.below(256))});
    } else if (pick < 35) {
      const auto kind = rng.percent(50) ? FlushKind::kRange : FlushKind::kRangeAsid;
      ops.push_back(Flush{kind, page_va(page), kSpaceAsids[0], kLengths[rng.below(4)]});
    } else if (pick < 42) {
      ops.push_back(Unmap{page_va(page)});
    } else if (pick < 48) {
      ops.push_back(Protect{page_va(page), static_cast<uint8_t>(rng.below(256))});
    } else if (pick < 70) {
      ops.push_back(Translate{page_va(page), static_cast<Access>(rng.below(3))});
    } else {
      ops.push_back(access(rng, page_va(page) + 8 * rng.below(512), 40));
    }
  }
  return ops;
}

std::vector<Op> regions(Rng& rng, size_t count) {
  // Pages in RAM, in the scratch region (which comes and goes) and on the device.
  // Page 13 starts with A and D clear: Svadu sets them in its PTE (a tracked page-table write).
  std::vector<Op> ops = map_pages(8);
  for (uint64_t i = 0; i < 4; ++i)
    ops.push_back(Map{page_va(8 + i), kScratchBase + i * 4096, 4096, kRw});
  ops.push_back(Map{page_va(12), kDeviceBase, 4096, kRw});
  ops.push_back(Map{page_va(13), kDataBase + 16 * 4096, 4096, pte::kRead | pte::kWrite});
  for (size_t i = 0; i < count; ++i) {
    const uint64_t page = rng.below(14);
    const uint64_t word = rng.below(4096 / 8);
    uint64_t va = page_va(page) + word * 8;
    // Some accesses end 4 bytes into the page (crossing from the one before), some start 4
    // bytes before its end (crossing into the next).
    uint8_t size = kSizes[rng.below(4)];
    if (rng.percent(10)) va -= 4;
    if (rng.percent(15)) {
      va = page_va(page) + 4092;
      size = 8;
    }
    if (rng.percent(4)) {
      ops.push_back(ToggleScratch{});
    } else if (rng.percent(50)) {
      ops.push_back(Load{va, size});
    } else {
      ops.push_back(Store{va, size, rng.next()});
    }
  }
  return ops;
}

std::vector<Op> bare(Rng& rng, size_t count) {
  // No translation: virtual addresses are physical ones, in RAM, scratch, the device or none.
  static constexpr std::array<uint64_t, 4> kBases = {kDataBase, kScratchBase, kDeviceBase,
                                                     0x4000'0000};
  std::vector<Op> ops;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t base = kBases[rng.below(4)];
    const uint64_t pa = base + rng.below(4096);
    const unsigned pick = static_cast<unsigned>(rng.below(100));
    if (pick < 30) {
      ops.push_back(Translate{pa, static_cast<Access>(rng.below(3))});
    } else if (pick < 65) {
      ops.push_back(Load{pa, kSizes[rng.below(4)]});
    } else if (pick < 95) {
      ops.push_back(Store{pa, kSizes[rng.below(4)], rng.next()});
    } else {
      ops.push_back(
          SetPrivilege{rng.percent(50) ? Privilege::kUser : Privilege::kSupervisor, false, false});
    }
  }
  return ops;
}

constexpr Profile<Op> kProfiles[] = {
    {"sequential", "8-byte accesses walking 256 mapped pages in order", sequential},
    {"strided", "one access per page, three pages apart (prefetch-friendly)", strided},
    {"random", "random 8-byte accesses over 1024 pages", random_access},
    {"superpages", "accesses in 2 MiB pages with address flushes and protects", superpages},
    {"asid_switch", "three address spaces and a global page, switched and flushed by ASID",
     asid_switch},
    {"faults", "corrupted PTEs, odd flags and privilege changes: every fault kind", faults, 96},
    {"batch", "batch translation of runs with several strides", batch, 24},
    {"relaxed_stale", "remaps without flushes; stale hits judged by the relaxed model",
     relaxed_stale, 96},
    {"edge_cases", "the ends of both address-space halves and page-crossing accesses", edge_cases},
    {"regions", "pages in RAM, in a region that is removed and added back, and on a device",
     regions, 128},
    {"bare", "Bare mode: loads, stores and translations of physical addresses", bare},
    {"bad_requests", "every page-table builder refusal, out of frames, ranges past the limit",
     bad_requests},
};

}  // namespace

std::vector<Op> map_pages(uint64_t pages) {
  std::vector<Op> ops;
  ops.reserve(pages);
  for (uint64_t page = 0; page < pages; ++page)
    ops.push_back(Map{page_va(page), kDataBase + (page % kDataPages) * 4096, 4096, kRw});
  return ops;
}

std::span<const Profile<Op>> profiles() {
  return kProfiles;
}

Config profile_config(std::string_view name) {
  Config config;
  if (name == "relaxed_stale") {
    config.coherent = false;
    config.ad_policy = AdPolicy::kFault;
    config.small_tlb = true;  // entries reach the victim table, where flushes must find them
    config.remote_flushes = true;
  }
  if (name == "faults") config.ad_policy = AdPolicy::kFault;
  if (name == "edge_cases") config.mode = Mode::kSv48;
  if (name == "strided" || name == "bad_requests") config.prefetch_depth = 2;
  if (name == "asid_switch") config.small_tlb = true;
  if (name == "bare") config.mode = Mode::kBare;
  // Stores while RAM's dirty tracking goes off and on with the scratch region (regions), into
  // superpages, and A/D updates and PTE writes of every kind (faults).
  if (name == "regions" || name == "superpages" || name == "faults") config.dirty_tracking = true;
  return config;
}

}  // namespace vmmem::scenario::mmu
