#include "scenario/alloc/model.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "support/check.h"

namespace vmmem::scenario::alloc {
namespace {

constexpr uint64_t kMaxAlignment = uint64_t{1} << 21;
constexpr uint64_t kMaxRequest = uint64_t{1} << 46;
constexpr uint64_t kMaxSmallSize = 64 * 1024;
// A reallocation that moves a block to more than this gives it a span of its own.
constexpr uint64_t kSmallestSpanBlock = 32 * 1024;
constexpr uint64_t kSliceSize = 64 * 1024;
constexpr uint64_t kLargestSpanBytes = 63 * kSliceSize;  // bigger blocks get their own mapping
// Blocks up to this size are verified whole; bigger ones at both ends and by sampling.
constexpr uint64_t kFullVerifyBytes = 4096;
constexpr uint64_t kEndWords = 64;
constexpr uint64_t kSampledWords = 64;
constexpr size_t kBlocksVerifiedPerOp = 4;

std::string format(const char* fmt, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0) {
  char text[200];
  std::snprintf(text, sizeof text, fmt, a, b, c);
  return text;
}

// The error the contract names for a request, or kOk.
ErrorCode request_error(uint64_t size, uint64_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) return ErrorCode::kInvalidArgument;
  if (alignment > kMaxAlignment) return ErrorCode::kUnsupported;
  if (size > kMaxRequest) return ErrorCode::kOutOfMemory;
  return ErrorCode::kOk;
}

const uint8_t* bytes_at(uint64_t address) {
  return reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(address));
}

// Where [0, length) of a block differs from what it must hold, looking at every word of short
// blocks and at both ends and evenly spread words of long ones. `expected(i)` is word i.
template <class Expected>
VMM_NO_FUZZ_TRACING std::optional<uint64_t> first_difference(const uint8_t* bytes, uint64_t length,
                                                             Expected&& expected) {
  auto differs = [&](uint64_t word) -> std::optional<uint64_t> {
    const uint64_t at = word * 8;
    if (at >= length) return std::nullopt;
    const uint64_t want = expected(word);
    if (at + 8 <= length) {
      uint64_t have;
      std::memcpy(&have, bytes + at, 8);
      if (have == want) return std::nullopt;
    }
    for (uint64_t i = at; i < length && i < at + 8; ++i)
      if (bytes[i] != static_cast<uint8_t>(want >> (8 * (i - at)))) return i;
    return std::nullopt;
  };
  const uint64_t words = (length + 7) / 8;
  if (length <= kFullVerifyBytes) {
    for (uint64_t w = 0; w < words; ++w)
      if (auto at = differs(w)) return at;
    return std::nullopt;
  }
  for (uint64_t w = 0; w < kEndWords; ++w) {
    if (auto at = differs(w)) return at;
    if (auto at = differs(words - 1 - w)) return at;
  }
  const uint64_t stride = words / (kSampledWords + 1);
  for (uint64_t k = 1; k <= kSampledWords; ++k)
    if (auto at = differs(k * stride)) return at;
  return std::nullopt;
}

}  // namespace

// ---- bookkeeping ---------------------------------------------------------------------------

std::optional<std::string> Model::admit(uint64_t address, uint64_t usable, const char* what) {
  const uint64_t end = address + usable;
  if (end < address)
    return std::string(what) + format(" [0x%" PRIx64 ", +%" PRIu64 ") wraps", address, usable);
  auto next = intervals_.lower_bound(address);
  if (next != intervals_.end() && next->first < end)
    return std::string(what) +
           format(" at 0x%" PRIx64 " overlaps the live block at 0x%" PRIx64, address, next->first);
  if (next != intervals_.begin() && std::prev(next)->second > address)
    return std::string(what) + format(" at 0x%" PRIx64 " overlaps the live block at 0x%" PRIx64,
                                      address, std::prev(next)->first);
  intervals_.emplace(address, end);
  forget_freed(address);
  return std::nullopt;
}

void Model::forget_freed(uint64_t address) {
  std::erase(recently_freed_, address);
}

void Model::remember_freed(uint64_t address) {
  forget_freed(address);
  if (recently_freed_.size() == kRecentlyFreed) recently_freed_.erase(recently_freed_.begin());
  recently_freed_.push_back(address);
}

