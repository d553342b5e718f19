// Which Heap each thread uses for each Allocator, and what happens when a thread exits.
//
// A thread holds up to kMaxThreadBindings (allocator id, heap) pairs; the one used last is
// cached in detail::current_binding, where the allocation fast path reads it. Allocator ids are
// never reused, so a binding to a destroyed allocator is recognised by its id and ignored.
// When a thread exits (a pthread key destructor, which runs before its TLS goes away), each of
// its heaps is handed back to its allocator — if that allocator is still alive, which the
// process-wide registry answers under a lock that allocator destruction also takes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmmem::alloc {

class Allocator;
struct ThreadBinding;

inline constexpr size_t kMaxThreadBindings = 8;

uint64_t next_allocator_id();
void register_allocator(Allocator* allocator);
void unregister_allocator(Allocator* allocator);
// Drops the calling thread's binding to allocator `id` without handing its heap back (the
// allocator is being destroyed).
void forget_thread_binding(uint64_t id);
// Hands every heap of the calling thread back to its allocator (thread exit).
void release_thread_bindings();
// The registry's lock, held across fork() (Allocator::prepare_fork).
void lock_registry();
void unlock_registry();

}  // namespace vmmem::alloc
