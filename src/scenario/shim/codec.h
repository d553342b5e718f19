// The shim fuzz input format: one Config byte (bit 0: hardened), then ops until the input ends.
// decode() reads one op and never fails; encode() writes one so that decode() reads it back
// unchanged.
//
// Decodable domain (what decode can produce, and so what encode accepts): slots 0..255; sizes,
// counts and alignments either from a table of edges (overflowing products, SIZE_MAX, 2^46 + 1,
// alignments 0, 3, 24, 2^21 + 1, ...) or raw up to kLargestTried; an Allocate's `extra` is 0
// for the calls that take none; a Realloc's count is 0 unless `array`, its slot 0 when
// `null_pointer`; a Free's slot 0 when `null_pointer`.
// The format is frozen once corpus/shim/regressions/ holds inputs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "scenario/shim/executor.h"
#include "scenario/shim/ops.h"
#include "support/byte_source.h"

namespace vmmem::scenario::shim {

struct Input {
  Config config;
  std::vector<Op> ops;
};

Op decode(ByteSource& source);
// REQUIRES: in_decodable_domain(op).
void encode(const Op& op, ByteSink& sink);

Input decode_input(std::span<const uint8_t> bytes, size_t max_ops = SIZE_MAX);
std::vector<uint8_t> encode_input(const Config& config, std::span<const Op> ops);

bool in_decodable_domain(const Op& op);

}  // namespace vmmem::scenario::shim