void Model::remove_block(size_t slot) {
  intervals_.erase(blocks_[slot].address);
  live_bytes_ -= blocks_[slot].size;
  blocks_[slot] = blocks_.back();
  blocks_.pop_back();
}

void Model::consume(const Outcome& actual) {
  armed_failures_ =
      actual.os_failures >= armed_failures_ ? 0 : armed_failures_ - actual.os_failures;
}

std::optional<std::string> Model::verify(const Block& block) const {
  const Contents& contents = block.contents;
  const std::optional<uint64_t> at = first_difference(
      bytes_at(block.address), contents.known, [&contents](uint64_t word) -> uint64_t {
        return contents.zero ? 0 : pattern_word(contents.pattern, word);
      });
  if (!at) return std::nullopt;
  return format("the live block at 0x%" PRIx64 " changed at offset %" PRIu64 " (now 0x%02" PRIx64
                ")",
                block.address, *at, bytes_at(block.address)[*at]);
}

// ---- judging -------------------------------------------------------------------------------

std::optional<std::string> Model::before(const Op& op) {
  size_t slot = SIZE_MAX;
  if (const auto* free = std::get_if<Free>(&op)) {
    if (!blocks_.empty()) slot = pick(free->slot, blocks_.size());
  } else if (const auto* realloc = std::get_if<Realloc>(&op)) {
    if (!blocks_.empty()) slot = pick(realloc->slot, blocks_.size());
  } else if (const auto* handoff = std::get_if<Handoff>(&op)) {
    if (!blocks_.empty()) slot = pick(handoff->slot, blocks_.size());
  }
  if (slot == SIZE_MAX) return std::nullopt;
  return verify(blocks_[slot]);
}

std::optional<std::string> Model::judge(const Op& op, const Outcome& actual) {
  std::optional<std::string> complaint = std::visit(
      [&](const auto& o) -> std::optional<std::string> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Alloc>) {
          uint32_t heap = 0;
          if (o.heap != 0 && !heaps_.empty()) heap = heaps_[pick(o.heap - 1u, heaps_.size())];
          return judge_alloc(o.size, o.alignment, o.zeroed, heap, actual);
        } else if constexpr (std::is_same_v<T, Free> || std::is_same_v<T, Handoff>) {
          if (blocks_.empty()) {
            if (actual.code != ErrorCode::kOk) return "freeing nothing failed";
            return std::nullopt;
          }
          return judge_free(pick(o.slot, blocks_.size()), actual);
        } else if constexpr (std::is_same_v<T, Realloc>) {
          return judge_realloc(o, actual);
        } else if constexpr (std::is_same_v<T, Write>) {
          if (blocks_.empty()) return std::nullopt;
          Block& block = blocks_[pick(o.slot, blocks_.size())];
          block.contents = {
              .zero = false, .pattern = o.pattern, .known = std::min(block.size, kWriteLimit)};
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, Check>) {
          return judge_check(actual);
        } else if constexpr (std::is_same_v<T, Collect>) {
          consume(actual);
          if (actual.code != ErrorCode::kOk) return "collect failed";
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, PoolAlloc>) {
          return judge_pool_alloc(actual);
        } else if constexpr (std::is_same_v<T, PoolFree>) {
          consume(actual);
          if (pool_objects_.empty()) return std::nullopt;
          const size_t slot = pick(o.slot, pool_objects_.size());
          if (actual.address != pool_objects_[slot])
            return format("freed pool object 0x%" PRIx64 ", the model's slot holds 0x%" PRIx64,
                          actual.address, pool_objects_[slot]);
          pool_free_.push_back(pool_objects_[slot]);
          pool_objects_[slot] = pool_objects_.back();
          pool_objects_.pop_back();
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, HeapCreate>) {
          consume(actual);
          if (actual.code == ErrorCode::kOutOfMemory && actual.os_failures > 0) return std::nullopt;
          if (actual.code != ErrorCode::kOk) return "creating a heap failed";
          heaps_.push_back(next_heap_id_++);
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, HeapDestroy>) {
          consume(actual);
          if (heaps_.empty()) return std::nullopt;
          const size_t slot = pick(o.heap, heaps_.size());
          const uint32_t id = heaps_[slot];
          heaps_.erase(heaps_.begin() + static_cast<ptrdiff_t>(slot));
          std::erase_if(blocks_, [&](const Block& block) {
            if (block.heap != id) return false;
            intervals_.erase(block.address);
            live_bytes_ -= block.size;
            return true;
          });
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, FailNextOsCall>) {
          armed_failures_ = o.count;
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, Detach>) {
          consume(actual);
          if (actual.code != ErrorCode::kOk) return "detaching failed";
          return std::nullopt;  // every block stays live, wherever its segment went
        } else {
          return judge_bad_free(o, actual);
        }
      },
      op);
  if (complaint) return complaint;
  // A few live blocks in turn after every op, so damage shows close to the op that did it.
  for (size_t i = 0; i < kBlocksVerifiedPerOp && !blocks_.empty(); ++i) {
    verify_cursor_ = (verify_cursor_ + 1) % blocks_.size();
    if (auto damage = verify(blocks_[verify_cursor_])) return damage;
  }
  return std::nullopt;
}

