// gc::Heap: a precise, generational, stop-the-world garbage-collected heap for one mutator
// thread. The public surface of src/gc.
//
// Objects have a shape (shape.h: reference slots + raw bytes, arrays of either of any length)
// and are named across safepoints by handles (handle.h) that the collector updates when
// objects move. A safepoint is new_object / allocate_raw, minor() and major(): only there do
// objects move or die. Raw Object* pointers (the fast path below) are valid until the next one.
//
// Spaces (each its own file, driven by the collector):
//   - young generation: the nursery, where new objects are bump-allocated from an allocation
//     buffer (Tlab), and two survivor spaces. A minor collection copies the live young objects
//     (Cheney order) to the empty survivor space, or into the old generation once they have
//     survived Options::promotion_age minor collections.
//   - old generation: chunks from src/alloc (card_table.h), cells of size classes; objects are
//     never moved there; a major collection marks (explicit work list) and sweeps.
//   - large-object space: objects of at least Options::large_object_bytes, one chunk each,
//     allocated old; swept by major collections.
// Write barrier: store_slot marks the card of the slot when an old (or large) holder receives
// a young value; a minor collection scans only dirty cards of the old generation.
//
// Thread safety: none. One thread uses a Heap at a time (the allocation buffer and the mark
// work list are per-heap objects shaped so they can become per-thread).
//
// Invariants (verify() checks each, with its own heap walk, independent of the collector):
//   1. Every reference slot of every object in every space, and every root cell (live local
//      or persistent handle), is null or the start of a live object of this heap (object.h).
//   2. Young objects lie in the nursery below its top or in the current survivor space below
//      its top; every header there is valid (known shape, length 0 for fixed shapes, age
//      <= promotion age - 1 in survivor space, fits its space); none is forwarded or marked.
//   3. Every old object sits on a cell boundary of its chunk's size class; every other cell is
//      free (shape 0); large objects are one per chunk at its object offset.
//   4. Every slot of an old or large object that holds a young object lies on a dirty card.
//   5. After major(), every object in the old generation and the large-object space is
//      reachable from the roots (nothing unreachable remains).
//   6. Space accounting: old_bytes and large_bytes equal the sums of the object sizes a walk
//      finds; young (nursery and survivor bytes in use) + old + large <= heap_limit_bytes.
//   7. The persistent cells' free list links exactly the released cells, once each; the
//      nursery size stays within [min_nursery_bytes, max_nursery_bytes].
//
// Errors are Status codes with the value that was wrong; a refused call changes nothing.
// Handle checks, in this order, for every handle argument that must name an object:
//   the null handle -> kInvalidArgument ("null handle"); another heap's tag ->
//   kInvalidArgument; a local whose index is not below the open handles -> kNotFound; a
//   persistent handle released (or never made) -> kNotFound; a cell holding null where an
//   object is required -> kInvalidArgument ("null reference").
// new_object: unknown shape -> kNotFound; length != 0 for a fixed shape, or length >
//   kMaxArrayLength -> kInvalidArgument; object bigger than heap_limit_bytes -> kOutOfMemory;
//   no room after collecting (or the OS refused memory) -> kOutOfMemory.
// store: holder handle checks; slot >= ref count -> kInvalidArgument (address = slot, size =
//   ref count); value handle checks (Handle{} is the null value, allowed).
// store_pointer: as store, then a value that is not null and not the start of a live object of
//   this heap -> kInvalidArgument ("not an object of this heap").
// load: holder handle checks; slot out of range as store.
// write_bytes / read_bytes: holder handle checks; offset + size > raw size (or wraps) ->
//   kInvalidArgument (address = offset, size = size).
// make_persistent / local: handle checks unless Handle{}. info: handle checks. release / assign:
// handle checks on the
//   target (must be persistent for release: a local -> kInvalidArgument), then on the value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gc/card_table.h"
#include "gc/handle.h"
#include "gc/object.h"
#include "gc/options.h"
#include "gc/shape.h"
#include "gc/stats.h"
#include "support/status.h"

namespace vmmem::gc {

class ChunkSource;
class Collector;
class Verifier;
class YoungSpace;
class OldSpace;
class LargeObjectSpace;
class Pacer;
class StatsRecorder;

enum class Space : uint8_t { kNone, kNursery, kSurvivor, kOld, kLarge };
std::string_view to_string(Space space);

struct ObjectInfo {
  ShapeId shape = kNoShape;
  uint32_t length = 0;
  uint64_t ref_count = 0;
  uint64_t raw_size = 0;
  uint64_t size = 0;  // bytes, header included
  uint32_t age = 0;
  Space space = Space::kNone;
};

class alignas(4096) Heap {
 public:
  // A heap with `options`, or kInvalidArgument naming the first bad option (promotion_age not
  // 1..15, min > initial > max nursery, nursery sizes below 64 KiB, large_object_bytes below
  // 256 or above the chunk payload, growth_factor <= 1, heap limit below the nursery), or
  // kOutOfMemory when the young generation cannot be reserved.
  static Result<std::unique_ptr<Heap>> create(const Options& options = {});
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // --- shapes ---
  // kInvalidArgument for an empty name or too many shapes; kConflict when the name is taken.
  Result<ShapeId> register_shape(const ShapeSpec& spec);
  Result<ShapeId> find_shape(std::string_view name) const;  // kNotFound
  // Null when `id` names no shape.
  const ShapeInfo* shape_info(ShapeId id) const {
    return id != kNoShape && id < shapes_.size() ? &shapes_[id] : nullptr;
  }
  std::string_view shape_name(ShapeId id) const;

