#include "scenario/shim/model.h"

#include <errno.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "alloc/layout.h"

namespace vmmem::scenario::shim {
namespace {

// The largest request and alignment the allocator serves (alloc/layout.h): beyond them there is
// no memory, as the C API reports it (ENOMEM).
constexpr uint64_t kLargestRequest = vmmem::alloc::kMaxRequest;
constexpr uint64_t kLargestAlignment = vmmem::alloc::kMaxAlignment;

bool power_of_two(uint64_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

// C: a block is suitably aligned for any object that fits in it, up to max_align_t.
uint64_t fundamental_alignment(uint64_t bytes) {
  return bytes >= 16 ? 16 : std::bit_floor(bytes == 0 ? uint64_t{1} : bytes);
}

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

Model::Model(const Config& config, uint64_t page_size) : config_(config), page_size_(page_size) {}

Model::Expected Model::expect_block_of(uint64_t bytes, uint64_t alignment) const {
  Expected expected;
  if (bytes > kLargestRequest || alignment > kLargestAlignment) {
    expected.error = ENOMEM;
    return expected;
  }
  expected.may_run_out = bytes > kLargestTried;
  expected.block = true;
  expected.bytes = bytes;
  expected.alignment = std::max(alignment, fundamental_alignment(bytes));
  return expected;
}

Model::Expected Model::expect_allocate(const Allocate& op) const {
  Expected refused;
  switch (op.call) {
    case AllocCall::kMalloc:
      return expect_block_of(op.size, 1);
    case AllocCall::kCalloc: {
      uint64_t bytes;
      if (__builtin_mul_overflow(op.extra, op.size, &bytes)) {
        refused.error = ENOMEM;
        return refused;
      }
      return expect_block_of(bytes, 1);
    }
    case AllocCall::kPosixMemalign:
      // POSIX: a power of two multiple of sizeof(void*), else EINVAL.
      if (op.extra % sizeof(void*) != 0 || !power_of_two(op.extra)) {
        refused.error = EINVAL;
        return refused;
      }
      return expect_block_of(op.size, op.extra);
    case AllocCall::kAlignedAlloc:
      if (!power_of_two(op.extra)) {
        refused.error = EINVAL;
        return refused;
      }
      return expect_block_of(op.size, op.extra);
    case AllocCall::kMemalign: {
      // glibc: an alignment that is not a power of two is rounded up to one; one that cannot
      // be is EINVAL.
      if (op.extra > (UINT64_MAX >> 1) + 1) {
        refused.error = EINVAL;
        return refused;
      }
      return expect_block_of(op.size, op.extra <= 1 ? 1 : std::bit_ceil(op.extra));
    }
    case AllocCall::kValloc:
      return expect_block_of(op.size, page_size_);
    case AllocCall::kPvalloc: {
      // The size rounded up to whole pages (at least one).
      if (op.size > UINT64_MAX - (page_size_ - 1)) {
        refused.error = ENOMEM;
        return refused;
      }
      const uint64_t rounded = (op.size + page_size_ - 1) / page_size_ * page_size_;
      return expect_block_of(rounded == 0 ? page_size_ : rounded, page_size_);
    }
    case AllocCall::kCount:
      break;
  }
  return refused;
}

std::optional<std::string> Model::check_contents(const Block& block) const {
  const auto* bytes = reinterpret_cast<const unsigned char*>(block.address);
  for (uint64_t i = 0; i < block.known; ++i) {
    if (bytes[i] != block.fill)
      return "block " + hex(block.address) + " byte " + std::to_string(i) + " is " +
             std::to_string(bytes[i]) + ", written as " + std::to_string(block.fill);
  }
  return std::nullopt;
}

std::optional<std::string> Model::before(const Op& op) const {
  // Every op that names a block first finds it as it was left; Check looks at all of them.
  if (live_.empty()) return std::nullopt;
  if (const auto* check = std::get_if<Check>(&op)) {
    (void)check;
    for (const Block& block : live_) {
      if (auto complaint = check_contents(block)) return complaint;
    }
    return std::nullopt;
  }
  uint16_t slot;
  if (const auto* o = std::get_if<Realloc>(&op)) {
    if (o->null_pointer) return std::nullopt;
    slot = o->slot;
  } else if (const auto* f = std::get_if<Free>(&op)) {
    if (f->null_pointer) return std::nullopt;
    slot = f->slot;
  } else if (const auto* u = std::get_if<UsableSize>(&op)) {
    slot = u->slot;
  } else if (const auto* w = std::get_if<Fill>(&op)) {
    slot = w->slot;
  } else {
    return std::nullopt;
  }
  return check_contents(live_[pick(slot, live_.size())]);
}

std::optional<std::string> Model::judge_new_block(const Outcome& actual, const Expected& expected,
                                                  std::optional<size_t> replacing) const {
  if (actual.address % expected.alignment != 0)
    return "block " + hex(actual.address) + " is not aligned to " +
           std::to_string(expected.alignment);
  if (actual.usable < expected.bytes)
    return "usable size " + std::to_string(actual.usable) + " is below the " +
           std::to_string(expected.bytes) + " bytes asked for";
  for (size_t i = 0; i < live_.size(); ++i) {
    if (replacing == i) continue;
    const Block& other = live_[i];
    // A block of 0 usable bytes (malloc(0) under ASan, which reports the size asked for)
    // still owns its first address.
    if (actual.address < other.address + std::max<uint64_t>(other.usable, 1) &&
        other.address < actual.address + std::max<uint64_t>(actual.usable, 1))
      return "block " + hex(actual.address) + " overlaps the live block " + hex(other.address);
  }
  return std::nullopt;
}

std::optional<std::string> Model::judge_result(const Expected& expected, const Outcome& actual,
                                               const char* errno_name) {
  if (actual.skipped != expected.skipped)
    return "skipped must be " + std::to_string(expected.skipped);
  if (expected.skipped) return std::nullopt;
  if (expected.may_run_out && !actual.block) {
    if (actual.error != ENOMEM) return std::string(errno_name) + " must be ENOMEM";
    return std::nullopt;
  }
  if (actual.block != expected.block)
    return expected.block ? "a block must come back" : "no block may come back";
  if (actual.error != expected.error)
    return std::string(errno_name) + " must be " + std::to_string(expected.error);
  return std::nullopt;
}

std::optional<std::string> Model::judge_allocate(const Allocate& op, const Outcome& actual) {
  const Expected expected = expect_allocate(op);
  if (auto complaint = judge_result(
          expected, actual, op.call == AllocCall::kPosixMemalign ? "the return value" : "errno"))
    return complaint;
  if (expected.skipped) return std::nullopt;
  if (op.call == AllocCall::kPosixMemalign && !actual.errno_untouched)
    return "posix_memalign changed errno, or *out on failure";
  if (actual.reports != 0) return "nothing may be reported";
  if (!actual.block) return std::nullopt;
  if (auto complaint = judge_new_block(actual, expected, std::nullopt)) return complaint;
  Block block{actual.address, expected.bytes, actual.usable, 0, 0};
  if (op.call == AllocCall::kCalloc) {
    block.known = std::min(expected.bytes, kFillLimit);
    if (auto complaint = check_contents(block)) return "calloc: " + *complaint;
  }
  live_.push_back(block);
  return std::nullopt;
}

std::optional<std::string> Model::judge_realloc(const Realloc& op, const Outcome& actual) {
  const bool names_block = !op.null_pointer;
  Expected expected;
  uint64_t bytes = op.size;
  if (names_block && live_.empty()) {
    expected.skipped = true;
  } else if (op.array && __builtin_mul_overflow(op.count, op.size, &bytes)) {
    expected.error = ENOMEM;
  } else if (names_block && bytes == 0) {
    expected = {};  // frees the block; null, errno untouched
  } else {
    expected = expect_block_of(bytes, 1);
  }
  if (auto complaint = judge_result(expected, actual, "errno")) return complaint;
  if (expected.skipped) return std::nullopt;
  if (actual.reports != 0) return "nothing may be reported";
  const std::optional<size_t> index =
      names_block ? std::optional<size_t>(pick(op.slot, live_.size())) : std::nullopt;
  if (!actual.block) {
    if (index && actual.error == 0) {  // realloc(p, 0) freed p
      freed_.push_back(live_[*index].address);
      remove(*index);
    }
    return std::nullopt;
  }
  if (auto complaint = judge_new_block(actual, expected, index)) return complaint;
  Block block{actual.address, bytes, actual.usable, 0, 0};
  if (index) {
    const Block& old = live_[*index];
    block.known = std::min(old.known, bytes);
    block.fill = old.fill;
    if (auto complaint = check_contents(block)) return "realloc lost the contents: " + *complaint;
    if (old.address != actual.address) freed_.push_back(old.address);
    live_[*index] = block;
  } else {
    live_.push_back(block);
  }
  return std::nullopt;
}

std::optional<uint64_t> Model::freed_not_live() const {
  for (size_t i = freed_.size(); i-- > 0;) {
    const uint64_t address = freed_[i];
    const bool covered = std::any_of(live_.begin(), live_.end(), [&](const Block& block) {
      return address >= block.address &&
             address - block.address < std::max<uint64_t>(block.usable, 1);
    });
    if (!covered) return address;
  }
  return std::nullopt;
}

std::optional<std::string> Model::judge_bad_pointer(const BadPointer& op, const Outcome& actual) {
  // Which pointer the op must use, if any; the executor cannot be asked, only checked.
  bool applies = true;
  std::optional<uint64_t> pointer;
  switch (op.kind) {
    case BadPointerKind::kStatic:
    case BadPointerKind::kLibc:
      break;
    case BadPointerKind::kInterior:
      // free() of an interior pointer is caught in hardened mode only; realloc and
      // malloc_usable_size look at every pointer closely.
      applies = !live_.empty() && (config_.hardened || op.use != BadPointerUse::kFree);
      if (applies) pointer = live_[pick(op.slot, live_.size())].address + 1;
      break;
    case BadPointerKind::kFreed:
      if (config_.hardened) pointer = freed_not_live();
      applies = pointer.has_value();
      break;
    case BadPointerKind::kCount:
      applies = false;
      break;
  }
  if (actual.skipped != !applies) return "skipped must be " + std::to_string(!applies);
  if (!applies) return std::nullopt;
  if (pointer && actual.address != *pointer)
    return "the op must use " + hex(*pointer) + ", not " + hex(actual.address);
  if (actual.block) return "a bad pointer must give no block";
  switch (op.use) {
    case BadPointerUse::kFree:
      if (actual.reports != 1) return "free of a bad pointer must be reported once";
      if (actual.error != 0) return "free must leave errno alone";
      break;
    case BadPointerUse::kRealloc:
      if (actual.reports != 1) return "realloc of a bad pointer must be reported once";
      if (actual.error != ENOMEM) return "realloc of a bad pointer must fail with ENOMEM";
      break;
    case BadPointerUse::kUsableSize:
      if (actual.usable != 0) return "malloc_usable_size of a bad pointer must be 0";
      if (actual.reports != 0) return "malloc_usable_size reports nothing";
      break;
    case BadPointerUse::kCount:
      break;
  }
  return std::nullopt;
}

std::optional<std::string> Model::judge(const Op& op, const Outcome& actual) {
  if (const auto* o = std::get_if<Allocate>(&op)) return judge_allocate(*o, actual);
  if (const auto* o = std::get_if<Realloc>(&op)) return judge_realloc(*o, actual);
  if (const auto* o = std::get_if<BadPointer>(&op)) return judge_bad_pointer(*o, actual);
  if (const auto* o = std::get_if<Free>(&op)) {
    const bool applies = o->null_pointer || !live_.empty();
    if (actual.skipped != !applies) return "skipped must be " + std::to_string(!applies);
    if (actual.reports != 0) return "a valid free reports nothing";
    if (!applies || o->null_pointer) return std::nullopt;
    const size_t index = pick(o->slot, live_.size());
    if (actual.address != live_[index].address) return "freed the wrong block";
    freed_.push_back(live_[index].address);
    remove(index);
    return std::nullopt;
  }
  if (const auto* o = std::get_if<Fill>(&op)) {
    if (actual.skipped != live_.empty()) return "skipped must be " + std::to_string(live_.empty());
    if (live_.empty()) return std::nullopt;
    Block& block = live_[pick(o->slot, live_.size())];
    block.known = std::min(block.usable, kFillLimit);
    block.fill = o->byte;
    return check_contents(block);
  }
  if (const auto* o = std::get_if<UsableSize>(&op)) {
    if (actual.skipped != live_.empty()) return "skipped must be " + std::to_string(live_.empty());
    if (live_.empty()) return std::nullopt;
    const Block& block = live_[pick(o->slot, live_.size())];
    if (actual.usable != block.usable)
      return "malloc_usable_size changed from " + std::to_string(block.usable);
    return std::nullopt;
  }
  if (std::holds_alternative<Trim>(op)) {
    if (actual.error != 0) return "malloc_trim must return 1";
    return std::nullopt;
  }
  if (std::holds_alternative<Check>(op)) {
    if (actual.stats_live_blocks != live_.size())
      return "stats count " + std::to_string(actual.stats_live_blocks) + " live blocks, not " +
             std::to_string(live_.size());
  }
  return std::nullopt;
}

void Model::remove(size_t index) {
  live_[index] = live_.back();
  live_.pop_back();
}

}  // namespace vmmem::scenario::shim
