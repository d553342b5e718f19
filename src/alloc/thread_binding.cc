#include "alloc/thread_binding.h"

#include <pthread.h>

#include <atomic>
#include <mutex>

#include "alloc/allocator.h"
#include "alloc/spin_lock.h"

namespace vmmem::alloc {

constinit thread_local ThreadBinding detail::current_binding{};

namespace {

struct ThreadBindings {
  ThreadBinding slots[kMaxThreadBindings];
  bool exit_hooked;
};
constinit thread_local ThreadBindings thread_bindings{};

constinit SpinLock registry_lock;
constinit Allocator* registry = nullptr;  // guarded by registry_lock
constinit std::atomic<uint64_t> last_allocator_id{0};

pthread_key_t exit_key;
pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
bool exit_key_ready = false;

void on_thread_exit(void* /*value*/) {
  release_thread_bindings();
}

void create_exit_key() {
  exit_key_ready = pthread_key_create(&exit_key, on_thread_exit) == 0;
}

}  // namespace

uint64_t next_allocator_id() {
  return last_allocator_id.fetch_add(1, std::memory_order_relaxed) + 1;
}

void register_allocator(Allocator* allocator) {
  std::lock_guard guard(registry_lock);
  allocator->next_registered_ = registry;
  registry = allocator;
}

void unregister_allocator(Allocator* allocator) {
  std::lock_guard guard(registry_lock);
  for (Allocator** link = &registry; *link != nullptr; link = &(*link)->next_registered_) {
    if (*link == allocator) {
      *link = allocator->next_registered_;
      return;
    }
  }
}

void lock_registry() {
  registry_lock.lock();
}

void unlock_registry() {
  registry_lock.unlock();
}

void forget_thread_binding(uint64_t id) {
  for (ThreadBinding& slot : thread_bindings.slots) {
    if (slot.allocator_id == id) slot = {};
  }
  if (detail::current_binding.allocator_id == id) detail::current_binding = {};
}

// Hands one binding's heap back to its allocator when that allocator is still alive.
void evict_binding(ThreadBinding& binding) {
  if (binding.allocator_id == 0) return;
  {
    std::lock_guard guard(registry_lock);
    for (Allocator* allocator = registry; allocator != nullptr;
         allocator = allocator->next_registered_) {
      if (allocator->id_ == binding.allocator_id) {
        allocator->release_thread_heap(binding.heap);
        break;
      }
    }
  }
  if (detail::current_binding.allocator_id == binding.allocator_id) detail::current_binding = {};
  binding = {};
}

void release_thread_bindings() {
  for (ThreadBinding& slot : thread_bindings.slots)
    evict_binding(slot);
  detail::current_binding = {};
  // The key's value is already cleared; a later allocation by another exit handler sets it
  // again, and the thread library calls us once more.
  thread_bindings.exit_hooked = false;
}

Heap* Allocator::bind_thread() {
  for (ThreadBinding& slot : thread_bindings.slots) {
    if (slot.allocator_id == id_) {
      detail::current_binding = slot;
      return slot.heap;
    }
  }
  Heap* heap = acquire_heap(/*first_class=*/false);
  if (heap == nullptr) return nullptr;
  if (!thread_bindings.exit_hooked) {
    pthread_once(&exit_key_once, create_exit_key);
    // Without the key (the process ran out of them) a heap stays with its allocator when its
    // thread exits: its memory is kept, never lost, until the allocator is destroyed.
    if (exit_key_ready) pthread_setspecific(exit_key, &thread_bindings);
    thread_bindings.exit_hooked = true;
  }
  ThreadBinding* free_slot = nullptr;
  for (ThreadBinding& slot : thread_bindings.slots) {
    if (slot.allocator_id == 0) {
      free_slot = &slot;
      break;
    }
  }
  if (free_slot == nullptr) {
    // More allocators than slots: the oldest binding's heap goes back as at thread exit.
    free_slot = &thread_bindings.slots[0];
    evict_binding(*free_slot);
  }
  *free_slot = {id_, heap};
  detail::current_binding = *free_slot;
  return heap;
}

void Allocator::thread_detach() {
  for (ThreadBinding& slot : thread_bindings.slots) {
    if (slot.allocator_id == id_) evict_binding(slot);
  }
}

}  // namespace vmmem::alloc
