// Fuzz target for the C allocation surface of the malloc drop-in: bytes -> Config + shim ops ->
// the functions of shim/c_api.h over a fresh Allocator, each outcome judged by the model of
// the C and POSIX contracts, with Allocator::check() every 16 ops and at the end. Overflowing
// sizes, refused alignments and pointers the allocator never returned are all in the
// vocabulary.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "scenario/shim/codec.h"
#include "scenario/shim/executor.h"

namespace {
// 256 ops reach every state a short input does; longer ones only slow the fuzzer down.
constexpr size_t kMaxOps = 256;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmmem::scenario::shim;
  const Input input = decode_input({data, size}, kMaxOps);
  if (auto failure = verify(input.config, input.ops)) {
    std::fprintf(stderr, "shim_fuzzer: the C allocation API disagrees with the model\n%s\n",
                 failure->c_str());
    std::abort();
  }
  return 0;
}
