#include "mmu/mmu.h"

#include <array>

#include "support/check.h"

namespace vmmem::mmu {

Mmu::Mmu(mem::GuestMemory& memory, const MmuConfig& config)
    : memory_(memory),
      config_(config),
      walker_(memory, config.ad_policy),
      tlb_(config.tlb),
      generation_(memory.generation()),
      ram_(memory) {
  memory_.add_generation_listener(this);
  catch_up();
}

Mmu::~Mmu() {
  memory_.remove_generation_listener(this);
}

void Mmu::catch_up() {
  shootdown_.arm(config_.count_hits ? nullptr : tlb_.main_table());
  if (const uint64_t now = memory_.generation(); now != generation_) {
    tlb_.flush_all();
    generation_ = now;
  }
  uint64_t last_ticket = 0;
  for (const FlushRequest& request : shootdown_.take(&last_ticket))
    flush(request);
  shootdown_.complete(last_ticket);
}

Translation Mmu::translate_slow(uint64_t va, Access access) {
  if (behind()) catch_up();
  const uint64_t page = page_of(va);
  constexpr uint64_t kUsable = ~(TlbEntry::kViaMemory | TlbEntry::kPrefetched);
  TlbEntry* entry = &tlb_.slot(va);
  const bool in_main = entry->page == page;
  if (!in_main) entry = tlb_.promote_victim(page);  // counts a victim hit when found
  if (entry != nullptr && (entry->compare[index(access)] & kUsable) == page) {
    if (entry->prefetched) {
      tlb_.mark_used(*entry);
    } else if (in_main && config_.count_hits) {
      ++tlb_.counters().hits;  // a hit the fast path would have served
    }
    return {Fault::kNone, va + entry->pa_offset};
  }
  return walk_and_fill(va, access);
}

Translation Mmu::walk_and_fill(uint64_t va, Access access) {
  ++tlb_.counters().misses;
  const TranslationContext& context = tlb_.context();
  const WalkResult walk = walker_.walk(context, va, access);
  if (walk.fault != Fault::kNone) return {walk.fault, 0};
  // translate_slow looked in the victim table first, so the page is not there.
  TlbEntry& entry = tlb_.claim(page_of(va), /*may_be_in_victim=*/false);
  entry.leaf_base = va & ~(page_size_at(walk.level) - 1);
  entry.level = static_cast<uint8_t>(walk.level);
  entry.flags = static_cast<uint8_t>(walk.entry & pte::kFlagBits);
  entry.asid = context.satp.asid;
  entry.pa_offset = walk.pa - va;
  if (const uint64_t* host = ram_.locate(page_of(walk.pa))) {
    entry.ram = true;
    entry.tracked = ram_.tracked();
    entry.read_only = ram_.read_only();
    entry.host_offset = reinterpret_cast<uintptr_t>(host) - entry.page;
  }
  tlb_.commit(entry);
  if (config_.prefetch_depth != 0) prefetch_after_miss(va);
  return {Fault::kNone, walk.pa};
}

void Mmu::prefetch_after_miss(uint64_t va) {
  const int64_t stride = prefetcher_.observe(va >> kPageShift);
  if (stride == 0) return;
  const TranslationContext& context = tlb_.context();
  const uint64_t filled = page_of(va);
  for (unsigned i = 1; i <= config_.prefetch_depth; ++i) {
    const uint64_t next =
        filled + static_cast<uint64_t>(stride * static_cast<int64_t>(i)) * kPageSize;
    if (!is_canonical(next, context.satp.mode)) break;
    const TlbEntry& home = tlb_.slot(next);
    if (home.page == next || home.page == filled) continue;
    const WalkResult probe = walker_.probe(context, next);
    if (probe.fault != Fault::kNone) break;
    TlbEntry& entry = tlb_.claim(next, /*may_be_in_victim=*/true);
    entry.leaf_base = next & ~(page_size_at(probe.level) - 1);
    entry.level = static_cast<uint8_t>(probe.level);
    entry.flags = static_cast<uint8_t>(probe.entry & pte::kFlagBits);
    entry.asid = context.satp.asid;
    entry.pa_offset = probe.pa - next;
    entry.prefetched = true;
    if (const uint64_t* host = ram_.locate(page_of(probe.pa))) {
      entry.ram = true;
      entry.tracked = ram_.tracked();
      entry.read_only = ram_.read_only();
      entry.host_offset = reinterpret_cast<uintptr_t>(host) - next;
    }
    tlb_.commit(entry);
    ++tlb_.counters().prefetches;
    prefetcher_.prefetched_up_to(next >> kPageShift);
  }
}

Fault Mmu::translate_split(uint64_t va, unsigned width, Access access, uint64_t* first_pa,
                           uint64_t* second_pa) {
  const Translation first = translate(va, access);
  if (first.fault != Fault::kNone) return first.fault;
  const Translation second = translate(page_of(va) + kPageSize, access);
  if (second.fault != Fault::kNone) return second.fault;
  *first_pa = first.pa;
  *second_pa = second.pa;
  (void)width;
  return Fault::kNone;
}

std::byte* Mmu::host_after_translate(uint64_t va, Access access) {
  const TlbEntry& entry = tlb_.slot(va);
  // Exactly the page: RAM, allowed, and for a store not tracked (kViaMemory), prefetch mark
  // cleared by the translation that used it.
  if (entry.compare[index(access)] != page_of(va)) return nullptr;
  return reinterpret_cast<std::byte*>(va + entry.host_offset);
}

Fault Mmu::load_slow(uint64_t va, unsigned width, uint64_t* value) {
  if (behind()) catch_up();
  const uint64_t in_first = kPageSize - (va & (kPageSize - 1));
  if (width <= in_first) {
    const Translation t = translate(va, Access::kLoad);
    if (t.fault != Fault::kNone) return t.fault;
    if (const std::byte* host = host_after_translate(va, Access::kLoad)) {
      uint64_t assembled = 0;
      for (unsigned i = 0; i < width; ++i)
        assembled |= static_cast<uint64_t>(host[i]) << (8 * i);
      *value = assembled;
      return Fault::kNone;
    }
    const Result<uint64_t> read = memory_.read_scalar(t.pa, width);
    if (!read.ok()) return Fault::kPhysicalAccessFault;
    *value = read.value();
    return Fault::kNone;
  }
  uint64_t first_pa = 0, second_pa = 0;
  if (const Fault f = translate_split(va, width, Access::kLoad, &first_pa, &second_pa);
      f != Fault::kNone) {
    return f;
  }
  const auto first = memory_.host_span(first_pa, in_first);
  const auto second = memory_.host_span(second_pa, width - in_first);
  if (!first.ok() || !second.ok()) return Fault::kPhysicalAccessFault;
  uint64_t assembled = 0;
  for (unsigned i = 0; i < width; ++i) {
    const std::byte b = i < in_first ? first.value()[i] : second.value()[i - in_first];
    assembled |= static_cast<uint64_t>(b) << (8 * i);
  }
  *value = assembled;
  return Fault::kNone;
}

Fault Mmu::store_slow(uint64_t va, unsigned width, uint64_t value) {
  if (behind()) catch_up();
  const uint64_t in_first = kPageSize - (va & (kPageSize - 1));
  if (width <= in_first) {
    const Translation t = translate(va, Access::kStore);
    if (t.fault != Fault::kNone) return t.fault;
    if (std::byte* host = host_after_translate(va, Access::kStore)) {
      for (unsigned i = 0; i < width; ++i)
        host[i] = static_cast<std::byte>(value >> (8 * i));
      return Fault::kNone;
    }
    return memory_.write_scalar(t.pa, width, value).ok() ? Fault::kNone
                                                         : Fault::kPhysicalAccessFault;
  }
  uint64_t first_pa = 0, second_pa = 0;
  if (const Fault f = translate_split(va, width, Access::kStore, &first_pa, &second_pa);
      f != Fault::kNone) {
    return f;
  }
  // Both parts are checked before either is written; GuestMemory's bulk writes then mark the
  // pages dirty where tracking is on.
  if (!memory_.host_span(first_pa, in_first).ok() ||
      !memory_.host_span(second_pa, width - in_first).ok()) {
    return Fault::kPhysicalAccessFault;
  }
  std::array<std::byte, 8> bytes;
  for (unsigned i = 0; i < width; ++i)
    bytes[i] = static_cast<std::byte>(value >> (8 * i));
  const std::span<const std::byte> all(bytes.data(), width);
  const bool written = memory_.write(first_pa, all.first(in_first)).ok() &&
                       memory_.write(second_pa, all.subspan(in_first)).ok();
  VMM_CHECK(written, "a RAM range checked a moment ago refused a write");
  return Fault::kNone;
}

Fault Mmu::load_scalar(uint64_t va, unsigned width, uint64_t* value) {
  auto take = [value](auto result) {
    *value = result.value;
    return result.fault;
  };
  switch (width) {
    case 1:
      return take(load<uint8_t>(va));
    case 2:
      return take(load<uint16_t>(va));
    case 4:
      return take(load<uint32_t>(va));
    default:
      return take(load<uint64_t>(va));
  }
}

Fault Mmu::store_scalar(uint64_t va, unsigned width, uint64_t value) {
  switch (width) {
    case 1:
      return store<uint8_t>(va, static_cast<uint8_t>(value));
    case 2:
      return store<uint16_t>(va, static_cast<uint16_t>(value));
    case 4:
      return store<uint32_t>(va, static_cast<uint32_t>(value));
    default:
      return store<uint64_t>(va, value);
  }
}

void Mmu::translate_batch(std::span<const uint64_t> vas, Access access,
                          std::span<Translation> out) {
  uint64_t last_page = TlbEntry::kNoPage;
  uint64_t last_va = 0;
  Translation last;
  for (size_t i = 0; i < vas.size(); ++i) {
    const uint64_t va = vas[i];
    if (page_of(va) == last_page) {
      out[i] =
          last.fault == Fault::kNone ? Translation{Fault::kNone, last.pa + (va - last_va)} : last;
      continue;
    }
    last = out[i] = translate(va, access);
    last_page = page_of(va);
    last_va = va;
  }
}

void Mmu::flush(const FlushRequest& request) {
  switch (request.kind) {
    case FlushKind::kAll:
      return tlb_.flush_all();
    case FlushKind::kAsid:
      return tlb_.flush_asid(request.asid);
    case FlushKind::kAddress:
      return tlb_.flush_address(request.va);
    case FlushKind::kAddressAsid:
      return tlb_.flush_address_asid(request.va, request.asid);
    case FlushKind::kRange:
      return tlb_.flush_range(request.va, request.length, std::nullopt);
    case FlushKind::kRangeAsid:
      return tlb_.flush_range(request.va, request.length, request.asid);
  }
}

Status Mmu::check() const {
  if (Status s = tlb_.check(); !s.ok()) return s;
  if (memory_.generation() != generation_) return kOkStatus;  // flushed before the next use
  Status result = kOkStatus;
  tlb_.for_each_entry([&](const TlbEntry& entry) {
    if (!result.ok()) return;
    const uint64_t pa = entry.page + entry.pa_offset;
    const auto window = memory_.ram_window(pa);
    const bool host_matches = window && entry.ram &&
                              window->host + (pa - window->base) ==
                                  reinterpret_cast<std::byte*>(entry.page + entry.host_offset);
    if (entry.ram != window.has_value() || (entry.ram && !host_matches)) {
      result = Status::error(ErrorCode::kBrokenInvariant, "mmu: TLB host address is stale",
                             entry.page, pa);
    } else if (entry.ram && entry.read_only != window->read_only) {
      result = Status::error(ErrorCode::kBrokenInvariant,
                             "mmu: TLB read-only state differs from the region's", entry.page, pa);
    } else if (entry.ram && entry.tracked != (window->dirty != nullptr)) {
      result =
          Status::error(ErrorCode::kBrokenInvariant,
                        "mmu: TLB dirty-tracking state differs from the region's", entry.page, pa);
    }
  });
  return result;
}

}  // namespace vmmem::mmu
