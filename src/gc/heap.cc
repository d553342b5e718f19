#include "gc/heap.h"

#include <time.h>

#include <atomic>
#include <cstdio>

#include "gc/chunk.h"
#include "gc/collector.h"
#include "gc/large_object_space.h"
#include "gc/old_space.h"
#include "gc/pacer.h"
#include "gc/stats_recorder.h"
#include "gc/verifier.h"
#include "gc/young_space.h"
#include "support/check.h"

namespace vmmem::gc {

namespace {

std::atomic<uint32_t> next_heap_tag{1};

// A process-unique tag (24 bits, never 0) so handles of one heap are refused by another.
uint32_t fresh_tag() {
  for (;;) {
    const uint32_t tag = next_heap_tag.fetch_add(1, std::memory_order_relaxed) & 0xffffff;
    if (tag != 0) return tag;
  }
}

uint64_t monotonic_ns(void*) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

constexpr uint64_t kMinNursery = 64 << 10;

Status invalid(const char* what, uint64_t value = 0) {
  return Status::error(ErrorCode::kInvalidArgument, what, value);
}

Status validate(const Options& o) {
  if (o.promotion_age < 1 || o.promotion_age > kMaxAge) {
    return invalid("gc options: promotion_age must be 1..15", o.promotion_age);
  }
  if (o.min_nursery_bytes < kMinNursery || o.min_nursery_bytes % 4096 != 0) {
    return invalid("gc options: min_nursery_bytes must be a multiple of 4 KiB, >= 64 KiB",
                   o.min_nursery_bytes);
  }
  if (o.nursery_bytes < o.min_nursery_bytes || o.nursery_bytes % 4096 != 0) {
    return invalid("gc options: nursery_bytes must be a multiple of 4 KiB, >= min_nursery_bytes",
                   o.nursery_bytes);
  }
  if (o.max_nursery_bytes < o.nursery_bytes || o.max_nursery_bytes % 4096 != 0 ||
      o.max_nursery_bytes > (uint64_t{1} << 40)) {
    return invalid("gc options: max_nursery_bytes must be a multiple of 4 KiB, >= nursery_bytes",
                   o.max_nursery_bytes);
  }
  if (o.large_object_bytes < 256 || o.large_object_bytes > kMaxCellSize) {
    return invalid("gc options: large_object_bytes must be 256 .. 32 KiB", o.large_object_bytes);
  }
  if (o.heap_limit_bytes < o.nursery_bytes) {
    return invalid("gc options: heap_limit_bytes below the nursery", o.heap_limit_bytes);
  }
  if (!(o.growth_factor > 1.0)) return invalid("gc options: growth_factor must be > 1");
  if (!(o.pause_target_ms >= 0)) return invalid("gc options: pause_target_ms must be >= 0");
  return kOkStatus;
}

}  // namespace

std::string_view to_string(Space space) {
  switch (space) {
    case Space::kNone:
      return "none";
    case Space::kNursery:
      return "nursery";
    case Space::kSurvivor:
      return "survivor";
    case Space::kOld:
      return "old";
    case Space::kLarge:
      return "large";
  }
  return "?";
}

Result<std::unique_ptr<Heap>> Heap::create(const Options& options) {
  if (Status status = validate(options); !status.ok()) return status;
  std::unique_ptr<Heap> heap(new Heap(options));
  heap->young_ =
      YoungSpace::create(options.max_nursery_bytes, options.nursery_bytes, options.debug.poison);
  if (heap->young_ == nullptr) {
    return Status::error(ErrorCode::kOutOfMemory, "gc: cannot reserve the young generation", 0,
                         options.max_nursery_bytes);
  }
  heap->young_base_ = heap->young_->base();
  heap->young_reserved_ = heap->young_->reserved();
  heap->chunk_source_ = std::make_unique<ChunkSource>();
  heap->old_ = std::make_unique<OldSpace>(*heap->chunk_source_, options.debug.poison);
  heap->large_ = std::make_unique<LargeObjectSpace>(*heap->chunk_source_, options.debug.poison);
  PacerConfig pacer;
  pacer.pause_target_ms = options.pause_target_ms;
  pacer.initial_nursery = options.nursery_bytes;
  pacer.min_nursery = options.min_nursery_bytes;
  pacer.max_nursery = options.max_nursery_bytes;
  pacer.growth_factor = options.growth_factor;
  pacer.min_major_trigger = options.min_major_trigger_bytes;
  heap->pacer_ = std::make_unique<Pacer>(pacer);
  heap->stats_ = std::make_unique<StatsRecorder>(options.stats_history);
  heap->collector_ = std::make_unique<Collector>(*heap);
  return heap;
}

Heap::Heap(const Options& options)
    : options_(options), tag_(fresh_tag()), shapes_(1), shape_names_(1) {
  if (options_.clock == nullptr) options_.clock = monotonic_ns;
}

Heap::~Heap() = default;

// --- shapes ---

Result<ShapeId> Heap::register_shape(const ShapeSpec& spec) {
  if (spec.name.empty()) return invalid("gc: a shape needs a name");
  if (shapes_.size() > kMaxShapes) return invalid("gc: too many shapes", shapes_.size());
  if (find_shape(spec.name).ok()) {
    return Status::error(ErrorCode::kConflict, "gc: a shape of that name exists",
                         find_shape(spec.name).value());
  }
  shapes_.push_back(ShapeInfo{spec.ref_slots, spec.raw_bytes, spec.array});
  shape_names_.push_back(spec.name);
  return static_cast<ShapeId>(shapes_.size() - 1);
}

Result<ShapeId> Heap::find_shape(std::string_view name) const {
  for (size_t id = 1; id < shape_names_.size(); ++id) {
    if (shape_names_[id] == name) return static_cast<ShapeId>(id);
  }
  return Status::error(ErrorCode::kNotFound, "gc: no shape of that name");
}

std::string_view Heap::shape_name(ShapeId id) const {
  return shape_info(id) == nullptr ? std::string_view() : std::string_view(shape_names_[id]);
}

// --- allocation ---

Result<Handle> Heap::new_object(ShapeId shape, uint64_t length) {
  const ShapeInfo* info = shape_info(shape);
  if (info == nullptr) return Status::error(ErrorCode::kNotFound, "gc: unknown shape", shape);
  if (info->array == ArrayKind::kNone && length != 0) {
    return Status::error(ErrorCode::kInvalidArgument, "gc: array length for a fixed shape", shape,
                         length);
  }
  if (length > kMaxArrayLength) {
    return Status::error(ErrorCode::kInvalidArgument, "gc: array longer than 2^32 - 1", shape,
                         length);
  }
  const uint64_t size = object_size(*info, length);
  if (size > options_.heap_limit_bytes) {
    return Status::error(ErrorCode::kOutOfMemory, "gc: object larger than the heap limit", shape,
                         size);
  }
  Object* object = allocate_raw(shape, length);
  if (object == nullptr) {
    return Status::error(ErrorCode::kOutOfMemory, "gc: no room for the object after collecting",
                         shape, size);
  }
  return local_for(object);
}

Object* Heap::allocate_slow(ShapeId shape, uint64_t length) {
  const ShapeInfo* info = shape_info(shape);
  if (info == nullptr || length > kMaxArrayLength ||
      (info->array == ArrayKind::kNone && length != 0)) {
    return nullptr;
  }
  const uint64_t size = object_size(*info, length);
  if (size > options_.heap_limit_bytes) return nullptr;
  const uint64_t every = options_.debug.gc_every_n_allocations;
  if (every != 0 && ++forced_countdown_ >= every) {
    forced_countdown_ = 0;
    ++forced_collections_;
    // A refusal here is reported by the allocation itself if it finds no room.
    (void)collect(forced_collections_ % 8 == 0 ? CollectionKind::kMajor : CollectionKind::kMinor);
  }
  const uint64_t word = header::make(shape, static_cast<uint32_t>(length));
  for (int attempt = 0;; ++attempt) {
    if (size >= options_.large_object_bytes) {
      if (used_bytes() + size <= options_.heap_limit_bytes) {
        if (Object* object = large_->allocate(size, word)) {
          large_this_cycle_ += size;
          return object;
        }
      }
    } else if (Object* object = allocate_in_nursery(size, word)) {
      return object;
    }
    // No room: a minor collection (and a major one when due), then a major one, then refuse.
    if (attempt == 0) {
      if (!collect_for_allocation().ok()) (void)collect(CollectionKind::kMajor);
    } else if (attempt == 1) {
      (void)collect(CollectionKind::kMajor);
    } else {
      return nullptr;
    }
  }
}

Object* Heap::allocate_in_nursery(uint64_t size, uint64_t header_word) {
  retire_buffer();
  const uint64_t used = used_bytes();
  if (size > young_->nursery_free() || used + size > options_.heap_limit_bytes) return nullptr;
  uint64_t bytes = size;
  if (options_.debug.gc_every_n_allocations == 0) {
    bytes = std::max(size, kTlabBytes);
    bytes = std::min(bytes, young_->nursery_free());
    bytes = std::min(bytes, options_.heap_limit_bytes - used);
  }
  std::byte* buffer = young_->take(bytes);
  Object* object = reinterpret_cast<Object*>(buffer);
  object->set_header_word(header_word);
  // With forced collections the buffer stays empty, so every allocation comes here to count.
  tlab_.top = buffer + size;
  tlab_.limit = buffer + bytes;
  if (options_.debug.gc_every_n_allocations != 0) tlab_.top = tlab_.limit;
  return object;
}

void Heap::retire_buffer() {
  if (tlab_.top == nullptr) return;
  filler_this_cycle_ += static_cast<uint64_t>(tlab_.limit - tlab_.top);
  young_->give_back(tlab_.top, tlab_.limit);
  tlab_ = Tlab{};
}

std::byte* Heap::nursery_parse_end() const {
  return tlab_.top != nullptr ? tlab_.top : young_->nursery_top();
}

uint64_t Heap::used_bytes() const {
  return young_->nursery_used() + young_->survivor_used() + old_->object_bytes() +
         large_->object_bytes();
}

uint64_t Heap::cycle_allocated_bytes() const {
  const uint64_t unused_buffer = static_cast<uint64_t>(tlab_.limit - tlab_.top);
  return young_->nursery_used() - filler_this_cycle_ - unused_buffer + large_this_cycle_;
}

// --- collections ---

Status Heap::minor() {
  return collect(CollectionKind::kMinor);
}
Status Heap::major() {
  return collect(CollectionKind::kMajor);
}

Status Heap::collect_for_allocation() {
  Status status = collect(CollectionKind::kMinor);
  if (!status.ok()) return status;
  if (pacer_->major_due(old_->object_bytes() + large_->object_bytes())) {
    return collect(CollectionKind::kMajor);
  }
  return kOkStatus;
}

Status Heap::collect(CollectionKind kind) {
  if (options_.debug.verify_before_gc) {
    const Status status = verify();
    if (!status.ok()) std::fprintf(stderr, "gc: before collection: %s\n", status.message().c_str());
    VMM_CHECK(status.ok(), "gc: heap unsound before a collection (debug.verify_before_gc)");
  }
  CollectionStats stats;
  stats.kind = kind;
  stats.index = stats_->collections() + 1;
  stats.allocated_bytes = cycle_allocated_bytes();
  stats.nursery_bytes = young_->nursery_size();
  const uint64_t start = options_.clock(options_.clock_context);

  retire_buffer();
  Status status = collector_->evacuate(kind == CollectionKind::kMajor, &stats);
  if (!status.ok()) return status;
  young_->finish_minor();
  if (kind == CollectionKind::kMajor) collector_->mark_and_sweep(&stats);

  stats.pause_ns = options_.clock(options_.clock_context) - start;
  stats.old_bytes_after = old_->object_bytes() + large_->object_bytes();
  ++epoch_;
  allocated_total_ += stats.allocated_bytes;
  large_this_cycle_ = 0;
  filler_this_cycle_ = 0;
  stats_->record(stats);
  if (kind == CollectionKind::kMinor) {
    pacer_->on_minor(stats.nursery_bytes, stats.survived_bytes + stats.promoted_bytes,
                     stats.pause_ns);
    if (options_.pause_target_ms > 0) young_->resize_nursery(pacer_->nursery_bytes());
  } else {
    pacer_->on_major(stats.old_bytes_after);
  }
  if (options_.debug.verify_after_gc) {
    const Status check = kind == CollectionKind::kMajor ? verify_after_major() : verify();
    if (!check.ok()) std::fprintf(stderr, "gc: after collection: %s\n", check.message().c_str());
    VMM_CHECK(check.ok(), "gc: heap unsound after a collection (debug.verify_after_gc)");
  }
  return kOkStatus;
}

Status Heap::verify() const {
  return Verifier(*this).run(false);
}
Status Heap::verify_after_major() const {
  return Verifier(*this).run(true);
}

void Heap::visit_reachable(const std::function<void(const Object*)>& visit) const {
  Verifier(*this).for_each_reachable(visit);
}

// --- handles ---

Status Heap::check_handle(Handle handle) const {
  if (handle.is_null()) return Status::error(ErrorCode::kInvalidArgument, "gc: null handle");
  if (handle.heap_tag() != tag_) {
    return Status::error(ErrorCode::kInvalidArgument, "gc: handle of another heap",
                         handle.heap_tag(), tag_);
  }
  if (!handle.is_persistent()) {
    if (handle.index() >= locals_.size()) {
      return Status::error(ErrorCode::kNotFound, "gc: local handle outside the open scopes",
                           handle.index(), locals_.size());
    }
    return kOkStatus;
  }
  if (handle.index() >= persistent_.size() || !persistent_[handle.index()].live ||
      (persistent_[handle.index()].generation & Handle::kGenerationMask) != handle.generation()) {
    return Status::error(ErrorCode::kNotFound, "gc: persistent handle released or never made",
                         handle.index());
  }
  return kOkStatus;
}

Result<Object*> Heap::holder_of(Handle handle) const {
  if (Status status = check_handle(handle); !status.ok()) return status;
  Object* object = raw(handle);
  if (object == nullptr) {
    return Status::error(ErrorCode::kInvalidArgument,
                         "gc: null reference where an object is needed", handle.index());
  }
  return object;
}

Result<Object*> Heap::value_of(Handle value) const {
  if (value.is_null()) return static_cast<Object*>(nullptr);
  if (Status status = check_handle(value); !status.ok()) return status;
  return raw(value);
}

Result<Object*> Heap::deref(Handle handle) const {
  if (Status status = check_handle(handle); !status.ok()) return status;
  return raw(handle);
}

Result<Handle> Heap::local(Handle handle) {
  Result<Object*> object = value_of(handle);
  if (!object.ok()) return object.status();
  return local_for(object.value());
}

Result<Handle> Heap::make_persistent(Handle handle) {
  Result<Object*> object = value_of(handle);
  if (!object.ok()) return object.status();
  uint32_t index;
  if (free_persistent_ != UINT32_MAX) {
    index = free_persistent_;
    free_persistent_ = persistent_[index].next_free;
  } else {
    if (persistent_.size() >= UINT32_MAX - 1) {
      return Status::error(ErrorCode::kOutOfMemory, "gc: too many persistent handles");
    }
    index = static_cast<uint32_t>(persistent_.size());
    persistent_.push_back(PersistentCell{});
  }
  PersistentCell& cell = persistent_[index];
  cell.object = object.value();
  cell.live = true;
  return Handle::make(tag_, true, cell.generation, index);
}

Status Heap::release(Handle persistent) {
  if (Status status = check_handle(persistent); !status.ok()) return status;
  if (!persistent.is_persistent()) {
    return Status::error(ErrorCode::kInvalidArgument, "gc: release of a local handle",
                         persistent.index());
  }
  PersistentCell& cell = persistent_[persistent.index()];
  cell.object = nullptr;
  cell.live = false;
  ++cell.generation;
  cell.next_free = free_persistent_;
  free_persistent_ = persistent.index();
  return kOkStatus;
}

Status Heap::assign(Handle target, Handle value) {
  if (Status status = check_handle(target); !status.ok()) return status;
  Result<Object*> object = value_of(value);
  if (!object.ok()) return object.status();
  cell(target) = object.value();
  return kOkStatus;
}

Result<bool> Heap::same(Handle a, Handle b) const {
  Result<Object*> first = deref(a);
  if (!first.ok()) return first.status();
  Result<Object*> second = deref(b);
  if (!second.ok()) return second.status();
  return first.value() == second.value();
}

// --- slots and bytes ---

namespace {
Status slot_out_of_range(uint64_t slot, uint64_t refs) {
  return Status::error(ErrorCode::kInvalidArgument, "gc: reference slot out of range", slot, refs);
}
}  // namespace

Status Heap::store(Handle holder, uint64_t slot, Handle value) {
  Result<Object*> object = holder_of(holder);
  if (!object.ok()) return object.status();
  const uint64_t refs = ref_count(shapes_[object.value()->shape()], object.value()->length());
  if (slot >= refs) return slot_out_of_range(slot, refs);
  Result<Object*> target = value_of(value);
  if (!target.ok()) return target.status();
  store_slot(object.value(), slot, target.value());
  return kOkStatus;
}

Status Heap::store_pointer(Handle holder, uint64_t slot, const Object* value) {
  Result<Object*> object = holder_of(holder);
  if (!object.ok()) return object.status();
  const uint64_t refs = ref_count(shapes_[object.value()->shape()], object.value()->length());
  if (slot >= refs) return slot_out_of_range(slot, refs);
  if (value != nullptr && !contains(value)) {
    return Status::error(ErrorCode::kInvalidArgument, "gc: not an object of this heap",
                         reinterpret_cast<uintptr_t>(value));
  }
  store_slot(object.value(), slot, const_cast<Object*>(value));
  return kOkStatus;
}

Result<Handle> Heap::load(Handle holder, uint64_t slot) {
  Result<Object*> object = holder_of(holder);
  if (!object.ok()) return object.status();
  const uint64_t refs = ref_count(shapes_[object.value()->shape()], object.value()->length());
  if (slot >= refs) return slot_out_of_range(slot, refs);
  Object* target = load_slot(object.value(), slot);
  if (target == nullptr) return Handle{};
  return local_for(target);
}

namespace {
Status bytes_out_of_range(uint64_t offset, uint64_t size) {
  return Status::error(ErrorCode::kInvalidArgument, "gc: byte range outside the raw bytes", offset,
                       size);
}
}  // namespace

Status Heap::write_bytes(Handle holder, uint64_t offset, std::span<const std::byte> bytes) {
  Result<Object*> object = holder_of(holder);
  if (!object.ok()) return object.status();
  const uint64_t raw = raw_size(shapes_[object.value()->shape()], object.value()->length());
  if (offset > raw || bytes.size() > raw - offset) return bytes_out_of_range(offset, bytes.size());
  if (!bytes.empty()) std::memcpy(raw_bytes(object.value()) + offset, bytes.data(), bytes.size());
  return kOkStatus;
}

Status Heap::read_bytes(Handle holder, uint64_t offset, std::span<std::byte> out) const {
  Result<Object*> object = holder_of(holder);
  if (!object.ok()) return object.status();
  const uint64_t raw = raw_size(shapes_[object.value()->shape()], object.value()->length());
  if (offset > raw || out.size() > raw - offset) return bytes_out_of_range(offset, out.size());
  if (!out.empty()) std::memcpy(out.data(), raw_bytes(object.value()) + offset, out.size());
  return kOkStatus;
}

ObjectInfo Heap::info(const Object* object) const {
  ObjectInfo info;
  info.shape = object->shape();
  info.length = object->length();
  const ShapeInfo& shape = shapes_[info.shape];
  info.ref_count = ref_count(shape, info.length);
  info.raw_size = raw_size(shape, info.length);
  info.size = object_size(shape, info.length);
  info.age = object->age();
  info.space = space_of(object);
  return info;
}

Result<ObjectInfo> Heap::info(Handle handle) const {
  Result<Object*> object = holder_of(handle);
  if (!object.ok()) return object.status();
  return info(object.value());
}

// --- queries ---

bool Heap::contains(const void* p) const {
  if (p == nullptr || reinterpret_cast<uintptr_t>(p) % kObjectAlignment != 0) return false;
  if (is_young(p)) {
    // Walk the space that holds p, up to p.
    const std::byte* begin;
    const std::byte* end;
    bool fillers;
    if (young_->in_nursery(p)) {
      begin = young_->nursery_begin();
      end = nursery_parse_end();
      fillers = true;
    } else if (young_->in_from_survivor(p)) {
      begin = young_->from_begin();
      end = young_->from_top();
      fillers = false;
    } else {
      return false;
    }
    for (const std::byte* q = begin; q < end && q <= p;) {
      const Object* object = reinterpret_cast<const Object*>(q);
      if (fillers && object->shape() == kNoShape) {
        q += object->length();
        continue;
      }
      if (q == p) return true;
      q += size_of(shapes_, object);
    }
    return false;
  }
  return old_->object_at(p) != nullptr || large_->object_at(p) != nullptr;
}

Space Heap::space_of(const void* p) const {
  if (is_young(p)) {
    if (young_->in_nursery(p)) return Space::kNursery;
    if (young_->in_from_survivor(p)) return Space::kSurvivor;
    return Space::kNone;
  }
  if (old_->owns_chunk(chunk_base_of(p))) return Space::kOld;
  if (large_->object_at(p) != nullptr) return Space::kLarge;
  return Space::kNone;
}

bool Heap::card_dirty(const Object* holder, uint64_t slot) const {
  if (is_young(holder)) return false;
  return *card_of(holder, holder->slots() + slot) != kCardClean;
}

HeapStats Heap::stats() const {
  HeapStats out;
  out.allocated_bytes = allocated_total_ + cycle_allocated_bytes();
  out.young_bytes = young_->nursery_used() + young_->survivor_used();
  out.old_bytes = old_->object_bytes();
  out.large_bytes = large_->object_bytes();
  out.nursery_bytes = young_->nursery_size();
  out.pacer_settled_after = pacer_->settled_after();
  out.pacer_first_settled_after = pacer_->first_settled_after();
  out.pacer_sampled_after_settling = pacer_->sampled_after_settling();
  out.pacer_in_band_after_settling = pacer_->in_band_after_settling();
  stats_->fill(&out);
  return out;
}

void Heap::fail_next_os_calls(uint32_t count) {
  chunk_source_->fail_next(count);
}

}  // namespace vmmem::gc
