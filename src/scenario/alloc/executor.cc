#include "scenario/alloc/executor.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "alloc/segment.h"
#include "scenario/alloc/model.h"
#include "scenario/common/model_checker.h"
#include "scenario/common/runner.h"

namespace vmmem::scenario::alloc {
namespace {

using vmmem::alloc::Allocator;
using vmmem::alloc::Heap;

// Memory the allocator never owned, for foreign frees.
alignas(64) uint8_t foreign_memory[1 << 16];

// One freer thread for the whole process: fuzz inputs come thousands per second.
RemoteFreer& shared_freer() {
  static RemoteFreer freer;
  return freer;
}

void fill(void* block, uint64_t size, uint64_t pattern) {
  auto* bytes = static_cast<uint8_t*>(block);
  uint64_t i = 0;
  for (; i + 8 <= size; i += 8) {
    const uint64_t word = pattern_word(pattern, i / 8);
    std::memcpy(bytes + i, &word, 8);
  }
  for (; i < size; ++i)
    bytes[i] = pattern_byte(pattern, i);
}

uint64_t address_of(const void* p) {
  return reinterpret_cast<uintptr_t>(p);
}

}  // namespace

vmmem::alloc::Options options_for(const Config& config) {
  vmmem::alloc::Options options;
  options.hardened = config.hardened;
  options.purge = config.purge;
  // Short enough that delayed purging happens within a fuzz input.
  options.purge_delay = 32;
  options.segment_cache = 2;
  options.huge_cache_bytes = uint64_t{16} << 20;
  return options;
}

Executor::Executor(const Config& config, bool observe) : config_(config), observe_(observe) {
  vmmem::alloc::Options options = options_for(config);
  options.report = [](const Status& status, void* context) {
    *static_cast<Status*>(context) = status;
  };
  options.report_context = &last_report_;
  allocator_ = std::make_unique<Allocator>(options);
  pool_ = std::make_unique<vmmem::alloc::ObjectPool<PoolObject>>(*allocator_, 16);
}

Executor::~Executor() {
  pool_.reset();
  for (Heap* heap : heaps_)
    allocator_->destroy_heap(heap);
  allocator_.reset();
}

Status Executor::check() const {
  if (Status status = allocator_->check(); !status.ok()) return status;
  return pool_->check();
}

void Executor::remember_freed(void* block) {
  forget_freed(block);
  if (recently_freed_.size() == kRecentlyFreed) recently_freed_.erase(recently_freed_.begin());
  recently_freed_.push_back(block);
}

void Executor::forget_freed(void* block) {
  std::erase(recently_freed_, block);
}

Outcome Executor::operator()(const Op& op) {
  const uint64_t failures_before = os_failures();
  Outcome outcome = std::visit(
      [this](const auto& o) -> Outcome {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Alloc>) {
          return alloc(o);
        } else if constexpr (std::is_same_v<T, Free>) {
          return free(o);
        } else if constexpr (std::is_same_v<T, Realloc>) {
          return realloc(o);
        } else if constexpr (std::is_same_v<T, Write>) {
          if (blocks_.empty()) return {};
          const Held& held = blocks_[pick(o.slot, blocks_.size())];
          fill(held.block, std::min(held.size, kWriteLimit), o.pattern);
          return {.address = address_of(held.block)};
        } else if constexpr (std::is_same_v<T, Check>) {
          return check_op();
        } else if constexpr (std::is_same_v<T, Collect>) {
          allocator_->collect(o.force);
          return {};
        } else if constexpr (std::is_same_v<T, PoolAlloc>) {
          return pool_alloc();
        } else if constexpr (std::is_same_v<T, PoolFree>) {
          if (pool_objects_.empty()) return {};
          const size_t slot = pick(o.slot, pool_objects_.size());
          PoolObject* object = pool_objects_[slot];
          pool_objects_[slot] = pool_objects_.back();
          pool_objects_.pop_back();
          pool_->destroy(object);
          return {.address = address_of(object)};
        } else if constexpr (std::is_same_v<T, HeapCreate>) {
          Heap* heap = allocator_->create_heap();
          if (heap == nullptr) return {.code = ErrorCode::kOutOfMemory};
          heaps_.push_back(heap);
          return {};
        } else if constexpr (std::is_same_v<T, HeapDestroy>) {
          if (heaps_.empty()) return {};
          const size_t slot = pick(o.heap, heaps_.size());
          Heap* heap = heaps_[slot];
          heaps_.erase(heaps_.begin() + static_cast<ptrdiff_t>(slot));
          std::erase_if(blocks_, [this, heap](const Held& held) {
            if (held.owner != heap) return false;
            live_bytes_ -= held.size;
            return true;
          });
          allocator_->destroy_heap(heap);
          return {};
        } else if constexpr (std::is_same_v<T, FailNextOsCall>) {
          allocator_->os().fail_next_calls(o.count);
          return {};
        } else if constexpr (std::is_same_v<T, Detach>) {
          allocator_->thread_detach();
          return {};
        } else if constexpr (std::is_same_v<T, Handoff>) {
          if (blocks_.empty()) return {};
          const size_t slot = pick(o.slot, blocks_.size());
          void* block = blocks_[slot].block;
          drop(slot);
          last_report_ = kOkStatus;
          shared_freer().free(*allocator_, block);
          remember_freed(block);
          return {.code = last_report_.code(), .address = address_of(block)};
        } else {
          return bad_free(o);
        }
      },
      op);
  outcome.os_failures = static_cast<uint32_t>(os_failures() - failures_before);
  return outcome;
}

