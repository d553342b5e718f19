// ByteSource turns fuzz input into values; ByteSink writes values so that a ByteSource reads
// them back unchanged. Together they are the fuzz input format of every scenario:
// decode(ByteSource) and encode(ByteSink) are inverses when built from matching calls.
//
// Invariants:
//   1. Reading never fails: an exhausted source reads as zeros, so every byte string decodes.
//   2. Multi-byte integers are little-endian.
//   3. below(bound) consumes exactly width_for(bound) bytes, and
//      ByteSource(sink.below(v, bound)).below(bound) == v for every v < bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace vmmem {

// Bytes needed to represent every value below `bound` (0 for bound <= 1).
constexpr unsigned width_for(uint64_t bound) {
  unsigned width = 0;
  for (uint64_t max = bound - 1; bound > 1 && max != 0; max >>= 8)
    ++width;
  return width;
}

class ByteSource {
 public:
  explicit ByteSource(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  bool exhausted() const { return position_ >= bytes_.size(); }
  size_t remaining() const { return exhausted() ? 0 : bytes_.size() - position_; }

  uint8_t u8() { return exhausted() ? 0 : bytes_[position_++]; }
  uint16_t u16() { return static_cast<uint16_t>(bits(2)); }
  uint32_t u32() { return static_cast<uint32_t>(bits(4)); }
  uint64_t u64() { return bits(8); }
  bool boolean() { return (u8() & 1) != 0; }

  // A value in [0, bound): reads width_for(bound) bytes and reduces them modulo bound.
  // REQUIRES: bound > 0.
  uint64_t below(uint64_t bound) {
    const uint64_t raw = bits(width_for(bound));
    return bound == 0 ? raw : raw % bound;
  }

 private:
  uint64_t bits(unsigned width) {
    uint64_t value = 0;
    for (unsigned i = 0; i < width; ++i)
      value |= static_cast<uint64_t>(u8()) << (8 * i);
    return value;
  }

  std::span<const uint8_t> bytes_;
  size_t position_ = 0;
};

class ByteSink {
 public:
  void u8(uint8_t value) { bytes_.push_back(value); }
  void u16(uint16_t value) { bits(value, 2); }
  void u32(uint32_t value) { bits(value, 4); }
  void u64(uint64_t value) { bits(value, 8); }
  void boolean(bool value) { u8(value ? 1 : 0); }
  // REQUIRES: value < bound.
  void below(uint64_t value, uint64_t bound) { bits(value, width_for(bound)); }

  const std::vector<uint8_t>& bytes() const& { return bytes_; }
  std::vector<uint8_t> take() && { return std::move(bytes_); }

 private:
  void bits(uint64_t value, unsigned width) {
    for (unsigned i = 0; i < width; ++i)
      bytes_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }

  std::vector<uint8_t> bytes_;
};

}  // namespace vmmem
