// Fuzz target for the collector: bytes -> Config + gc ops -> a fresh gc::Heap (poisoning on,
// verifier around every GC when the config asks), each outcome compared with the reference
// Model — after every GC the roots, the reachable graph by logical id, every edge and payload,
// and after a major one the heap's bytes — with Heap::verify() every 64 ops and at the end.
// Unknown shapes, out-of-range slots, foreign pointers and oversized arrays are all in the
// vocabulary.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "scenario/gc/codec.h"
#include "scenario/gc/executor.h"

namespace {
// 256 ops reach every state a short input does; longer ones only slow the fuzzer down.
constexpr size_t kMaxOps = 256;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmmem::scenario::gc;
  const Input input = decode_input({data, size}, kMaxOps);
  if (auto failure = verify(input.config, input.ops)) {
    std::fprintf(stderr, "gc_fuzzer: the collector disagrees with the model\n%s\n",
                 failure->c_str());
    std::abort();
  }
  return 0;
}
