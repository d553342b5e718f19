// The gc op vocabulary: what a mutator does to a collected heap, as plain values.
//
// Objects are named by root slot (an index into the mutator's live roots, taken modulo their
// count), never by pointer, so every op sequence is valid to run and shrinks well; an op that
// names an object when there are no roots does nothing. Reference slots inside an object are
// taken modulo the object's reference count as well (raw when it has none), and the bad-input
// ops name the wrong things on purpose. Every object carries its logical id (1, 2, ... in
// allocation order) in its first eight payload bytes, so the executor reads back which object a
// reference leads to whatever the collector did to addresses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

namespace vmmem::scenario::gc {

// The shapes every scenario heap registers, in this order (ids 0 .. kShapeCount - 1); a New
// naming any other shape id is refused. Payload bytes include the 8-byte logical id.
enum ShapeId : uint8_t {
  kPair = 0,       // 2 references, 8 payload bytes
  kNode = 1,       // 1 reference, 24 payload bytes
  kLeaf = 2,       // no references, 16 payload bytes
  kWide = 3,       // 16 references, 8 payload bytes (many slots per card)
  kRefArray = 4,   // `len` references, 8 payload bytes
  kByteArray = 5,  // no references, 8 + `len` payload bytes
  kShapeCount = 6,
};

// New objects' lengths the scenario allows: arrays up to this many elements. A longer New is
// refused by the executor (kUnsupported, nothing runs), except lengths at or above kHugeLength,
// which go to the collector to be refused as larger than the heap.
inline constexpr uint32_t kMaxLength = 1u << 16;
inline constexpr uint32_t kHugeLength = 1u << 30;

// Allocates an object of `shape` (len: the element count of an array shape; ignored otherwise)
// and holds it in a new root, last in the root list.
struct New {
  uint8_t shape;
  uint32_t len;
  friend bool operator==(const New&, const New&) = default;
};

// Stores into reference slot `slot` of the object in root `obj` the object in root `target`,
// or null.
struct Store {
  uint16_t obj;
  uint16_t slot;
  uint16_t target;
  bool null;
  friend bool operator==(const Store&, const Store&) = default;
};

// Reads reference slot `slot` of the object in root `obj`; a non-null result becomes a new
// root, last in the list.
struct Load {
  uint16_t obj;
  uint16_t slot;
  friend bool operator==(const Load&, const Load&) = default;
};

// Forgets root `slot` (the last root takes its place).
struct DropRoot {
  uint16_t slot;
  friend bool operator==(const DropRoot&, const DropRoot&) = default;
};

// Fills the payload of the object in root `obj` after its id with pattern_word(pattern, i).
struct WriteBytes {
  uint16_t obj;
  uint64_t pattern;
  friend bool operator==(const WriteBytes&, const WriteBytes&) = default;
};

struct Minor {
  friend bool operator==(const Minor&, const Minor&) = default;
};
struct Major {
  friend bool operator==(const Major&, const Major&) = default;
};
// The collector's verifier, and the reachable graph compared with the model, without a GC.
struct Verify {
  friend bool operator==(const Verify&, const Verify&) = default;
};

// A load or store of reference slot refs + `past` of the object in root `obj`: always out of
// range (past = 0 is the first index beyond the end).
struct BadSlot {
  uint16_t obj;
  uint16_t past;
  bool store;
  friend bool operator==(const BadSlot&, const BadSlot&) = default;
};

// A store of a pointer that is not an object of this heap.
enum class ForeignKind : uint8_t {
  kStatic,    // memory outside the heap
  kInterior,  // 8 bytes into the object in root `target` (inside the heap, not an object start)
  kCount,
};
struct StoreForeign {
  uint16_t obj;
  uint16_t slot;
  uint16_t target;
  ForeignKind kind;
  friend bool operator==(const StoreForeign&, const StoreForeign&) = default;
};

// Reads `size` raw bytes of the object in root `obj` from `offset` (offset 0 is the start of
// the raw bytes, where the id sits): the bytes' digest, or a refusal that reads nothing when the
// range runs past the end.
struct ReadBytes {
  uint16_t obj;
  uint16_t offset;
  uint16_t size;
  friend bool operator==(const ReadBytes&, const ReadBytes&) = default;
};

// A read or write of one raw byte `past` bytes beyond the end of the object in root `obj`
// (past = 0 starts at the end): always refused, and a refused write changes nothing.
struct BadBytes {
  uint16_t obj;
  uint16_t past;
  bool write;
  friend bool operator==(const BadBytes&, const BadBytes&) = default;
};

// A handle that names no object of this heap a call may use, passed to one handle-taking call.
enum class BadHandleKind : uint8_t {
  kNull,            // Handle{}: a null value, never a handle to check
  kOtherHeap,       // a live persistent handle of a second heap
  kOtherHeapLocal,  // a live local handle of a second heap (its scope open)
  kClosedScope,     // a local handle of a scope that has closed
  kReleased,        // a persistent handle to the object in root `obj`, released
  kNullCell,        // a live persistent handle holding null: a handle, but not a holder
  kCount,
};
// The call the bad handle goes to (a holder, a target or a value; see gc/heap.h).
enum class HandleUse : uint8_t {
  kLoad,            // load(h, 0)
  kStore,           // store(h, 0, root obj)
  kReadBytes,       // read_bytes(h, 0, 8 bytes)
  kWriteBytes,      // write_bytes(h, 0, 8 zero bytes)
  kInfo,            // info(h)
  kDeref,           // deref(h)
  kSame,            // same(h, root obj)
  kAssign,          // assign(h, root obj)
  kLocal,           // local(h)
  kMakePersistent,  // make_persistent(h)
  kRelease,         // release(h)
  kCount,
};
struct BadHandle {
  uint16_t obj;
  BadHandleKind kind;
  HandleUse use;
  friend bool operator==(const BadHandle&, const BadHandle&) = default;
};

// Heap::create with the default options (gc/options.h) but one field set from `value`: bad
// options are refused, good ones make a heap that is destroyed at once.
enum class OptionField : uint8_t {
  kPromotionAge,  // value % 20
  kMinNursery,    // value KiB
  kNursery,       // value KiB
  kMaxNursery,    // value KiB
  kLargeObject,   // value bytes
  kHeapLimit,     // value KiB
  kGrowthFactor,  // value / 256
  kPauseTarget,   // int16_t(value) / 4 ms
  kCount,
};
struct CreateHeap {
  OptionField field;
  uint16_t value;
  friend bool operator==(const CreateHeap&, const CreateHeap&) = default;
};

// Breaks one heap invariant behind the collector's back, runs its verifier, and mends the heap:
// the verifier must report the break (and pass once it is mended). The collector never runs on
// the broken heap.
enum class CorruptKind : uint8_t {
  kInteriorSlot,  // reference slot 0 of the object in root `obj` points 8 bytes into it
  kCleanCard,     // a young object stored into a new large array, and the slot's card cleaned
  kMarkBit,       // the mark bit set in the header of the object in root `obj`
  kUnusedBits,    // the header's unused bits set
  kUnknownShape,  // a shape id no shape has
  kFixedLength,   // an array length on an object of a fixed shape
  // The rest first run a major collection (everything is old or large after it; the model sees
  // no difference) and break what the verifier checks of a heap at rest.
  kInteriorLocal,    // a local handle holding the object in root `obj` + 8
  kInteriorGlobal,   // a persistent handle holding the object in root `obj` + 8
  kChunkHeader,      // the chunk of the object in root `obj` miscounts: one more live cell (old),
                     // or an object size 8 bytes larger (large)
  kYoungAfterMajor,  // a new object, then verify_after_major: the young generation is not empty
  kOldGarbage,       // an object promoted by a major collection and then dropped, then
                     // verify_after_major: an unreachable object survived
  kCount,
};
struct Corrupt {
  uint16_t obj;
  CorruptKind kind;
  friend bool operator==(const Corrupt&, const Corrupt&) = default;
};

using Op = std::variant<New, Store, Load, DropRoot, WriteBytes, Minor, Major, Verify, BadSlot,
                        StoreForeign, ReadBytes, BadBytes, BadHandle, CreateHeap, Corrupt>;

// What a root operand names: `slot` modulo the live count. REQUIRES: live > 0.
inline size_t pick(uint64_t slot, size_t live) {
  return static_cast<size_t>(slot % live);
}
// The reference slot an in-range op names in an object with `refs` references.
inline uint64_t pick_ref(uint64_t slot, uint64_t refs) {
  return refs == 0 ? slot : slot % refs;
}

// The shape's reference count and payload bytes for an element count.
struct ShapeSize {
  uint64_t refs;
  uint64_t payload;
};
inline ShapeSize shape_size(uint8_t shape, uint64_t len) {
  switch (shape) {
    case kPair:
      return {2, 8};
    case kNode:
      return {1, 24};
    case kLeaf:
      return {0, 16};
    case kWide:
      return {16, 8};
    case kRefArray:
      return {len, 8};
    default:
      return {0, 8 + len};
  }
}
// Bytes an object of that size occupies in the heap: a header word, the slots, the payload
// rounded up to words.
inline uint64_t object_bytes(ShapeSize size) {
  return 8 + 8 * size.refs + ((size.payload + 7) & ~uint64_t{7});
}
inline bool is_array(uint8_t shape) {
  return shape == kRefArray || shape == kByteArray;
}

// One line, e.g. "New{shape=pair, len=0}".
std::string describe(const Op& op);

// Payload contents written with `pattern`: word i (counted after the id) is
// pattern_word(pattern, i), little-endian, the last word cut short.
inline uint64_t pattern_word(uint64_t pattern, uint64_t index) {
  uint64_t x = (pattern ^ index * 0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9;
  return x ^ (x >> 31);
}

}  // namespace vmmem::scenario::gc
