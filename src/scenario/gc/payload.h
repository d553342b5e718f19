// What an object's payload must hold after its id, and the digest both sides compare: the
// executor digests the bytes it reads from the heap, the model the bytes it expects, without
// either keeping a copy of large payloads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "scenario/gc/ops.h"

namespace vmmem::scenario::gc {

// FNV-1a over a byte stream, fed in pieces.
class PayloadDigest {
 public:
  void add(uint8_t byte) { value_ = (value_ ^ byte) * 0x100000001b3; }
  void add(std::span<const std::byte> bytes) {
    for (std::byte b : bytes)
      add(static_cast<uint8_t>(b));
  }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0xcbf29ce484222325;
};

// The digest of `length` bytes that read as pattern_word(pattern, ...) little-endian, or as
// zeros when never written.
inline uint64_t expected_digest(uint64_t length, std::optional<uint64_t> pattern) {
  PayloadDigest digest;
  for (uint64_t i = 0; i < length; i += 8) {
    const uint64_t word = pattern ? pattern_word(*pattern, i / 8) : 0;
    for (uint64_t k = 0; k < 8 && i + k < length; ++k)
      digest.add(static_cast<uint8_t>(word >> (8 * k)));
  }
  return digest.value();
}

// The digest of raw bytes [offset, offset + size) of an object whose raw bytes are its id (8
// bytes, little-endian) and then a payload as expected_digest describes it.
inline uint64_t expected_range_digest(uint64_t id, std::optional<uint64_t> pattern, uint64_t offset,
                                      uint64_t size) {
  PayloadDigest digest;
  for (uint64_t i = offset; i < offset + size; ++i) {
    const uint64_t word = i < 8 ? id : pattern ? pattern_word(*pattern, (i - 8) / 8) : 0;
    const uint64_t byte = i < 8 ? i : (i - 8) % 8;
    digest.add(static_cast<uint8_t>(word >> (8 * byte)));
  }
  return digest.value();
}

// Writes pattern_word(pattern, ...) over `bytes`.
inline void fill_pattern(std::span<std::byte> bytes, uint64_t pattern) {
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    const uint64_t word = pattern_word(pattern, i / 8);
    std::memcpy(bytes.data() + i, &word, 8);
  }
  const uint64_t last = pattern_word(pattern, i / 8);
  for (size_t k = 0; i + k < bytes.size(); ++k)
    bytes[i + k] = static_cast<std::byte>(last >> (8 * k));
}

}  // namespace vmmem::scenario::gc