std::optional<std::string> Model::judge_alloc(uint64_t size, uint64_t alignment, bool zeroed,
                                              uint32_t heap, const Outcome& actual) {
  consume(actual);
  ErrorCode expected = request_error(size, alignment);
  if (expected == ErrorCode::kOk && live_bytes_ + size > kLiveBudget)
    expected = ErrorCode::kUnsupported;  // over the scenario's budget: not run
  if (expected != ErrorCode::kOk || actual.code != ErrorCode::kOk) {
    if (actual.code == expected && actual.address == 0) return std::nullopt;
    if (expected == ErrorCode::kOk && actual.code == ErrorCode::kOutOfMemory &&
        actual.os_failures > 0)
      return std::nullopt;  // an OS call failed: out of memory is the right answer
    return format(
        "expected error code %" PRIu64 " (0 is ok), got %" PRIu64 " with address 0x%" PRIx64,
        static_cast<uint64_t>(expected), static_cast<uint64_t>(actual.code), actual.address);
  }
  const uint64_t required = std::max(alignment, natural_alignment(size));
  if (actual.address == 0 || actual.address % required != 0)
    return format("block 0x%" PRIx64 " is not aligned to %" PRIu64, actual.address, required);
  if (actual.usable < size)
    return format("usable size %" PRIu64 " below the request %" PRIu64, actual.usable, size);
  const bool natural = alignment <= natural_alignment(size);
  if (natural && size <= kMaxSmallSize && size > 128 && actual.usable - size > size / 8)
    return format("usable size %" PRIu64 " wastes more than 12.5%% of %" PRIu64, actual.usable,
                  size);
  if (natural && size <= 128 && actual.usable - size >= 16)
    return format("usable size %" PRIu64 " wastes 16 bytes or more of %" PRIu64, actual.usable,
                  size);
  // Huge blocks may come from a cached mapping up to a third bigger than they need.
  const uint64_t huge_slack = size > kLargestSpanBytes ? (size + kSliceSize) / 3 + kSliceSize : 0;
  if (size > kMaxSmallSize && actual.usable - size >= kSliceSize + alignment + huge_slack)
    return format("large block's usable size %" PRIu64 " is a slice or more beyond %" PRIu64,
                  actual.usable, size);
  if (auto overlap = admit(actual.address, actual.usable, "new block")) return overlap;
  Block block{actual.address, size, actual.usable, heap, {}};
  if (zeroed) {
    block.contents = {.zero = true, .pattern = 0, .known = size};
    if (auto dirty = verify(block)) return "zeroed allocation: " + *dirty;
  }
  blocks_.push_back(block);
  live_bytes_ += size;
  return std::nullopt;
}

std::optional<std::string> Model::judge_free(size_t slot, const Outcome& actual) {
  consume(actual);
  const Block& block = blocks_[slot];
  if (actual.address != block.address)
    return format("freed 0x%" PRIx64 ", the model's slot holds 0x%" PRIx64, actual.address,
                  block.address);
  if (actual.code != ErrorCode::kOk) return "a valid free was refused";
  remember_freed(block.address);
  remove_block(slot);
  return std::nullopt;
}

