// The mmu fuzz input format: one Config byte (bits 0-1 mode: Sv39, Sv48, Bare, Sv39; bit 2
// Svadu; bit 3 relaxed, which forces Svade; bit 4 the small TLB; bit 5 prefetch two pages
// ahead; bit 6 dirty tracking; bit 7 flushes posted as shootdowns), then ops until the input
// ends. decode() reads one op, encode() writes one so that decode() reads it back unchanged.
//
// Decodable domain: every field whole, except Batch counts 0..kMaxBatch, Translate/Batch
// accesses and Flush kinds in range, Load/Store sizes 1/2/4/8, CorruptPte levels 0..3, and a
// Config whose relaxed mode runs Svade and whose prefetch depth is 0 or 2.
// Virtual and physical addresses are written as an anchor (the halves of Sv39 and Sv48, RAM,
// the scratch region, the device, ...) plus a signed 32-bit offset, or raw; sizes, lengths,
// strides and PTE corruption masks pick from tables of interesting values or come raw.
// The format is frozen once corpus/mmu/regressions/ holds inputs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "scenario/mmu/layout.h"
#include "scenario/mmu/ops.h"
#include "support/byte_source.h"

namespace vmmem::scenario::mmu {

struct Input {
  Config config;
  std::vector<Op> ops;
};

Op decode(ByteSource& source);
// REQUIRES: in_decodable_domain(op).
void encode(const Op& op, ByteSink& sink);

Config decode_config(uint8_t byte);
uint8_t encode_config(const Config& config);  // REQUIRES: decodable config

Input decode_input(std::span<const uint8_t> bytes, size_t max_ops = SIZE_MAX);
std::vector<uint8_t> encode_input(const Config& config, std::span<const Op> ops);

bool in_decodable_domain(const Op& op);
bool in_decodable_domain(const Config& config);

}  // namespace vmmem::scenario::mmu
