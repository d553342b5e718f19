// Whole-input decoding and encoding on top of a subsystem's one-op decode/encode.
//
// decode_ops reads ops until the input is exhausted or max_ops are read; since every op
// consumes at least one byte, any byte string decodes to a finite op list.
// decode_ops(encode_ops(ops)) == ops for every ops a subsystem's decode can produce.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "support/byte_source.h"

namespace vmmem::scenario {

template <class Op, class DecodeOne>
std::vector<Op> decode_ops(std::span<const uint8_t> bytes, size_t max_ops, DecodeOne decode_one) {
  ByteSource source(bytes);
  std::vector<Op> ops;
  while (!source.exhausted() && ops.size() < max_ops)
    ops.push_back(decode_one(source));
  return ops;
}

template <class Op, class EncodeOne>
std::vector<uint8_t> encode_ops(std::span<const Op> ops, EncodeOne encode_one) {
  ByteSink sink;
  for (const Op& op : ops)
    encode_one(op, sink);
  return std::move(sink).take();
}

}  // namespace vmmem::scenario