std::optional<std::string> Model::judge_realloc(const Realloc& op, const Outcome& actual) {
  consume(actual);
  if (blocks_.empty()) return judge_alloc(op.size, 1, false, 0, actual);
  const size_t slot = pick(op.slot, blocks_.size());
  const Block old = blocks_[slot];
  if (op.size == 0) {
    if (actual.code != ErrorCode::kOk || actual.address != 0)
      return "reallocate(p, 0) must free p and return null";
    remember_freed(old.address);
    remove_block(slot);
    return std::nullopt;
  }
  ErrorCode expected = request_error(op.size, 1);
  if (expected == ErrorCode::kOk && live_bytes_ - old.size + op.size > kLiveBudget)
    expected = ErrorCode::kUnsupported;  // over the scenario's budget: not run
  if (expected != ErrorCode::kOk || actual.code != ErrorCode::kOk) {
    const bool oom_ok = expected == ErrorCode::kOk && actual.code == ErrorCode::kOutOfMemory &&
                        actual.os_failures > 0;
    if ((actual.code == expected || oom_ok) && actual.address == 0)
      return verify(old);  // refused: the old block is untouched
    return format("expected error code %" PRIu64 ", got %" PRIu64, static_cast<uint64_t>(expected),
                  static_cast<uint64_t>(actual.code));
  }
  if (actual.usable < op.size) return "reallocated block smaller than asked";
  intervals_.erase(old.address);
  const bool moved = actual.address != old.address;
  if (moved && actual.address % natural_alignment(op.size) != 0)
    return format("moved block 0x%" PRIx64 " is not aligned to %" PRIu64, actual.address,
                  natural_alignment(op.size));
  // Its own span starts at a slice (a huge block's mapping too: at its first slice after the
  // header), so later growth can take the slices after it.
  if (moved && op.size > kSmallestSpanBlock && actual.address % kSliceSize != 0)
    return format("a block moved to %" PRIu64 " bytes got 0x%" PRIx64 ", not a span of its own",
                  op.size, actual.address);
  if (auto overlap = admit(actual.address, actual.usable, "reallocated block")) return overlap;
  if (moved) remember_freed(old.address);
  Block block{actual.address, op.size, actual.usable, moved ? 0 : old.heap, old.contents};
  block.contents.known = std::min(old.contents.known, op.size);
  blocks_[slot] = block;
  live_bytes_ += op.size - old.size;
  if (auto damage = verify(block)) return "contents not carried over: " + *damage;
  return std::nullopt;
}

std::optional<std::string> Model::judge_check(const Outcome& actual) {
  consume(actual);
  if (actual.code != ErrorCode::kOk)
    return format("Allocator::check() failed with code %" PRIu64,
                  static_cast<uint64_t>(actual.code));
  std::vector<LiveBlock> expected;
  uint64_t usable = 0;
  for (const Block& block : blocks_) {
    expected.push_back({block.address, block.usable});
    usable += block.usable;
  }
  if (actual.pool_chunks.size() != pool_chunks_.size())
    return "the pool's chunks differ from the model's";
  for (const LiveBlock& chunk : pool_chunks_) {
    expected.push_back(chunk);
    usable += chunk.usable;
  }
  std::sort(expected.begin(), expected.end());
  if (!std::equal(expected.begin(), expected.end(), actual.live.begin(), actual.live.end())) {
    for (size_t i = 0; i < std::max(expected.size(), actual.live.size()); ++i) {
      const LiveBlock e = i < expected.size() ? expected[i] : LiveBlock{};
      const LiveBlock a = i < actual.live.size() ? actual.live[i] : LiveBlock{};
      if (e != a)
        return format("live-block walk differs: model has 0x%" PRIx64
                      ", allocator walked 0x%" PRIx64 " (of %" PRIu64 ")",
                      e.address, a.address, actual.live.size());
    }
  }
  if (actual.stats_live_blocks != expected.size() || actual.stats_live_bytes < usable)
    return format("stats() counts %" PRIu64 " live blocks, %" PRIu64 " bytes; the model %" PRIu64,
                  actual.stats_live_blocks, actual.stats_live_bytes, expected.size());
  for (const Block& block : blocks_)
    if (auto damage = verify(block)) return damage;
  for (uint64_t object : pool_objects_) {
    const uint8_t* bytes = bytes_at(object);
    for (uint64_t i = 0; i < 48; ++i)
      if (bytes[i] != pattern_byte(object, i))
        return format("pool object 0x%" PRIx64 " changed", object);
  }
  return std::nullopt;
}

