// Fuzz target for the allocator: bytes -> Config + alloc ops -> a fresh Allocator, each outcome
// judged by the reference Model, with Allocator::check() every 32 ops and at the end. Bad
// sizes, alignments and frees, OS calls that fail and remote frees are all in the vocabulary.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "scenario/alloc/codec.h"
#include "scenario/alloc/executor.h"

namespace {
// 256 ops reach every state a short input does; longer ones only slow the fuzzer down.
constexpr size_t kMaxOps = 256;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmmem::scenario::alloc;
  const Input input = decode_input({data, size}, kMaxOps);
  if (auto failure = verify(input.config, input.ops)) {
    std::fprintf(stderr, "alloc_fuzzer: the Allocator disagrees with the model\n%s\n",
                 failure->c_str());
    std::abort();
  }
  return 0;
}
