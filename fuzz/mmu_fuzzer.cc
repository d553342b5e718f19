// Fuzz target for the MMU: bytes -> a Config and mmu ops -> a guest with page tables, a TLB
// and the access path, judged op by op by the reference Model (coherent: every translation
// equals the reference walk; relaxed: stale hits only within sfence.vma's rules), with the
// invariant checks every 16 ops. Any divergence aborts with a report naming the op.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "scenario/mem/executor.h"
#include "scenario/mmu/codec.h"
#include "scenario/mmu/executor.h"

namespace {
constexpr size_t kMaxOps = 256;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vmmem::scenario::mem::reuse_host_mappings();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmmem::scenario::mmu;
  const Input input = decode_input({data, size}, kMaxOps);
  if (auto failure = verify(input.config, input.ops)) {
    std::fprintf(stderr, "mmu_fuzzer: the MMU disagrees with the model\n%s\n", failure->c_str());
    std::abort();
  }
  return 0;
}
