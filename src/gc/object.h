// Object: the layout of every object in every space, and its one-word header.
//
//   [header: 8 bytes][reference slots: 8 bytes each][raw bytes, padded to 8]
//
// Header word, when the object is not forwarded (bit 0 clear):
//   bit  0      forwarded tag: 0
//   bit  1      mark (major GC; clear outside a major collection)
//   bits 2..3   unused, 0
//   bits 4..7   age: minor collections survived (0..15)
//   bits 8..31  shape id (0: a free cell of the old space, not an object)
//   bits 32..63 length: array elements (0 for a fixed shape)
// A forwarded object (during a minor collection, in from-space only) has header word = address
// of its copy | 1.
//
// Invariants (the verifier checks them for every object it meets):
//   1. Objects start 8-byte aligned; an object's size is 8 + 8 * ref_count + round_up(raw, 8),
//      from its shape and length alone.
//   2. Outside a collection no header is forwarded or marked and every age is <= 15.
//   3. Every reference slot is null or the start of a live object of the same heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gc/shape.h"

namespace vmmem::gc {

inline constexpr uint64_t kHeaderBytes = 8;
inline constexpr uint64_t kObjectAlignment = 8;
inline constexpr uint32_t kMaxAge = 15;

namespace header {
inline constexpr uint64_t kForwarded = 1;
inline constexpr uint64_t kMark = 2;
inline constexpr unsigned kAgeShift = 4;
inline constexpr uint64_t kAgeMask = uint64_t{0xf} << kAgeShift;
inline constexpr unsigned kShapeShift = 8;
inline constexpr uint64_t kShapeMask = uint64_t{0xffffff} << kShapeShift;
inline constexpr unsigned kLengthShift = 32;

constexpr uint64_t make(ShapeId shape, uint32_t length) {
  return (uint64_t{shape} << kShapeShift) | (uint64_t{length} << kLengthShift);
}
}  // namespace header

class Object {
 public:
  Object() = delete;

  uint64_t header_word() const { return header_; }
  void set_header_word(uint64_t word) { header_ = word; }

  ShapeId shape() const { return static_cast<ShapeId>((header_ & header::kShapeMask) >> 8); }
  uint32_t length() const { return static_cast<uint32_t>(header_ >> header::kLengthShift); }
  uint32_t age() const { return static_cast<uint32_t>((header_ & header::kAgeMask) >> 4); }
  bool is_forwarded() const { return (header_ & header::kForwarded) != 0; }
  bool is_marked() const { return (header_ & header::kMark) != 0; }
  Object* forwardee() const { return reinterpret_cast<Object*>(header_ & ~header::kForwarded); }

  // Reference slot i, as a raw pointer (valid until the next safepoint).
  Object** slots() { return reinterpret_cast<Object**>(this + 1); }
  Object* const* slots() const { return reinterpret_cast<Object* const*>(this + 1); }
  // The raw bytes, after `ref_count` reference slots.
  std::byte* raw(uint64_t ref_count) {
    return reinterpret_cast<std::byte*>(this + 1) + ref_count * 8;
  }
  const std::byte* raw(uint64_t ref_count) const {
    return reinterpret_cast<const std::byte*>(this + 1) + ref_count * 8;
  }

 private:
  uint64_t header_;
};
static_assert(sizeof(Object) == kHeaderBytes);

// What the object of `shape` and `length` holds.
constexpr uint64_t ref_count(const ShapeInfo& shape, uint64_t length) {
  return shape.ref_slots + (shape.array == ArrayKind::kRefs ? length : 0);
}
constexpr uint64_t raw_size(const ShapeInfo& shape, uint64_t length) {
  return shape.raw_bytes + (shape.array == ArrayKind::kBytes ? length : 0);
}
constexpr uint64_t object_size(const ShapeInfo& shape, uint64_t length) {
  return kHeaderBytes + 8 * ref_count(shape, length) + ((raw_size(shape, length) + 7) & ~7ull);
}

// Size of a live object. REQUIRES: its shape is in `shapes`.
inline uint64_t size_of(const ShapeTable& shapes, const Object* object) {
  return object_size(shapes[object->shape()], object->length());
}

}  // namespace vmmem::gc