void Executor::drop(size_t slot) {
  live_bytes_ -= blocks_[slot].size;
  blocks_[slot] = blocks_.back();
  blocks_.pop_back();
}

Outcome Executor::alloc(const Alloc& op) {
  if (Allocator::validate_request(op.size, op.alignment).ok() &&
      live_bytes_ + op.size > kLiveBudget)
    return {.code = ErrorCode::kUnsupported};
  Heap* heap = nullptr;
  if (op.heap != 0 && !heaps_.empty()) heap = heaps_[pick(op.heap - 1u, heaps_.size())];
  Result<void*> result =
      heap != nullptr ? allocator_->heap_allocate(heap, op.size, op.alignment, op.zeroed)
      : op.zeroed || op.alignment != 1 ? allocator_->try_allocate(op.size, op.alignment, op.zeroed)
                                       : Result<void*>(allocator_->allocate(op.size));
  if (!result.ok()) return {.code = result.status().code()};
  void* block = result.value();
  if (block == nullptr) {
    // allocate(size) says only "null": a refused request, or else the OS refused memory.
    const Status refused = Allocator::validate_request(op.size, 1);
    return {.code = refused.ok() ? ErrorCode::kOutOfMemory : refused.code()};
  }
  blocks_.push_back({block, op.size, op.alignment, heap});
  live_bytes_ += op.size;
  forget_freed(block);
  return {.address = address_of(block), .usable = allocator_->usable_size(block)};
}

Outcome Executor::free(const Free& op) {
  if (blocks_.empty()) return {};
  const size_t slot = pick(op.slot, blocks_.size());
  const Held held = blocks_[slot];
  drop(slot);
  remember_freed(held.block);
  // Read before the free, which may adopt the segment or release it.
  const bool abandoned =
      vmmem::alloc::Segment::of(held.block)->owner_tid.load(std::memory_order_relaxed) == 0;
  if (op.sized)
    return {.code = allocator_->deallocate_checked(held.block, held.size).code(),
            .address = address_of(held.block),
            .abandoned = abandoned};
  last_report_ = kOkStatus;
  allocator_->deallocate(held.block);
  return {.code = last_report_.code(), .address = address_of(held.block), .abandoned = abandoned};
}

Outcome Executor::realloc(const Realloc& op) {
  if (blocks_.empty()) {
    if (Allocator::validate_request(op.size, 1).ok() && op.size > kLiveBudget)
      return {.code = ErrorCode::kUnsupported};
    Result<void*> result = allocator_->try_reallocate(nullptr, op.size);
    if (!result.ok()) return {.code = result.status().code()};
    live_bytes_ += op.size;
    blocks_.push_back({result.value(), op.size, 1, nullptr});
    forget_freed(result.value());
    return {.address = address_of(result.value()),
            .usable = allocator_->usable_size(result.value()),
            .moved = true};
  }
  const size_t slot = pick(op.slot, blocks_.size());
  Held& held = blocks_[slot];
  if (op.size != 0 && Allocator::validate_request(op.size, 1).ok() &&
      live_bytes_ - held.size + op.size > kLiveBudget)
    return {.code = ErrorCode::kUnsupported};
  Result<void*> result = allocator_->try_reallocate(held.block, op.size);
  if (!result.ok()) return {.code = result.status().code()};
  void* moved = result.value();
  if (moved == nullptr) {
    remember_freed(held.block);
    drop(slot);
    return {};
  }
  if (moved != held.block) {
    remember_freed(held.block);
    held.alignment = 1;
    held.owner = nullptr;
  }
  forget_freed(moved);
  live_bytes_ += op.size - held.size;
  const bool relocated = moved != held.block;
  held.block = moved;
  held.size = op.size;
  return {
      .address = address_of(moved), .usable = allocator_->usable_size(moved), .moved = relocated};
}

