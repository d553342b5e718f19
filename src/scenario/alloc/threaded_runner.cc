#include "scenario/alloc/threaded_runner.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>

#include "alloc/object_pool.h"
#include "scenario/alloc/model.h"

namespace vmmem::scenario::alloc {
namespace {

using vmmem::alloc::Allocator;

struct Held {
  void* block;
  uint64_t size;     // requested
  uint64_t pattern;  // contents: pattern over [0, min(size, kWriteLimit))
};

void fill(const Held& held) {
  auto* bytes = static_cast<uint8_t*>(held.block);
  const uint64_t length = std::min(held.size, kWriteLimit);
  for (uint64_t i = 0; i < length; ++i)
    bytes[i] = pattern_byte(held.pattern, i);
}

bool intact(const Held& held) {
  const auto* bytes = static_cast<const uint8_t*>(held.block);
  const uint64_t length = std::min(held.size, kWriteLimit);
  for (uint64_t i = 0; i < length; ++i)
    if (bytes[i] != pattern_byte(held.pattern, i)) return false;
  return true;
}

// Everything the threads share: the allocator, the registry of live blocks, the inboxes.
class Shared {
 public:
  Shared(const Config& config, size_t threads)
      : allocator(options_for(config)), pool(allocator, 16), inboxes_(threads) {}

  // Records [p, p + usable) as live; false when it overlaps a live block.
  bool admit(void* p, uint64_t usable) {
    std::lock_guard lock(mutex_);
    const auto start = reinterpret_cast<uintptr_t>(p);
    auto next = live_.lower_bound(start);
    if (next != live_.end() && next->first < start + usable) return false;
    if (next != live_.begin() && std::prev(next)->second > start) return false;
    live_.emplace(start, start + usable);
    return true;
  }
  void retire(void* p) {
    std::lock_guard lock(mutex_);
    live_.erase(reinterpret_cast<uintptr_t>(p));
  }
  void send(size_t thread, const Held& held) {
    std::lock_guard lock(mutex_);
    inboxes_[thread % inboxes_.size()].push_back(held);
  }
  std::vector<Held> receive(size_t thread) {
    std::lock_guard lock(mutex_);
    std::deque<Held>& inbox = inboxes_[thread];
    std::vector<Held> taken(inbox.begin(), inbox.end());
    inbox.clear();
    return taken;
  }
  void complain(std::string problem) {
    std::lock_guard lock(mutex_);
    if (!failure) failure = std::move(problem);
  }

  Allocator allocator;
  vmmem::alloc::SharedObjectPool<PoolObject> pool;
  std::optional<std::string> failure;  // guarded by mutex_ while threads run

 private:
  std::mutex mutex_;
  std::map<uintptr_t, uintptr_t> live_;
  std::vector<std::deque<Held>> inboxes_;
};

class Worker {
 public:
  Worker(Shared& shared, size_t index) : shared_(shared), index_(index) {}

  void run(std::span<const Op> ops) {
    for (const Op& op : ops) {
      drain_inbox();
      std::visit([this](const auto& o) { perform(o); }, op);
    }
    drain_inbox();
  }

  std::vector<Held>& held() { return held_; }
  std::vector<PoolObject*>& pooled() { return pooled_; }

 private:
  void complain(const char* what, const void* where) {
    char text[160];
    std::snprintf(text, sizeof text, "thread %zu: %s (0x%" PRIxPTR ")", index_, what,
                  reinterpret_cast<uintptr_t>(where));
    shared_.complain(text);
  }

  void drain_inbox() {
    for (const Held& held : shared_.receive(index_)) {
      if (!intact(held)) complain("a handed-off block changed in transit", held.block);
      shared_.retire(held.block);
      shared_.allocator.deallocate(held.block);
    }
  }

  void take(void* p, uint64_t size, uint64_t alignment) {
    const uint64_t usable = shared_.allocator.usable_size(p);
    if (reinterpret_cast<uintptr_t>(p) % std::max(alignment, natural_alignment(size)) != 0)
      complain("a block is misaligned", p);
    if (usable < size) complain("a block is smaller than asked", p);
    if (!shared_.admit(p, usable)) complain("a block overlaps one live on some thread", p);
    Held held{p, size, ++serial_ * 0x9e3779b97f4a7c15 + index_};
    fill(held);
    held_.push_back(held);
  }

  Held release(uint16_t slot) {
    const size_t i = pick(slot, held_.size());
    const Held held = held_[i];
    held_[i] = held_.back();
    held_.pop_back();
    if (!intact(held)) complain("a live block changed", held.block);
    shared_.retire(held.block);
    return held;
  }

