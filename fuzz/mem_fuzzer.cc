// Fuzz target for guest memory: bytes -> mem ops -> GuestMemory, checked op by op against the
// reference Model, with GuestMemory::check() every 16 ops. Any divergence aborts with a report
// naming the op, the prediction and what happened.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "scenario/mem/codec.h"
#include "scenario/mem/executor.h"

namespace {
// Long inputs only slow the fuzzer down; 256 ops reach every state a short input does not.
constexpr size_t kMaxOps = 256;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vmmem::scenario::mem::reuse_host_mappings();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmmem::scenario::mem;
  const std::vector<Op> ops = decode_ops({data, size}, kMaxOps);
  if (auto failure = verify(ops)) {
    std::fprintf(stderr, "mem_fuzzer: GuestMemory disagrees with the model\n%s\n",
                 failure->c_str());
    std::abort();
  }
  return 0;
}