  // --- allocation (safepoints) ---
  // A zeroed object (null slots, zero bytes) of `shape` with `length` array elements, as a new
  // local handle.
  Result<Handle> new_object(ShapeId shape, uint64_t length = 0);
  // The fast path: the same object as a raw pointer, or null when refused (new_object says
  // why). Inline: a shape-table read, a size computation and a bump in the allocation buffer.
  Object* allocate_raw(ShapeId shape, uint64_t length = 0) {
    if (__builtin_expect(shape != kNoShape && shape < shapes_.size() && length <= kMaxArrayLength,
                         1)) {
      const ShapeInfo& info = shapes_[shape];
      const uint64_t size = object_size(info, length);
      std::byte* top = tlab_.top;
      if (__builtin_expect(size < options_.large_object_bytes &&
                               size <= static_cast<uint64_t>(tlab_.limit - top) &&
                               (length == 0 || info.array != ArrayKind::kNone),
                           1)) {
        tlab_.top = top + size;
        Object* object = reinterpret_cast<Object*>(top);
        object->set_header_word(header::make(shape, static_cast<uint32_t>(length)));
        return object;  // the buffer was zeroed when it was handed out
      }
    }
    return allocate_slow(shape, length);
  }

  // --- handles ---
  // A new local handle for the object (or null) `handle` names; Handle{} gives a local holding
  // null.
  Result<Handle> local(Handle handle);
  // A local handle for a raw object pointer. REQUIRES: null or a live object of this heap.
  Handle local_for(Object* object) {
    locals_.push_back(object);
    return Handle::make(tag_, false, 0, static_cast<uint32_t>(locals_.size() - 1));
  }
  // A persistent handle (a global root) for the object (or null) `handle` names; Handle{} gives
  // one holding null.
  Result<Handle> make_persistent(Handle handle);
  // Drops a persistent handle; its object may die at the next collection.
  Status release(Handle persistent);
  // Points the cell of `target` (local or persistent) at what `value` names (Handle{}: null).
  Status assign(Handle target, Handle value);
  // The object a valid handle names now (null for a null reference). REQUIRES: the handle
  // passes the handle checks (the checked form is deref()).
  Object* raw(Handle handle) const {
    return handle.is_persistent() ? persistent_[handle.index()].object : locals_[handle.index()];
  }
  Result<Object*> deref(Handle handle) const;
  // Whether two handles name the same object (or both null). Both must pass the handle checks.
  Result<bool> same(Handle a, Handle b) const;
  // Open local handles (the innermost scope's top), for tests.
  uint32_t open_locals() const { return static_cast<uint32_t>(locals_.size()); }

  // --- slots and bytes (checked) ---
  Status store(Handle holder, uint64_t slot, Handle value);
  Status store_pointer(Handle holder, uint64_t slot, const Object* value);
  // A new local handle for what the slot holds (Handle{} when null).
  Result<Handle> load(Handle holder, uint64_t slot);
  Status write_bytes(Handle holder, uint64_t offset, std::span<const std::byte> bytes);
  Status read_bytes(Handle holder, uint64_t offset, std::span<std::byte> out) const;
  Result<ObjectInfo> info(Handle handle) const;

  // --- slots and bytes (raw fast path; REQUIRES live objects and slot < ref count) ---
  static Object* load_slot(const Object* holder, uint64_t slot) { return holder->slots()[slot]; }
  // The write barrier: the store, then, when an old or large holder receives a young value,
  // its card marked dirty. The holder is tested first: most stores initialise young objects,
  // and those end after one range check.
  void store_slot(Object* holder, uint64_t slot, Object* value) {
    Object** field = holder->slots() + slot;
    *field = value;
    if (__builtin_expect(!is_young(holder) && is_young(value), 0)) *card_of(holder, field) = 1;
  }
  // The raw bytes of a live object.
  std::byte* raw_bytes(Object* object) const {
    return object->raw(ref_count(shapes_[object->shape()], object->length()));
  }
  ObjectInfo info(const Object* object) const;
  bool is_young(const void* p) const {
    return reinterpret_cast<uintptr_t>(p) - young_base_ < young_reserved_;
  }