  void perform(const Alloc& op) {
    if (!Allocator::validate_request(op.size, op.alignment).ok() || op.size > (4u << 20)) return;
    Result<void*> result = shared_.allocator.try_allocate(op.size, op.alignment, op.zeroed);
    if (!result.ok()) {
      complain("an allocation failed", nullptr);
      return;
    }
    take(result.value(), op.size, op.alignment);
  }
  void perform(const Free& op) {
    if (held_.empty()) return;
    const Held held = release(op.slot);
    if (!op.sized) {
      shared_.allocator.deallocate(held.block);
    } else if (!shared_.allocator.deallocate_checked(held.block, held.size).ok()) {
      complain("a valid sized free was refused", held.block);
    }
  }
  void perform(const Realloc& op) {
    if (held_.empty() || op.size == 0 || op.size > (4u << 20)) return;
    const Held held = release(op.slot);
    Result<void*> result = shared_.allocator.try_reallocate(held.block, op.size);
    if (!result.ok()) {
      complain("a reallocation failed", held.block);
      return;
    }
    const uint64_t kept = std::min({held.size, op.size, kWriteLimit});
    for (uint64_t i = 0; i < kept; ++i) {
      if (static_cast<const uint8_t*>(result.value())[i] != pattern_byte(held.pattern, i)) {
        complain("reallocation lost contents", result.value());
        break;
      }
    }
    take(result.value(), op.size, 1);
  }
  void perform(const Write& op) {
    if (held_.empty()) return;
    Held& held = held_[pick(op.slot, held_.size())];
    held.pattern = op.pattern;
    fill(held);
  }
  void perform(const Collect& op) { shared_.allocator.collect(op.force); }
  void perform(const PoolAlloc&) {
    PoolObject* object = shared_.pool.create();
    if (object == nullptr) {
      complain("the pool failed", nullptr);
      return;
    }
    for (uint8_t& byte : object->bytes)
      byte = static_cast<uint8_t>(index_);
    pooled_.push_back(object);
  }
  void perform(const PoolFree& op) {
    if (pooled_.empty()) return;
    const size_t i = pick(op.slot, pooled_.size());
    PoolObject* object = pooled_[i];
    for (uint8_t byte : object->bytes)
      if (byte != static_cast<uint8_t>(index_)) complain("a pool object changed", object);
    pooled_[i] = pooled_.back();
    pooled_.pop_back();
    shared_.pool.destroy(object);
  }
  void perform(const Handoff& op) {
    if (held_.empty()) return;
    const Held held = release(op.slot);
    // In transit it is still live: nobody may be handed its memory.
    if (!shared_.admit(held.block, shared_.allocator.usable_size(held.block)))
      complain("a handed-off block is live twice", held.block);
    shared_.send(op.thread, held);
  }
  void perform(const BadFree& op) {
    if (op.kind == BadFreeKind::kNull) shared_.allocator.deallocate(nullptr);
  }
  template <class T>
  void perform(const T&) {}  // Check, heaps, FailNextOsCall: not in the threaded vocabulary

  Shared& shared_;
  size_t index_;
  uint64_t serial_ = 0;
  std::vector<Held> held_;
  std::vector<PoolObject*> pooled_;
};

}  // namespace

std::optional<std::string> verify_threaded(const Config& config,
                                           std::span<const std::vector<Op>> ops) {
  Shared shared(config, ops.size());
  std::vector<Worker> workers;
  for (size_t t = 0; t < ops.size(); ++t)
    workers.emplace_back(shared, t);
  {
    std::vector<std::thread> threads;
    for (size_t t = 0; t < ops.size(); ++t)
      threads.emplace_back([&, t] { workers[t].run(ops[t]); });
    for (std::thread& thread : threads)
      thread.join();
  }
  if (shared.failure) return shared.failure;
  // Blocks handed to a thread after it stopped looking at its inbox are still in transit.
  std::vector<Held> left;
  for (size_t t = 0; t < workers.size(); ++t) {
    for (const Held& held : shared.receive(t))
      left.push_back(held);
    left.insert(left.end(), workers[t].held().begin(), workers[t].held().end());
  }
  if (Status status = shared.allocator.check(); !status.ok())
    return "after the threads exited: " + status.message();
  std::vector<uintptr_t> expected, walked;
  for (const Held& held : left)
    expected.push_back(reinterpret_cast<uintptr_t>(held.block));
  shared.pool.for_each_chunk(
      [&](const void* chunk, size_t) { expected.push_back(reinterpret_cast<uintptr_t>(chunk)); });
  shared.allocator.for_each_live_block(
      [&](void* block, size_t) { walked.push_back(reinterpret_cast<uintptr_t>(block)); });
  std::sort(expected.begin(), expected.end());
  std::sort(walked.begin(), walked.end());
  if (expected != walked) return "the live-block walk differs from what the threads left";
  for (const Held& held : left) {
    if (!intact(held)) return "a block left behind by an exited thread changed";
    shared.allocator.deallocate(held.block);
  }
  for (Worker& worker : workers)
    for (PoolObject* object : worker.pooled())
      shared.pool.destroy(object);
  shared.allocator.collect(true);
  if (Status status = shared.allocator.check(); !status.ok())
    return "after freeing everything: " + status.message();
  size_t chunks = 0;
  shared.pool.for_each_chunk([&](const void*, size_t) { ++chunks; });
  if (shared.allocator.stats().live.blocks != chunks) return "blocks are live after all were freed";
  return std::nullopt;
}

}  // namespace vmmem::scenario::alloc
