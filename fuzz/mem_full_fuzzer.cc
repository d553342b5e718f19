// Fuzz target for guest memory with the whole op set (atomics and guest-to-guest copies
// included) on a host page size the input picks (4, 16 or 64 KiB): bytes -> mem_full input ->
// GuestMemory, checked op by op against the reference Model, with check() every 16 ops.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "scenario/mem/codec.h"
#include "scenario/mem/executor.h"

namespace {
constexpr size_t kMaxOps = 256;  // as the mem target
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vmmem::scenario::mem::reuse_host_mappings();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmmem::scenario::mem;
  const FullInput input = decode_full_input({data, size}, kMaxOps);
  GuestMemoryLimits limits = kCheckedLimits;
  limits.host_page_size = input.host_page_size;
  if (auto failure = verify(input.ops, limits)) {
    std::fprintf(stderr, "mem_full_fuzzer: GuestMemory disagrees with the model\n%s\n",
                 failure->c_str());
    std::abort();
  }
  return 0;
}