  // --- collections ---
  // A minor collection now. kOutOfMemory when the old generation could not take the promoted
  // objects (then a major collection ran and the heap is still sound).
  Status minor();
  // A full collection: a minor one that promotes every survivor, then mark and sweep of the old
  // generation and the large-object space.
  Status major();
  // Checks invariants 1-4, 6 and 7 (5 holds right after major(); verify_after_major() checks
  // it too). The first violation found (kBrokenInvariant naming it), or ok.
  Status verify() const;
  Status verify_after_major() const;

  // --- the object graph, for models and statistics ---
  // Calls visit(object) once for each object reachable from the roots, breadth-first from the
  // root cells in order (locals, then persistent cells by index), slots in order. It walks the
  // heap with the verifier's index. REQUIRES: the heap is sound (a VMM_CHECK stops the process
  // otherwise; call verify() first where corruption is possible).
  void visit_reachable(const std::function<void(const Object*)>& visit) const;
  // Whether `p` is the start of a live object of this heap (a walk of its space; not fast).
  bool contains(const void* p) const;
  Space space_of(const void* p) const;
  // Card state of `slot` of an old or large object (tests of the barrier).
  bool card_dirty(const Object* holder, uint64_t slot) const;

  HeapStats stats() const;
  const Options& options() const { return options_; }
  // Safepoints passed (collections run). A raw pointer taken at epoch e is stale once this
  // differs from e.
  uint64_t epoch() const { return epoch_; }
  // Test hook: the next `count` requests for memory from the OS (old chunks, large objects)
  // fail as if the OS had refused.
  void fail_next_os_calls(uint32_t count);

 private:
  friend class HandleScope;
  friend class Collector;
  friend class Verifier;

  struct Tlab {
    std::byte* top = nullptr;
    std::byte* limit = nullptr;
  };
  struct PersistentCell {
    Object* object = nullptr;
    uint32_t generation = 0;
    bool live = false;
    uint32_t next_free = 0;
  };

  explicit Heap(const Options& options);
  Object* allocate_slow(ShapeId shape, uint64_t length);
  Object* allocate_in_nursery(uint64_t size, uint64_t header_word);
  // Gives the rest of the allocation buffer back (a filler) and empties it.
  void retire_buffer();
  // Where the parsable part of the nursery ends: the current buffer's top, or the nursery top.
  std::byte* nursery_parse_end() const;
  Status collect(CollectionKind kind);
  // A minor collection for an allocation, and a major one when the pacer says it is due.
  Status collect_for_allocation();
  uint64_t used_bytes() const;
  uint64_t cycle_allocated_bytes() const;
  Status check_handle(Handle handle) const;
  // The object a handle names, after the handle checks and the non-null check.
  Result<Object*> holder_of(Handle handle) const;
  Result<Object*> value_of(Handle value) const;  // Handle{} -> null
  Object*& cell(Handle handle) {
    return handle.is_persistent() ? persistent_[handle.index()].object : locals_[handle.index()];
  }

  // The fields the inline fast paths read (the barrier's young-generation bounds, the
  // allocation buffer) come first, at offsets 0..31 of the heap's page-aligned object. Card
  // bytes sit 64 bytes or more into a chunk's first page, so the barrier's card store and the
  // next barrier's loads of these bounds never share the low 12 bits of their addresses, which
  // the CPU can take for a dependence (4K aliasing). With the object wherever malloc put it, the
  // old-holder barrier bench ran anywhere from 71 to 142 ns between builds.
  uintptr_t young_base_ = 0;
  uint64_t young_reserved_ = 0;
  Tlab tlab_;
  Options options_;
  uint32_t tag_;
  std::vector<ShapeInfo> shapes_;  // [0] unused (kNoShape)
  std::vector<std::string> shape_names_;
  std::vector<Object*> locals_;
  std::vector<PersistentCell> persistent_;
  uint32_t free_persistent_ = UINT32_MAX;
  uint64_t epoch_ = 0;
  uint64_t allocated_total_ = 0;    // bytes allocated before the current cycle
  uint64_t large_this_cycle_ = 0;   // large-object bytes allocated in the current cycle
  uint64_t filler_this_cycle_ = 0;  // nursery bytes given back as fillers in the current cycle
  uint64_t forced_countdown_ = 0;   // DebugOptions::gc_every_n_allocations
  uint64_t forced_collections_ = 0;

  std::unique_ptr<ChunkSource> chunk_source_;  // before the spaces that use it
  std::unique_ptr<YoungSpace> young_;
  std::unique_ptr<OldSpace> old_;
  std::unique_ptr<LargeObjectSpace> large_;
  std::unique_ptr<Pacer> pacer_;
  std::unique_ptr<StatsRecorder> stats_;
  std::unique_ptr<Collector> collector_;
};

inline HandleScope::HandleScope(Heap& heap) : heap_(heap), saved_top_(heap.open_locals()) {}
inline HandleScope::~HandleScope() {
  heap_.locals_.resize(saved_top_);
}

}  // namespace vmmem::gc
