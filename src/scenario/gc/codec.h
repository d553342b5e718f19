// The gc fuzz input format: one Config byte (config.h), then ops until the input ends. decode()
// reads one op, encode() writes one so that decode() reads it back unchanged.
//
// Decodable domain (what decode can produce, and so what encode accepts): New lengths below
// 2^16 and the values of a table of edges (2^16, 2^16 + 1, 2^30, 2^32 - 1); StoreForeign kinds
// below ForeignKind::kCount; every other field whole.
// The format is frozen once corpus/gc/regressions/ holds inputs: they must decode to the same
// ops forever. A new format needs a new target.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "scenario/gc/config.h"
#include "scenario/gc/ops.h"
#include "support/byte_source.h"

namespace vmmem::scenario::gc {

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

}  // namespace vmmem::scenario::gc