Outcome Executor::check_op() {
  Outcome outcome;
  outcome.code = check().code();
  if (!observe_ || outcome.code != ErrorCode::kOk) return outcome;
  live_.clear();
  allocator_->for_each_live_block([this](void* block, size_t usable) {
    live_.push_back({address_of(block), usable});
  });
  std::sort(live_.begin(), live_.end());
  chunks_.clear();
  pool_->for_each_chunk([this](const void* chunk, size_t) {
    chunks_.push_back({address_of(chunk), allocator_->usable_size(chunk)});
  });
  const vmmem::alloc::Stats stats = allocator_->stats();
  outcome.live = live_;
  outcome.pool_chunks = chunks_;
  outcome.stats_live_blocks = stats.live.blocks;
  outcome.stats_live_bytes = stats.live.bytes;
  return outcome;
}

Outcome Executor::pool_alloc() {
  const void* newest_before = nullptr;
  pool_->for_each_chunk([&](const void* chunk, size_t) {
    if (newest_before == nullptr) newest_before = chunk;
  });
  PoolObject* object = pool_->create();
  if (object == nullptr) return {.code = ErrorCode::kOutOfMemory};
  for (size_t i = 0; i < sizeof object->bytes; ++i)
    object->bytes[i] = pattern_byte(address_of(object), i);
  pool_objects_.push_back(object);
  Outcome outcome{.address = address_of(object)};
  const void* newest = nullptr;
  pool_->for_each_chunk([&](const void* chunk, size_t) {
    if (newest == nullptr) newest = chunk;
  });
  if (newest != newest_before) {
    outcome.new_chunk = {address_of(newest), allocator_->usable_size(newest)};
    forget_freed(const_cast<void*>(newest));
  }
  return outcome;
}

Outcome Executor::bad_free(const BadFree& op) {
  void* target = nullptr;
  size_t size = 0;
  // Odd offsets go through deallocate() and its report, even ones through deallocate_checked.
  bool checked = (op.offset & 1) == 0;
  switch (op.kind) {
    case BadFreeKind::kForeign:
      target = foreign_memory + (op.offset & 0xfff0);
      break;
    case BadFreeKind::kInterior:
      if (!blocks_.empty()) {
        const Held& held = blocks_[pick(op.slot, blocks_.size())];
        if (held.size >= 2)
          target = static_cast<uint8_t*>(held.block) + 1 + op.offset % (held.size - 1);
      }
      // Without hardening, deallocate() trusts that a pointer inside its segments is a block.
      if (!config_.hardened) checked = true;
      break;
    case BadFreeKind::kWrongSize:
      if (!blocks_.empty()) {
        const Held& held = blocks_[pick(op.slot, blocks_.size())];
        target = held.block;
        size = 2 * std::max(held.size, held.alignment) + 65536 + op.offset % 4096;
        checked = true;
      }
      break;
    case BadFreeKind::kDoubleFree:
      if (config_.hardened && !recently_freed_.empty())
        target = recently_freed_[pick(op.offset, recently_freed_.size())];
      break;
    case BadFreeKind::kFreeTwice:
      if (config_.hardened && !blocks_.empty()) {
        const size_t slot = pick(op.slot, blocks_.size());
        target = blocks_[slot].block;
        drop(slot);
        remember_freed(target);
        allocator_->deallocate(target);
      }
      break;
    default:
      break;
  }
  if (checked) {
    return {.code = allocator_->deallocate_checked(target, size).code(),
            .address = address_of(target)};
  }
  last_report_ = kOkStatus;
  allocator_->deallocate(target);
  return {.code = last_report_.code(), .address = address_of(target)};
}

std::optional<std::string> verify(const Config& config, std::span<const Op> ops,
                                  size_t checkpoint_every) {
  Executor executor(config);
  Model model(config.hardened);
  ModelChecker checker(model, executor, checkpoint_every);
  run(ops, executor, checker);
  checker.finish();
  return checker.failure();
}

}  // namespace vmmem::scenario::alloc
