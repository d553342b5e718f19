// current_thread_id(): a non-zero word that identifies the calling thread among the threads
// alive right now, read without a function call. On x86-64 and AArch64 Linux it is the thread
// pointer (the address of the thread's control block); elsewhere the address of a thread_local.
// A value may be reused by a thread created after this one exits.
#pragma once

#include <cstdint>

namespace vmmem::alloc {

inline uintptr_t current_thread_id() {
#if defined(__x86_64__) && defined(__linux__)
  uintptr_t tid;
  __asm__("mov %%fs:0, %0" : "=r"(tid));
  return tid;
#elif defined(__aarch64__) && defined(__linux__)
  uintptr_t tid;
  __asm__("mrs %0, tpidr_el0" : "=r"(tid));
  return tid;
#else
  static constinit thread_local char marker = 0;
  return reinterpret_cast<uintptr_t>(&marker);
#endif
}

}  // namespace vmmem::alloc