std::optional<std::string> Model::judge_pool_alloc(const Outcome& actual) {
  consume(actual);
  if (!pool_free_.empty()) {
    if (actual.code != ErrorCode::kOk || actual.address != pool_free_.back() ||
        actual.new_chunk.address != 0)
      return format("the pool must reuse its last freed slot 0x%" PRIx64 ", got 0x%" PRIx64,
                    pool_free_.back(), actual.address);
    pool_free_.pop_back();
    pool_objects_.push_back(actual.address);
    return std::nullopt;
  }
  if (actual.code == ErrorCode::kOutOfMemory && actual.os_failures > 0) return std::nullopt;
  if (actual.code != ErrorCode::kOk) return "pool allocation failed";
  if (actual.new_chunk.address != 0) {
    if (auto overlap = admit(actual.new_chunk.address, actual.new_chunk.usable, "pool chunk"))
      return overlap;
    pool_chunks_.push_back(actual.new_chunk);
  }
  const bool in_chunk =
      std::any_of(pool_chunks_.begin(), pool_chunks_.end(), [&](const LiveBlock& c) {
        return actual.address >= c.address && actual.address + 48 <= c.address + c.usable;
      });
  if (!in_chunk || actual.address % 16 != 0)
    return format("pool object 0x%" PRIx64 " is not an aligned slot of a pool chunk",
                  actual.address);
  for (uint64_t object : pool_objects_)
    if (object < actual.address + 48 && actual.address < object + 48)
      return format("pool object 0x%" PRIx64 " overlaps the live one at 0x%" PRIx64, actual.address,
                    object);
  pool_objects_.push_back(actual.address);
  return std::nullopt;
}

std::optional<std::string> Model::judge_bad_free(const BadFree& op, const Outcome& actual) {
  consume(actual);
  ErrorCode expected = ErrorCode::kOk;
  switch (op.kind) {
    case BadFreeKind::kForeign:
      expected = ErrorCode::kNotFound;
      break;
    case BadFreeKind::kInterior:
      if (!blocks_.empty() && blocks_[pick(op.slot, blocks_.size())].size >= 2)
        expected = ErrorCode::kInvalidArgument;
      break;
    case BadFreeKind::kWrongSize:
      if (!blocks_.empty()) expected = ErrorCode::kInvalidArgument;
      break;
    case BadFreeKind::kFreeTwice:
      if (hardened_ && !blocks_.empty()) {
        const size_t slot = pick(op.slot, blocks_.size());
        if (actual.address != blocks_[slot].address)
          return format("freed 0x%" PRIx64 " twice, the model's slot holds 0x%" PRIx64,
                        actual.address, blocks_[slot].address);
        remember_freed(blocks_[slot].address);
        remove_block(slot);
        // Its page may have gone with the first free (then the pointer is inside free space).
        if (actual.code == ErrorCode::kConflict || actual.code == ErrorCode::kInvalidArgument ||
            actual.code == ErrorCode::kNotFound)
          return std::nullopt;
        return format("the second free of 0x%" PRIx64 " was not refused (code %" PRIu64 ")",
                      actual.address, static_cast<uint64_t>(actual.code));
      }
      break;
    case BadFreeKind::kDoubleFree:
      if (hardened_ && !recently_freed_.empty()) {
        // Where that block was may now be free space, another block's middle or nothing the
        // allocator owns: any of the three refusals is right; freeing is not.
        const ErrorCode code = actual.code;
        if (code == ErrorCode::kConflict || code == ErrorCode::kInvalidArgument ||
            code == ErrorCode::kNotFound)
          return std::nullopt;
        return format("double free of 0x%" PRIx64 " was not refused (code %" PRIu64 ")",
                      actual.address, static_cast<uint64_t>(code));
      }
      break;
    default:
      break;
  }
  if (actual.code != expected)
    return format("bad free of 0x%" PRIx64 ": expected error code %" PRIu64 ", got %" PRIu64,
                  actual.address, static_cast<uint64_t>(expected),
                  static_cast<uint64_t>(actual.code));
  return std::nullopt;
}

}  // namespace vmmem::scenario::alloc
