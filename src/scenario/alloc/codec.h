// The alloc fuzz input format: one Config byte (bit 0 hardened; bits 1-2 the purge policy:
// delayed, eager, never, delayed), then ops until the input ends. decode() reads one op,
// encode() writes one so that decode() reads it back unchanged.
//
// Decodable domain (what decode can produce, and so what encode accepts):
//   sizes: 0 .. kMaxRawSize, and the values of a table of edges and bad sizes (SIZE_MAX,
//     2^46 + 1, ...);
//   alignments: 1, 2^1 .. 2^22 (above 2^21 is refused), and a table of bad ones (0, 3, ...);
//   FailNextOsCall counts 1 .. 3; BadFree kinds below BadFreeKind::kCount; other fields whole.
// The format is frozen once corpus/alloc/regressions/ holds inputs: they must decode to the
// same ops forever. A new format needs a new target.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "scenario/alloc/executor.h"
#include "scenario/alloc/ops.h"
#include "support/byte_source.h"

namespace vmmem::scenario::alloc {

inline constexpr uint64_t kMaxRawSize = 16u << 20;

struct Input {
  Config config;
  std::vector<Op> ops;
};

Op decode(ByteSource& source);
// REQUIRES: op lies in the decodable domain.
void encode(const Op& op, ByteSink& sink);

Input decode_input(std::span<const uint8_t> bytes, size_t max_ops = SIZE_MAX);
std::vector<uint8_t> encode_input(const Config& config, std::span<const Op> ops);

bool in_decodable_domain(const Op& op);

}  // namespace vmmem::scenario::alloc
