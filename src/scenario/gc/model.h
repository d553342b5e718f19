// Model: the reference for the collector, an object graph by logical id with the mutator's
// roots. It predicts every outcome:
//   - New gets the next id; bad shapes and lengths get the collector's documented refusals;
//   - Store and Load change or read one edge; out-of-range slots and foreign pointers are
//     refused and change nothing;
//   - Corrupt is reported by the verifier whenever it breaks something;
//   - ReadBytes reads the id and the last pattern written; ranges past the end, and handles
//     that are null, stale or of another heap, are refused by every call that takes them;
//   - after Minor, Major and Verify, the roots and the whole graph reachable from them (each
//     object's shape, length, every edge by id, and its payload digest) equal the model's, and
//     the collector's verifier passes; after Major the heap holds exactly the
//     reachable objects' bytes.
// Unreachable objects can never be named again, so every GC op drops them from the model too.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "scenario/gc/ops.h"
#include "scenario/gc/outcome.h"
#include "support/status.h"

namespace vmmem::scenario::gc {

// The collector's answers to bad input (see gc/heap.h) as the model predicts them.
inline constexpr ErrorCode kUnknownShape = ErrorCode::kNotFound;
inline constexpr ErrorCode kSlotOutOfRange = ErrorCode::kInvalidArgument;
inline constexpr ErrorCode kForeignPointer = ErrorCode::kInvalidArgument;
inline constexpr ErrorCode kOverHeapLimit = ErrorCode::kOutOfMemory;
inline constexpr ErrorCode kBytesOutOfRange = ErrorCode::kInvalidArgument;
// A null handle, or one of another heap, where a handle is checked.
inline constexpr ErrorCode kForeignHandle = ErrorCode::kInvalidArgument;
// A local handle of a closed scope, or a released persistent one.
inline constexpr ErrorCode kStaleHandle = ErrorCode::kNotFound;
// A valid handle that holds null where an object is needed (a holder).
inline constexpr ErrorCode kNullHolder = ErrorCode::kInvalidArgument;

// The verifier's answer to a heap that breaks an invariant (Corrupt).
inline constexpr ErrorCode kVerifierReport = ErrorCode::kBrokenInvariant;
// Options Heap::create refuses (gc/heap.h).
inline constexpr ErrorCode kBadOptions = ErrorCode::kInvalidArgument;

// What the collector answers when `use` gets a handle of `kind` (BadHandle).
ErrorCode bad_handle_code(BadHandleKind kind, HandleUse use);
// Whether Heap::create takes the options CreateHeap passes, by gc/heap.h's rules.
ErrorCode create_heap_code(const CreateHeap& op);

class Model {
 public:
  Outcome apply(const Op& op);

  // For generators that aim ops at what is live.
  size_t root_count() const { return roots_.size(); }
  uint8_t root_shape(size_t root) const { return objects_.at(roots_[root]).shape; }
  uint64_t root_refs(size_t root) const { return objects_.at(roots_[root]).size.refs; }
  // Raw bytes (the id and the payload after it) of the object in root `root`.
  uint64_t root_raw(size_t root) const { return objects_.at(roots_[root]).size.payload; }
  // The id in root `root`, and the id reference `slot` of object `id` holds (0: null).
  uint64_t root_id(size_t root) const { return roots_[root]; }
  uint64_t edge(uint64_t id, uint64_t slot) const { return objects_.at(id).refs[slot]; }
  size_t object_count() const { return objects_.size(); }

 private:
  struct Object {
    uint8_t shape;
    uint64_t len;
    ShapeSize size;
    std::vector<uint64_t> refs;
    std::optional<uint64_t> pattern;  // of the payload after the id; none: zeros
  };

  Outcome new_object(const New& op);
  Outcome read_bytes(const ReadBytes& op);
  Outcome corrupt(const Corrupt& op);
  // The object in root `obj` and the reference slot `slot` names in it, or the refusal.
  Object* root_object(uint16_t obj);
  Outcome observe(bool major);
  std::vector<uint64_t> reachable() const;  // sorted

  std::unordered_map<uint64_t, Object> objects_;
  std::vector<uint64_t> roots_;
  uint64_t next_id_ = 1;
};

}  // namespace vmmem::scenario::gc
