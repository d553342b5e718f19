// The mem fuzz input format: decode() reads one op from fuzz bytes, encode() writes one op so
// that decode() reads it back unchanged.
//
// Decodable domain (what decode can produce, and so what encode accepts):
//   addresses and region sizes: any 64-bit value;
//   widths: 0..15 (1, 2, 4 and 8 are the valid ones; the rest test the error path);
//   bulk and host-span lengths: 0..kMaxBulkLength.
// The format is frozen: corpus/mem/regressions/ holds inputs that must decode to the same ops
// forever, and since every byte string already decodes to something, any change to decode()
// would silently rewrite them. A new format needs a new fuzz target with its own corpus.
//
// Addresses are usually written relative to a small table of anchors (the bottom of memory,
// 4 GiB boundaries, the top of the address space, ...) so that mutated inputs keep landing on
// region edges, where the bugs are.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "scenario/mem/ops.h"
#include "support/byte_source.h"

namespace vmmem::scenario::mem {

inline constexpr uint32_t kMaxBulkLength = 1u << 20;
inline constexpr uint8_t kMaxWidth = 15;

Op decode(ByteSource& source);
// REQUIRES: op lies in the decodable domain.
void encode(const Op& op, ByteSink& sink);

std::vector<Op> decode_ops(std::span<const uint8_t> bytes, size_t max_ops = SIZE_MAX);
std::vector<uint8_t> encode_ops(std::span<const Op> ops);

// True when decode can produce op (so encode accepts it).
bool in_decodable_domain(const Op& op);

}  // namespace vmmem::scenario::mem
