// One whole copy of the guest memory library in a shared object, for mem_two_copies_test:
// a C interface to one GuestMemory with one RAM page at guest address 0.
#include <cstdint>

#include "mem/guest_memory.h"

using vmmem::mem::GuestMemory;

extern "C" {

__attribute__((visibility("default"))) void* library_copy_create() {
  auto* memory = new GuestMemory();
  VMM_CHECK(memory->add_ram(0, 0x1000).ok(), "library copy: add_ram");
  return memory;
}

__attribute__((visibility("default"))) void library_copy_write(void* memory, uint64_t value) {
  VMM_CHECK(static_cast<GuestMemory*>(memory)->write<uint64_t>(0, value).ok(), "write");
}

__attribute__((visibility("default"))) uint64_t library_copy_read(void* memory) {
  return static_cast<GuestMemory*>(memory)->read<uint64_t>(0).value();
}

__attribute__((visibility("default"))) void library_copy_destroy(void* memory) {
  delete static_cast<GuestMemory*>(memory);
}
}
