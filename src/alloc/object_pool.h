// ObjectPool<T>: fixed-size objects with O(1) creation and reuse. Free slots form a LIFO list,
// so the next create() returns the most recently destroyed slot (the model predicts it); new
// slots are carved in order from chunks the Allocator provides, and chunks go back only when
// the pool is destroyed. SharedObjectPool<T> is the same behind a SpinLock, for any thread.
//
// Under ASan a free slot is poisoned, so using an object after destroy() is reported.
//
// Thread safety: ObjectPool is for one thread at a time; SharedObjectPool for any number.
// Invariants (check() verifies them):
//   1. Every slot of every chunk is either live, on the free list, or past the carve mark of
//      the newest chunk; live() == slots carved - |free list|.
//   2. Every free-list link is a slot start inside one of the pool's chunks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>

#include "alloc/allocator.h"
#include "alloc/sanitizer.h"
#include "alloc/spin_lock.h"
#include "support/status.h"

namespace vmmem::alloc {

template <class T, bool kShared>
class BasicObjectPool {
 public:
  static constexpr size_t kSlotAlign = alignof(T) > alignof(void*) ? alignof(T) : alignof(void*);
  static constexpr size_t kSlotSize = (sizeof(T) + kSlotAlign - 1) / kSlotAlign * kSlotAlign;

  // REQUIRES: slots_per_chunk > 0.
  explicit BasicObjectPool(Allocator& allocator, size_t slots_per_chunk = 64)
      : allocator_(allocator), slots_per_chunk_(slots_per_chunk) {}
  BasicObjectPool(const BasicObjectPool&) = delete;
  BasicObjectPool& operator=(const BasicObjectPool&) = delete;
  // Returns every chunk to the allocator. Objects still live are not destroyed: their
  // memory simply goes away with the pool.
  ~BasicObjectPool() {
    for (Chunk* chunk = chunks_; chunk != nullptr;) {
      Chunk* next = chunk->next;
      unpoison(chunk, chunk_bytes());
      allocator_.deallocate(chunk);
      chunk = next;
    }
  }

  // A new T built from args, or null when the allocator is out of memory.
  template <class... Args>
  T* create(Args&&... args) {
    void* slot;
    {
      Guard guard(lock_);
      slot = take_slot();
      if (slot == nullptr) return nullptr;
      ++live_;
    }
    return new (slot) T(std::forward<Args>(args)...);
  }

  // Destroys an object from create(); null does nothing. REQUIRES: object came from this pool
  // and is live.
  void destroy(T* object) {
    if (object == nullptr) return;
    object->~T();
    Guard guard(lock_);
    poison(object, kSlotSize);
    write_slot_link(object, free_);
    free_ = object;
    --live_;
  }

  size_t live() const {
    Guard guard(lock_);
    return live_;
  }

  // Calls visit(chunk, bytes) for every chunk (they are live blocks of the allocator).
  template <class F>
  void for_each_chunk(F&& visit) const {
    Guard guard(lock_);
    for (const Chunk* chunk = chunks_; chunk != nullptr; chunk = chunk->next)
      visit(static_cast<const void*>(chunk), chunk_bytes());
  }

  // Verifies invariants 1 and 2.
  Status check() const {
    Guard guard(lock_);
    size_t carved = 0, chunks = 0;
    for (const Chunk* chunk = chunks_; chunk != nullptr; chunk = chunk->next, ++chunks)
      carved += chunk == chunks_ ? carve_next_ : slots_per_chunk_;
    size_t free_slots = 0;
    for (void* slot = free_; slot != nullptr; slot = read_slot_link(slot)) {
      if (++free_slots > carved)
        return Status::error(ErrorCode::kBrokenInvariant, "pool free list longer than the pool");
      if (!in_some_chunk(slot))
        return Status::error(ErrorCode::kBrokenInvariant, "pool free-list link outside its chunks",
                             reinterpret_cast<uintptr_t>(slot));
    }
    if (live_ + free_slots != carved)
      return Status::error(ErrorCode::kBrokenInvariant, "pool accounting: live + free != carved", 0,
                           live_);
    return kOkStatus;
  }

 private:
  struct Chunk {
    Chunk* next;
  };
  struct NoGuard {
    explicit NoGuard(SpinLock&) {}
  };
  using Guard = std::conditional_t<kShared, std::lock_guard<SpinLock>, NoGuard>;

  static constexpr size_t kHeaderBytes = (sizeof(Chunk) + kSlotAlign - 1) / kSlotAlign * kSlotAlign;
  size_t chunk_bytes() const { return kHeaderBytes + slots_per_chunk_ * kSlotSize; }
  std::byte* slot_at(const Chunk* chunk, size_t index) const {
    return reinterpret_cast<std::byte*>(const_cast<Chunk*>(chunk)) + kHeaderBytes +
           index * kSlotSize;
  }

  static void* read_slot_link(void* slot) {
    unpoison(slot, sizeof(void*));
    void* next = *static_cast<void**>(slot);
    poison(slot, sizeof(void*));
    return next;
  }
  static void write_slot_link(void* slot, void* next) {
    unpoison(slot, sizeof(void*));
    *static_cast<void**>(slot) = next;
    poison(slot, sizeof(void*));
  }

  bool in_some_chunk(const void* p) const {
    for (const Chunk* chunk = chunks_; chunk != nullptr; chunk = chunk->next) {
      const std::byte* first = slot_at(chunk, 0);
      const auto* q = static_cast<const std::byte*>(p);
      if (q >= first && q < first + slots_per_chunk_ * kSlotSize)
        return static_cast<size_t>(q - first) % kSlotSize == 0;
    }
    return false;
  }

  void* take_slot() {
    if (free_ != nullptr) {
      void* slot = free_;
      free_ = read_slot_link(slot);
      unpoison(slot, kSlotSize);
      return slot;
    }
    if (chunks_ == nullptr || carve_next_ == slots_per_chunk_) {
      void* memory = allocator_.allocate(chunk_bytes(), kSlotAlign);
      if (memory == nullptr) return nullptr;
      auto* chunk = static_cast<Chunk*>(memory);
      chunk->next = chunks_;
      chunks_ = chunk;
      carve_next_ = 0;
      poison(slot_at(chunk, 0), slots_per_chunk_ * kSlotSize);
    }
    void* slot = slot_at(chunks_, carve_next_++);
    unpoison(slot, kSlotSize);
    return slot;
  }

  Allocator& allocator_;
  const size_t slots_per_chunk_;
  mutable SpinLock lock_;    // used only when kShared
  Chunk* chunks_ = nullptr;  // newest first; slots are carved from the newest
  size_t carve_next_ = 0;
  void* free_ = nullptr;
  size_t live_ = 0;
};

template <class T>
using ObjectPool = BasicObjectPool<T, false>;
template <class T>
using SharedObjectPool = BasicObjectPool<T, true>;

}  // namespace vmmem::alloc
