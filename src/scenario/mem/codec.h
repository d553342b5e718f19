// The mem fuzz input formats. The frozen `mem` format: decode() reads one op from fuzz bytes,
// encode() writes one op so that decode() reads it back unchanged; it knows the first
// kFrozenOpKinds ops only. The `mem_full` format: one config byte (bits 0-1: host page size
// 4, 16, 64 or 4 KiB), then ops of every kind, Atomic and Copy included.
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

// The mem_full format. Decodable domain: as above, plus Atomic kinds below kCount, widths
// 0..15, orders 0..7, any value and expected; Copy and MarkDirty lengths 0..kMaxBulkLength;
// SetDirtyTracking and TakeDirty whole; PinSpan, ReadPinned and WritePinned slots below
// kPinSlots, PinSpan and Discard lengths and AddRom sizes 0..kMaxBulkLength; AddBackedRam
// backings below Backing::kCount; ReadShared and WriteShared lengths 0..kMaxBulkLength.
struct FullInput {
  uint64_t host_page_size;  // 4096, 16384 or 65536
  std::vector<Op> ops;
};
FullInput decode_full_input(std::span<const uint8_t> bytes, size_t max_ops = SIZE_MAX);
// REQUIRES: every op in the full domain.
std::vector<uint8_t> encode_full_input(const FullInput& input);
bool in_full_domain(const Op& op);

}  // namespace vmmem::scenario::mem
