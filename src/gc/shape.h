// Shapes: what the collector knows about an object's layout. A shape is registered once, by a
// unique name, and named afterwards by its ShapeId.
//
// An object of a shape holds `ref_slots` reference slots followed by `raw_bytes` bytes the
// collector never looks into. An array shape adds `length` elements chosen at allocation: more
// reference slots (ArrayKind::kRefs) or more raw bytes (ArrayKind::kBytes), so an object's
// reference slots are always slots [0, ref_count) and its raw bytes always [0, raw_size).
//
// Invariants:
//   1. ShapeId 0 names no shape (a header whose shape is 0 is a free cell, see object.h); ids are
//      handed out 1, 2, 3, ... in registration order and never reused.
//   2. Names are unique and not empty.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmmem::gc {

using ShapeId = uint32_t;
inline constexpr ShapeId kNoShape = 0;
// Shape ids fit the header's 24-bit field.
inline constexpr ShapeId kMaxShapes = (uint32_t{1} << 24) - 1;

enum class ArrayKind : uint8_t {
  kNone,   // fixed size: length must be 0
  kRefs,   // `length` more reference slots
  kBytes,  // `length` more raw bytes
};

struct ShapeSpec {
  std::string name;
  uint32_t ref_slots = 0;
  uint32_t raw_bytes = 0;
  ArrayKind array = ArrayKind::kNone;
};

// The registered form, what the collector reads on its paths.
struct ShapeInfo {
  uint32_t ref_slots = 0;
  uint32_t raw_bytes = 0;
  ArrayKind array = ArrayKind::kNone;
};

// Indexed by ShapeId; entry 0 (kNoShape) is unused.
using ShapeTable = std::vector<ShapeInfo>;

// Longest array: the header's 32-bit length field.
inline constexpr uint64_t kMaxArrayLength = UINT32_MAX;

}  // namespace vmmem::gc
