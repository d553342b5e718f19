#include "scenario/mmu/model.h"

#include <algorithm>
#include <array>
#include <type_traits>

#include "scenario/mmu/reference_walker.h"

namespace vmmem::scenario::mmu {
namespace {

namespace pte = vmmem::mmu::pte;
using vmmem::mmu::page_size_at;

constexpr uint64_t kPpnBits = (uint64_t{1} << 44) - 1;

uint64_t next_table(uint64_t entry) {
  return ((entry >> 10) & kPpnBits) * 4096;
}
bool valid(uint64_t entry) {
  return (entry & 1) != 0;
}
bool leaf(uint64_t entry) {
  return (entry & 0xe) != 0;
}
bool leaf_flags_ok(uint8_t flags) {
  const bool r = flags & 2, w = flags & 4, x = flags & 8;
  return (flags & 1) == 0 && (r || x) && !(w && !r);
}
// The last byte of the range [va, va + length), clamped at the top of the address space.
// REQUIRES: length > 0.
uint64_t range_last(uint64_t va, uint64_t length) {
  return va + (length - 1) < va ? ~uint64_t{0} : va + (length - 1);
}

unsigned vpn(uint64_t va, unsigned level) {
  return static_cast<unsigned>((va >> (12 + 9 * level)) & 511);
}
std::string translation_text(Fault fault, uint64_t pa) {
  if (fault != Fault::kNone) return std::string(vmmem::mmu::to_string(fault));
  char text[40];
  std::snprintf(text, sizeof text, "pa %#llx", static_cast<unsigned long long>(pa));
  return text;
}

}  // namespace

Model::Model(const Config& config)
    : config_(config), table_mode_(config.mode == Mode::kBare ? Mode::kSv39 : config.mode) {
  epoch_ = -1;
  for (unsigned slot = 0; slot < kSpaces; ++slot)
    roots_.push_back(allocate_frame());
  epoch_ = 0;
  dirty_.clear();  // tracking starts after the roots are allocated
}

bool Model::tracked(uint64_t pa) const {
  // RAM's tracking follows the scratch region's presence (layout.h).
  return config_.dirty_tracking && scratch_present_ && is_ram(pa);
}

std::optional<std::string> Model::judge_dirty(const Outcome& actual) {
  const std::vector<uint64_t> expected(dirty_.begin(), dirty_.end());
  dirty_.clear();
  if (!config_.dirty_tracking || actual.dirty_pages == expected) return std::nullopt;
  std::string text = "dirty pages should be [";
  for (size_t i = 0; i < expected.size(); ++i)
    text += (i ? " " : "") + translation_text(Fault::kNone, expected[i]).substr(3);
  return text + "]";
}

bool Model::scratch_present_at(int64_t version) const {
  bool present = true;
  for (const auto& [epoch, after] : scratch_toggles_) {
    if (epoch > version) break;
    present = after;
  }
  return present;
}

bool Model::is_ram(uint64_t pa, int64_t version) const {
  if (pa - kRamBase < kRamSize) return true;
  const bool scratch = version == kNow ? scratch_present_ : scratch_present_at(version);
  return scratch && pa - kScratchBase < kScratchSize;
}

uint64_t Model::word(uint64_t address) const {
  auto it = words_.find(address);
  return it == words_.end() ? 0 : it->second;
}

std::optional<uint64_t> Model::word_at(uint64_t address, int64_t version) const {
  if (!is_ram(address, version)) return std::nullopt;
  uint64_t value = word(address);
  if (version == kNow) return value;
  if (auto it = history_.find(address); it != history_.end()) {
    for (auto change = it->second.rbegin(); change != it->second.rend(); ++change) {
      if (change->first <= version) break;
      value = change->second;
    }
  }
  return value;
}

void Model::set_word(uint64_t address, uint64_t value) {
  if (tracked(address)) dirty_.insert(address & ~uint64_t{4095});
  const uint64_t old = word(address);
  if (old == value) return;
  history_[address].emplace_back(epoch_, old);
  if (change_epochs_.empty() || change_epochs_.back() != epoch_) change_epochs_.push_back(epoch_);
  if (value == 0) {
    words_.erase(address);
  } else {
    words_[address] = value;
  }
}

void Model::zero_words(uint64_t base, uint64_t size) {
  // Only words that hold something change (absent words already read as zero).
  std::vector<uint64_t> nonzero;
  for (auto it = words_.lower_bound(base); it != words_.end() && it->first - base < size; ++it)
    nonzero.push_back(it->first);
  for (uint64_t address : nonzero)
    set_word(address, 0);
}

uint8_t Model::byte(uint64_t pa) const {
  return static_cast<uint8_t>(word(pa & ~uint64_t{7}) >> (8 * (pa & 7)));
}

void Model::set_byte(uint64_t pa, uint8_t value) {
  const uint64_t address = pa & ~uint64_t{7};
  const unsigned shift = 8 * (pa & 7);
  set_word(address, (word(address) & ~(uint64_t{0xff} << shift)) | (uint64_t{value} << shift));
}

uint64_t Model::frames_left() const {
  return (kFrameBase + kFrameBytes - next_frame_) / 4096 + free_frames_.size();
}

uint64_t Model::allocate_frame() {
  uint64_t frame = next_frame_;
  if (free_frames_.empty()) {
    next_frame_ += 4096;
  } else {
    frame = free_frames_.back();
    free_frames_.pop_back();
  }
  zero_words(frame, 4096);
  if (tracked(frame)) dirty_.insert(frame);
  return frame;
}

ErrorCode Model::plan_map(unsigned slot, const Map& op, unsigned* missing) const {
  const unsigned top = levels(table_mode_);
  unsigned target = 0;
  while (target < top && page_size_at(target) != op.size)
    ++target;
  if (target == top || !leaf_flags_ok(op.flags) || !is_canonical(op.va, table_mode_) ||
      op.va % op.size != 0 || op.pa % op.size != 0 ||
      op.pa + op.size > vmmem::mmu::kPhysicalAddressLimit || op.pa + op.size < op.pa) {
    return ErrorCode::kInvalidArgument;
  }
  *missing = 0;
  uint64_t table = roots_[slot];
  for (unsigned level = top; level-- > target;) {
    const uint64_t address = table + 8 * vpn(op.va, level);
    if (!is_ram(address)) return ErrorCode::kUnmapped;
    const uint64_t entry = word(address);
    if (level == target) return valid(entry) ? ErrorCode::kConflict : ErrorCode::kOk;
    if (!valid(entry)) {
      *missing = level - target;
      return ErrorCode::kOk;
    }
    if (leaf(entry)) return ErrorCode::kConflict;
    table = next_table(entry);
  }
  return ErrorCode::kOk;
}

void Model::do_map(unsigned slot, const Map& op) {
  unsigned target = 0;
  while (page_size_at(target) != op.size)
    ++target;
  uint64_t table = roots_[slot];
  for (unsigned level = levels(table_mode_) - 1; level > target; --level) {
    const uint64_t address = table + 8 * vpn(op.va, level);
    if (!valid(word(address))) set_word(address, (allocate_frame() >> 12) << 10 | 1);
    table = next_table(word(address));
  }
  set_word(table + 8 * vpn(op.va, target), (op.pa >> 12) << 10 | op.flags | 1);
}

ErrorCode Model::map(const Map& op) {
  const bool global = (op.flags & pte::kGlobal) != 0;
  uint64_t needed = 0;
  for (unsigned slot = 0; slot < kSpaces; ++slot) {
    if (!global && slot != space_) continue;
    unsigned missing = 0;
    if (const ErrorCode code = plan_map(slot, op, &missing); code != ErrorCode::kOk) return code;
    needed += missing;
  }
  if (needed > frames_left()) return ErrorCode::kOutOfMemory;
  for (unsigned slot = 0; slot < kSpaces; ++slot) {
    if (!global && slot != space_) continue;
    // Tables shared through corruption: the spaces mapped so far may have filled this one's
    // slot. Planning again also re-checks the frames left.
    unsigned missing = 0;
    if (const ErrorCode code = plan_map(slot, op, &missing); code != ErrorCode::kOk) return code;
    if (missing > frames_left()) return ErrorCode::kOutOfMemory;
    do_map(slot, op);
  }
  return ErrorCode::kOk;
}

ErrorCode Model::find_leaf(unsigned slot, uint64_t va, uint64_t* address) const {
  if (!is_canonical(va, table_mode_)) return ErrorCode::kInvalidArgument;
  uint64_t table = roots_[slot];
  for (unsigned level = levels(table_mode_); level-- > 0;) {
    *address = table + 8 * vpn(va, level);
    if (!is_ram(*address)) return ErrorCode::kUnmapped;
    const uint64_t entry = word(*address);
    if (!valid(entry)) return ErrorCode::kNotFound;
    if (leaf(entry)) return ErrorCode::kOk;
    table = next_table(entry);
  }
  return ErrorCode::kNotFound;
}

ErrorCode Model::change_leaf(uint64_t va, std::optional<uint8_t> protect_flags) {
  if (protect_flags && !leaf_flags_ok(*protect_flags)) return ErrorCode::kInvalidArgument;
  uint64_t address = 0;
  if (const ErrorCode code = find_leaf(space_, va, &address); code != ErrorCode::kOk) return code;
  const bool global = (word(address) & pte::kGlobal) != 0;
  for (unsigned slot = 0; slot < kSpaces; ++slot) {
    if (slot != space_ && !global) continue;
    if (find_leaf(slot, va, &address) != ErrorCode::kOk) continue;
    const uint64_t old = word(address);
    if (protect_flags) {
      set_word(address, (old & ~uint64_t{0xff}) | (old & pte::kGlobal) |
                            (*protect_flags & ~pte::kGlobal) | 1);
    } else {
      set_word(address, 0);
      reclaim_tables(slot, va);
    }
  }
  return ErrorCode::kOk;
}

void Model::reclaim_tables(unsigned slot, uint64_t va) {
  // The walk down to the leaf just cleared: tables[level] holds va's level-`level` PTE.
  const unsigned top = levels(table_mode_);
  std::vector<uint64_t> tables(top);
  uint64_t table = roots_[slot];
  unsigned leaf_level = top - 1;
  for (unsigned level = top; level-- > 0;) {
    tables[level] = table;
    leaf_level = level;
    const uint64_t entry = word(table + 8 * vpn(va, level));
    if (entry == 0 || leaf(entry) || !valid(entry)) break;  // the cleared leaf's slot
    table = next_table(entry);
  }
  for (unsigned level = leaf_level; level + 1 < top; ++level) {
    const uint64_t empty = tables[level];
    const bool handed_out =
        empty >= kFrameBase && empty < next_frame_ && empty % 4096 == 0 &&
        std::find(free_frames_.begin(), free_frames_.end(), empty) == free_frames_.end();
    if (!handed_out) return;
    for (uint64_t i = 0; i < 512; ++i) {
      if (word(empty + 8 * i) != 0) return;
    }
    set_word(tables[level + 1] + 8 * vpn(va, level + 1), 0);
    free_frames_.push_back(empty);
  }
}

ErrorCode Model::corrupt(const CorruptPte& op) {
  const unsigned top = levels(table_mode_);
  if (op.level >= top || !is_canonical(op.va, table_mode_)) return ErrorCode::kInvalidArgument;
  uint64_t table = roots_[space_];
  uint64_t address = 0;
  for (unsigned level = top - 1;; --level) {
    address = table + 8 * vpn(op.va, level);
    if (level == op.level) break;
    if (!is_ram(address)) return ErrorCode::kUnmapped;
    const uint64_t entry = word(address);
    if (!valid(entry) || leaf(entry)) return ErrorCode::kNotFound;
    table = next_table(entry);
  }
  if (!is_ram(address)) return ErrorCode::kUnmapped;
  set_word(address, word(address) ^ op.bits);
  return ErrorCode::kOk;
}

ErrorCode Model::toggle_scratch() {
  if (scratch_present_) zero_words(kScratchBase, kScratchSize);
  scratch_present_ = !scratch_present_;
  dirty_.clear();  // the removed region's bitmap and RAM's go with tracking off
  scratch_toggles_.emplace_back(epoch_, scratch_present_);
  if (change_epochs_.empty() || change_epochs_.back() != epoch_) change_epochs_.push_back(epoch_);
  return ErrorCode::kOk;
}

ReferenceResult Model::walk(unsigned slot, uint64_t va, Access access, int64_t version) {
  const ReferenceRequest request{
      config_.mode, roots_[slot] >> 12,
      privilege_,   sum_,
      mxr_,         version == kNow ? config_.ad_policy : AdPolicy::kFault,
      access,       va};
  return reference_translate(
      request, [this, version](uint64_t address) { return word_at(address, version); },
      [this](uint64_t address, uint64_t value) { set_word(address, value); });
}

int64_t Model::last_covering_flush(uint64_t leaf_base, uint64_t size, uint16_t asid,
                                   bool global) const {
  const uint64_t leaf_last = leaf_base + (size - 1);
  for (auto f = flushes_.rbegin(); f != flushes_.rend(); ++f) {
    const bool mine = !global && f->asid == asid;
    const bool hits_va = f->va >= leaf_base && f->va <= leaf_last;
    const bool overlaps =
        f->length != 0 && f->va <= leaf_last && range_last(f->va, f->length) >= leaf_base;
    bool covers = false;
    switch (f->kind) {
      case FlushKind::kAll:
        covers = true;
        break;
      case FlushKind::kAsid:
        covers = mine;
        break;
      case FlushKind::kAddress:
        covers = hits_va;
        break;
      case FlushKind::kAddressAsid:
        covers = hits_va && mine;
        break;
      case FlushKind::kRange:
        covers = overlaps;
        break;
      case FlushKind::kRangeAsid:
        covers = overlaps && mine;
        break;
    }
    if (covers) return f->epoch;
  }
  return -1;
}

bool Model::falls_back(const Flush& op) const {
  // A posted flush is applied at the owner's next translation, not by this op.
  if (config_.remote_flushes || op.length == 0) return false;
  if (op.kind != FlushKind::kRange && op.kind != FlushKind::kRangeAsid) return false;
  const uint64_t pages = (range_last(op.va, op.length) >> 12) - (op.va >> 12) + 1;
  return pages > range_flush_limit(config_);
}

bool Model::stale_allowed(uint64_t va, Access access, uint64_t pa) {
  std::vector<int64_t> versions{-1};
  versions.insert(versions.end(), change_epochs_.begin(), change_epochs_.end());
  for (size_t i = 0; i < versions.size(); ++i) {
    const int64_t version = versions[i];
    const int64_t replaced = i + 1 < versions.size() ? versions[i + 1] : kNow;
    for (unsigned n = 0; n < kSpaces; ++n) {
      const unsigned slot = (space_ + n) % kSpaces;
      const ReferenceResult r = walk(slot, va, access, version);
      if (r.fault != Fault::kNone || r.pa != pa) continue;
      const bool global = (r.pte & pte::kGlobal) != 0;
      if (slot != space_ && !global) continue;
      const uint64_t size = page_size_at(static_cast<unsigned>(r.level));
      if (replaced > last_covering_flush(va & ~(size - 1), size, kSpaceAsids[slot], global)) {
        return true;
      }
    }
  }
  return false;
}

std::optional<std::string> Model::judge_cause(const Outcome& actual, Access access) {
  // The privileged spec's exception codes: instruction / load / store page fault 12 / 13 / 15,
  // access fault 1 / 5 / 7.
  const bool access_fault =
      actual.fault == Fault::kPteAccessFault || actual.fault == Fault::kPhysicalAccessFault;
  const unsigned by_access = access == Access::kFetch ? 0 : access == Access::kLoad ? 1 : 2;
  const unsigned expected = actual.fault == Fault::kNone ? 0
                            : access_fault               ? std::array{1u, 5u, 7u}[by_access]
                                                         : std::array{12u, 13u, 15u}[by_access];
  if (actual.cause == expected) return std::nullopt;
  return "exception code " + std::to_string(actual.cause) + " for " +
         std::string(vmmem::mmu::to_string(actual.fault)) + ", expected " +
         std::to_string(expected);
}

std::optional<std::string> Model::judge_translation(uint64_t va, Access access,
                                                    const Translation& actual) {
  const ReferenceResult r = walk(space_, va, access, kNow);
  const Translation expected{r.fault, r.fault == Fault::kNone ? r.pa : 0};
  if (actual == expected) return std::nullopt;
  if (!config_.coherent && actual.fault == Fault::kNone && stale_allowed(va, access, actual.pa)) {
    return std::nullopt;
  }
  return "translation of " + translation_text(Fault::kNone, va) + " should be " +
         translation_text(expected.fault, expected.pa) +
         (config_.coherent ? "" : " (or a translation still allowed to be cached)");
}

std::optional<std::string> Model::judge_access(uint64_t va, unsigned size, Access access,
                                               std::optional<uint64_t> value,
                                               const Outcome& actual) {
  const uint64_t in_first = 4096 - (va & 4095);
  const bool crossing = size > in_first;
  const uint64_t second_va = (va & ~uint64_t{4095}) + 4096;
  const ReferenceResult first = walk(space_, va, access, kNow);
  ReferenceResult second;
  if (crossing && (first.fault == Fault::kNone || !config_.coherent)) {
    second = walk(space_, second_va, access, kNow);
  }
  const Fault walk_fault = first.fault != Fault::kNone ? first.fault : second.fault;
  if (actual.fault != Fault::kNone && actual.fault != Fault::kPhysicalAccessFault) {
    const bool allowed = config_.coherent ? actual.fault == walk_fault
                                          : actual.fault == first.fault ||
                                                (crossing && actual.fault == second.fault);
    if (allowed && actual.value == 0 && actual.pa == 0 && actual.pa_last == 0) return std::nullopt;
    return "access should end in " + translation_text(walk_fault, 0);
  }
  // Both translations succeeded: were they allowed?
  const uint64_t pa = actual.pa;
  const uint64_t second_pa = crossing ? actual.pa_last - (size - in_first - 1) : 0;
  auto allowed = [&](const ReferenceResult& r, uint64_t at_va, uint64_t at_pa) {
    if (r.fault == Fault::kNone && r.pa == at_pa) return true;
    return !config_.coherent && stale_allowed(at_va, access, at_pa);
  };
  if (!allowed(first, va, pa) || (crossing && !allowed(second, second_va, second_pa)) ||
      (!crossing && actual.pa_last != pa + (size - 1))) {
    return "access translated to " + translation_text(Fault::kNone, pa) + ", expected " +
           translation_text(walk_fault, first.pa);
  }
  // The physical access.
  Fault expected_fault = Fault::kNone;
  uint64_t expected_value = 0;
  const bool device = !crossing && pa - kDeviceBase < kDeviceSize;
  if (device) {
    if (!value) expected_value = device_value(pa - kDeviceBase, size);
  } else if (!is_ram(pa) || (crossing && !is_ram(second_pa))) {
    expected_fault = Fault::kPhysicalAccessFault;
  } else {
    for (unsigned i = 0; i < size; ++i) {
      const uint64_t at = i < in_first ? pa + i : second_pa + (i - in_first);
      if (value) {
        set_byte(at, static_cast<uint8_t>(*value >> (8 * i)));
      } else {
        expected_value |= uint64_t{byte(at)} << (8 * i);
      }
    }
  }
  if (actual.fault == expected_fault && actual.value == expected_value) return std::nullopt;
  return "physical access at " + translation_text(Fault::kNone, pa) + " should give " +
         translation_text(expected_fault, 0) + " value " + std::to_string(expected_value);
}

std::optional<std::string> Model::judge(const Op& op, const Outcome& actual) {
  auto expect_code = [&actual](ErrorCode code) -> std::optional<std::string> {
    if (actual == Outcome{code}) return std::nullopt;
    return "expected code " + std::string(to_string(code));
  };
  std::optional<std::string> complaint = std::visit(
      [&](const auto& o) -> std::optional<std::string> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Map>) {
          return expect_code(map(o));
        } else if constexpr (std::is_same_v<T, Unmap>) {
          return expect_code(change_leaf(o.va, std::nullopt));
        } else if constexpr (std::is_same_v<T, Protect>) {
          return expect_code(change_leaf(o.va, o.flags));
        } else if constexpr (std::is_same_v<T, SetAsid>) {
          space_ = o.space % kSpaces;
          return expect_code(ErrorCode::kOk);
        } else if constexpr (std::is_same_v<T, SetPrivilege>) {
          privilege_ = o.privilege;
          sum_ = o.sum;
          mxr_ = o.mxr;
          return expect_code(ErrorCode::kOk);
        } else if constexpr (std::is_same_v<T, Translate>) {
          if (actual.code != ErrorCode::kOk || actual.batch_size != 0) return "not a translation";
          if (auto c = judge_cause(actual, o.access)) return c;
          return judge_translation(o.va, o.access, {actual.fault, actual.pa});
        } else if constexpr (std::is_same_v<T, Load>) {
          if (auto c = judge_cause(actual, Access::kLoad)) return c;
          return judge_access(o.va, o.size, Access::kLoad, std::nullopt, actual);
        } else if constexpr (std::is_same_v<T, Store>) {
          if (auto c = judge_cause(actual, Access::kStore)) return c;
          return judge_access(o.va, o.size, Access::kStore, o.value, actual);
        } else if constexpr (std::is_same_v<T, Flush>) {
          flushes_.push_back({epoch_, o.kind, o.va, o.asid, o.length});
          Outcome expected;
          expected.fell_back = falls_back(o);
          if (actual == expected) return std::nullopt;
          return expected.fell_back
                     ? "a range flush over more pages than the limit flushes everything"
                     : "expected code ok, and no fallback to a full flush";
        } else if constexpr (std::is_same_v<T, Batch>) {
          if (actual.batch_size != o.count) return "batch size differs";
          for (unsigned i = 0; i < o.count; ++i) {
            const uint64_t va = o.va + static_cast<uint64_t>(int64_t{o.stride} * i);
            if (auto c = judge_translation(va, o.access, actual.batch[i])) {
              return "batch element " + std::to_string(i) + ": " + *c;
            }
          }
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, CorruptPte>) {
          return expect_code(corrupt(o));
        } else {
          return expect_code(toggle_scratch());
        }
      },
      op);
  if (std::optional<std::string> dirty = judge_dirty(actual); dirty && !complaint) {
    complaint = std::move(dirty);
  }
  ++epoch_;
  return complaint;
}

}  // namespace vmmem::scenario::mmu
