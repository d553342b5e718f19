#include "scenario/gc/executor.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "gc/card_table.h"
#include "gc/chunk.h"
#include "scenario/common/model_checker.h"
#include "scenario/common/runner.h"
#include "scenario/gc/model.h"
#include "scenario/gc/payload.h"
#include "support/check.h"

namespace vmmem::scenario::gc {
namespace {

using vmmem::gc::Handle;
using vmmem::gc::HandleScope;
using vmmem::gc::Heap;
using vmmem::gc::Object;

// Memory no heap owns, for foreign stores.
alignas(64) uint64_t foreign_memory[8];

vmmem::gc::ShapeSpec spec_for(uint8_t shape) {
  const ShapeSize size = shape_size(shape, 0);
  vmmem::gc::ShapeSpec spec;
  spec.ref_slots = static_cast<uint32_t>(size.refs);
  spec.raw_bytes = static_cast<uint32_t>(size.payload);
  switch (shape) {
    case kPair:
      spec.name = "pair";
      break;
    case kNode:
      spec.name = "node";
      break;
    case kLeaf:
      spec.name = "leaf";
      break;
    case kWide:
      spec.name = "wide";
      break;
    case kRefArray:
      spec.name = "ref-array";
      spec.array = vmmem::gc::ArrayKind::kRefs;
      break;
    default:
      spec.name = "byte-array";
      spec.array = vmmem::gc::ArrayKind::kBytes;
  }
  return spec;
}

}  // namespace

vmmem::gc::Options options_for(const Config& config) {
  vmmem::gc::Options options;
  options.nursery_bytes = config.paced_nursery ? uint64_t{64} << 10 : uint64_t{512} << 10;
  options.min_nursery_bytes = uint64_t{64} << 10;
  options.max_nursery_bytes = config.paced_nursery ? uint64_t{1} << 20 : options.nursery_bytes;
  if (config.paced_nursery) options.pause_target_ms = 1;
  options.promotion_age = config.promotion_age;
  // Low enough that an input whose allocation fills the nursery while a few hundred KiB are
  // old gets the major collection the pacer then asks for, from the allocation slow path.
  options.min_major_trigger_bytes = uint64_t{64} << 10;
  options.heap_limit_bytes = kHeapLimit;
  options.debug.verify_before_gc = config.verify_each_gc;
  options.debug.verify_after_gc = config.verify_each_gc;
  options.debug.gc_every_n_allocations = config.gc_every;
  options.debug.poison = true;
  return options;
}

vmmem::gc::Options options_for(const CreateHeap& op) {
  vmmem::gc::Options options;
  const uint64_t kib = uint64_t{op.value} << 10;
  switch (op.field) {
    case OptionField::kPromotionAge:
      options.promotion_age = op.value % 20;
      break;
    case OptionField::kMinNursery:
      options.min_nursery_bytes = kib;
      break;
    case OptionField::kNursery:
      options.nursery_bytes = kib;
      break;
    case OptionField::kMaxNursery:
      options.max_nursery_bytes = kib;
      break;
    case OptionField::kLargeObject:
      options.large_object_bytes = op.value;
      break;
    case OptionField::kHeapLimit:
      options.heap_limit_bytes = kib;
      break;
    case OptionField::kGrowthFactor:
      options.growth_factor = op.value / 256.0;
      break;
    default:
      options.pause_target_ms = static_cast<int16_t>(op.value) / 4.0;
  }
  return options;
}

Executor::Executor(const Config& config, bool observe)
    : observe_(observe), verified_by_heap_(config.verify_each_gc), options_(options_for(config)) {
  Result<std::unique_ptr<Heap>> made = Heap::create(options_);
  VMM_CHECK(made.ok(), made.status().message().c_str());
  heap_ = std::move(made.value());
  for (uint8_t shape = 0; shape < kShapeCount; ++shape) {
    Result<vmmem::gc::ShapeId> id = heap_->register_shape(spec_for(shape));
    VMM_CHECK(id.ok(), id.status().message().c_str());
    shapes_.push_back(id.value());
  }
}

Executor::~Executor() = default;

Status Executor::check() const {
  return heap_->verify();
}

uint64_t Executor::ref_count(Handle handle) const {
  return heap_->info(heap_->raw(handle)).ref_count;
}

uint8_t Executor::scenario_shape(const Object* object) const {
  for (uint8_t s = 0; s < kShapeCount; ++s)
    if (shapes_[s] == object->shape()) return s;
  return kShapeCount;
}

uint64_t Executor::id_of(const Object* object) const {
  if (object == nullptr) return 0;
  uint64_t id;
  std::memcpy(&id, heap_->raw_bytes(const_cast<Object*>(object)), 8);
  return id;
}

Outcome Executor::operator()(const Op& op) {
  HandleScope scope(*heap_);
  return std::visit(
      [this](const auto& o) -> Outcome {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, New>) {
          return new_object(o);
        } else if constexpr (std::is_same_v<T, Store>) {
          return store(o);
        } else if constexpr (std::is_same_v<T, Load>) {
          return load(o);
        } else if constexpr (std::is_same_v<T, DropRoot>) {
          if (roots_.empty()) return {};
          const size_t slot = pick(o.slot, roots_.size());
          const Status released = heap_->release(roots_[slot]);
          roots_[slot] = roots_.back();
          roots_.pop_back();
          return {.code = released.code()};
        } else if constexpr (std::is_same_v<T, WriteBytes>) {
          return write_bytes(o);
        } else if constexpr (std::is_same_v<T, Minor>) {
          return collect(true, false);
        } else if constexpr (std::is_same_v<T, Major>) {
          return collect(false, true);
        } else if constexpr (std::is_same_v<T, Verify>) {
          return collect(false, false);
        } else if constexpr (std::is_same_v<T, BadSlot>) {
          return bad_slot(o);
        } else if constexpr (std::is_same_v<T, StoreForeign>) {
          return store_foreign(o);
        } else if constexpr (std::is_same_v<T, ReadBytes>) {
          return read_bytes(o);
        } else if constexpr (std::is_same_v<T, BadBytes>) {
          return bad_bytes(o);
        } else if constexpr (std::is_same_v<T, BadHandle>) {
          return bad_handle(o);
        } else if constexpr (std::is_same_v<T, CreateHeap>) {
          return create_heap(o);
        } else {
          static_assert(std::is_same_v<T, Corrupt>);
          return corrupt(o);
        }
      },
      op);
}

Outcome Executor::new_object(const New& op) {
  const uint64_t len = is_array(op.shape) ? op.len : 0;
  if (len > kMaxLength && len < kHugeLength) return {.code = ErrorCode::kUnsupported};
  // Unregistered shapes: the ids after the scenario's own.
  const vmmem::gc::ShapeId shape =
      op.shape < kShapeCount ? shapes_[op.shape] : shapes_.back() + 1 + (op.shape - kShapeCount);
  Result<Handle> made = heap_->new_object(shape, len);
  if (!made.ok()) return {.code = made.status().code()};
  const uint64_t id = next_id_++;
  std::byte bytes[8];
  std::memcpy(bytes, &id, 8);
  if (Status written = heap_->write_bytes(made.value(), 0, bytes); !written.ok())
    return {.code = written.code(), .detail = "writing the id: " + written.message()};
  Result<Handle> root = heap_->make_persistent(made.value());
  if (!root.ok()) return {.code = root.status().code()};
  roots_.push_back(root.value());
  return {.id = id};
}

Outcome Executor::store(const Store& op) {
  if (roots_.empty()) return {};
  const Handle holder = roots_[pick(op.obj, roots_.size())];
  const uint64_t slot = pick_ref(op.slot, ref_count(holder));
  const Handle value = op.null ? Handle{} : roots_[pick(op.target, roots_.size())];
  return {.code = heap_->store(holder, slot, value).code()};
}

Outcome Executor::load(const Load& op) {
  if (roots_.empty()) return {};
  const Handle holder = roots_[pick(op.obj, roots_.size())];
  Result<Handle> loaded = heap_->load(holder, pick_ref(op.slot, ref_count(holder)));
  if (!loaded.ok()) return {.code = loaded.status().code()};
  if (loaded.value().is_null()) return {};
  const uint64_t id = id_of(heap_->raw(loaded.value()));
  Result<Handle> root = heap_->make_persistent(loaded.value());
  if (!root.ok()) return {.code = root.status().code()};
  roots_.push_back(root.value());
  return {.id = id};
}

Outcome Executor::write_bytes(const WriteBytes& op) {
  if (roots_.empty()) return {};
  const Handle holder = roots_[pick(op.obj, roots_.size())];
  const uint64_t raw = heap_->info(heap_->raw(holder)).raw_size;
  std::span<std::byte> bytes = payload_.resize(raw - 8);
  fill_pattern(bytes, op.pattern);
  return {.code = heap_->write_bytes(holder, 8, bytes).code()};
}

Outcome Executor::bad_slot(const BadSlot& op) {
  if (roots_.empty()) return {};
  const Handle holder = roots_[pick(op.obj, roots_.size())];
  const uint64_t slot = ref_count(holder) + op.past;
  if (op.store) return {.code = heap_->store(holder, slot, Handle{}).code()};
  return {.code = heap_->load(holder, slot).status().code()};
}

Outcome Executor::store_foreign(const StoreForeign& op) {
  if (roots_.empty()) return {};
  const Handle holder = roots_[pick(op.obj, roots_.size())];
  const uint64_t slot = pick_ref(op.slot, ref_count(holder));
  const void* pointer = foreign_memory;
  if (op.kind == ForeignKind::kInterior)
    pointer =
        reinterpret_cast<const std::byte*>(heap_->raw(roots_[pick(op.target, roots_.size())])) + 8;
  return {.code = heap_->store_pointer(holder, slot, static_cast<const Object*>(pointer)).code()};
}

Outcome Executor::read_bytes(const ReadBytes& op) {
  if (roots_.empty()) return {};
  const Handle holder = roots_[pick(op.obj, roots_.size())];
  std::span<std::byte> bytes = payload_.resize(op.size);
  if (Status read = heap_->read_bytes(holder, op.offset, bytes); !read.ok())
    return {.code = read.code()};
  PayloadDigest digest;
  digest.add(bytes);
  return {.digest = digest.value()};
}

Outcome Executor::bad_bytes(const BadBytes& op) {
  if (roots_.empty()) return {};
  const Handle holder = roots_[pick(op.obj, roots_.size())];
  const uint64_t offset = heap_->info(heap_->raw(holder)).raw_size + op.past;
  std::byte byte[1] = {std::byte{0x5a}};
  const Status status =
      op.write ? heap_->write_bytes(holder, offset, byte) : heap_->read_bytes(holder, offset, byte);
  return {.code = status.code()};
}

Handle Executor::other_heap_handle() {
  if (other_heap_ == nullptr) {
    Result<std::unique_ptr<Heap>> made = Heap::create(options_);
    VMM_CHECK(made.ok(), made.status().message().c_str());
    other_heap_ = std::move(made.value());
    const Result<vmmem::gc::ShapeId> leaf = other_heap_->register_shape(spec_for(kLeaf));
    VMM_CHECK(leaf.ok(), leaf.status().message().c_str());
    HandleScope scope(*other_heap_);
    const Result<Handle> object = other_heap_->new_object(leaf.value());
    VMM_CHECK(object.ok(), object.status().message().c_str());
    const Result<Handle> persistent = other_heap_->make_persistent(object.value());
    VMM_CHECK(persistent.ok(), persistent.status().message().c_str());
    other_handle_ = persistent.value();
  }
  return other_handle_;
}

Outcome Executor::bad_handle(const BadHandle& op) {
  if (roots_.empty()) return {};
  const Handle root = roots_[pick(op.obj, roots_.size())];
  Handle bad;
  std::optional<HandleScope> other_scope;  // keeps an other-heap local open for the call
  switch (op.kind) {
    case BadHandleKind::kNull:
      break;
    case BadHandleKind::kOtherHeap:
      bad = other_heap_handle();
      break;
    case BadHandleKind::kOtherHeapLocal: {
      const Handle persistent = other_heap_handle();
      other_scope.emplace(*other_heap_);
      bad = other_heap_->local_for(other_heap_->raw(persistent));
      break;
    }
    case BadHandleKind::kClosedScope: {
      HandleScope inner(*heap_);
      bad = heap_->local_for(heap_->raw(root));
      break;
    }
    case BadHandleKind::kReleased: {
      const Result<Handle> copy = heap_->make_persistent(root);
      if (!copy.ok()) return {.code = copy.status().code(), .detail = "making the copy"};
      bad = copy.value();
      if (Status released = heap_->release(bad); !released.ok())
        return {.code = released.code(), .detail = "releasing the copy"};
      break;
    }
    default: {
      const Result<Handle> cell = heap_->make_persistent(Handle{});
      if (!cell.ok()) return {.code = cell.status().code(), .detail = "making the null cell"};
      bad = cell.value();
    }
  }
  Outcome outcome = use_handle(bad, root, op.use);
  // The null cell is a live handle: released here unless the op just did it.
  if (op.kind == BadHandleKind::kNullCell &&
      !(op.use == HandleUse::kRelease && outcome.code == ErrorCode::kOk)) {
    if (Status released = heap_->release(bad); !released.ok())
      return {.code = released.code(), .detail = "releasing the null cell"};
  }
  return outcome;
}

Outcome Executor::create_heap(const CreateHeap& op) {
  // A heap made here is destroyed at once; it shares nothing with the scenario's heap.
  return {.code = Heap::create(options_for(op)).status().code()};
}

template <class Mend>
Outcome Executor::verify_broken(Mend mend, bool after_major) {
  const Status broken = after_major ? heap_->verify_after_major() : heap_->verify();
  mend();
  if (broken.ok()) return {.detail = "the verifier passed the broken heap"};
  if (Status mended = heap_->verify(); !mended.ok())
    return {.code = mended.code(), .detail = "after mending: " + mended.message()};
  return {.code = broken.code()};
}

Outcome Executor::corrupt(const Corrupt& op) {
  if (op.kind == CorruptKind::kCleanCard) {
    // A large array is old from birth; a leaf stored into it is young, so the barrier dirties
    // the slot's card, which is then cleaned.
    const Result<Handle> array = heap_->new_object(shapes_[kRefArray], 2048);
    if (!array.ok()) return {.code = array.status().code(), .detail = "making the array"};
    const Result<Handle> leaf = heap_->new_object(shapes_[kLeaf]);
    if (!leaf.ok()) return {.code = leaf.status().code(), .detail = "making the leaf"};
    if (Status stored = heap_->store(array.value(), 0, leaf.value()); !stored.ok())
      return {.code = stored.code(), .detail = "storing the leaf"};
    Object* holder = heap_->raw(array.value());
    uint8_t* card = vmmem::gc::card_of(holder, holder->slots());
    *card = vmmem::gc::kCardClean;
    return verify_broken([card] { *card = vmmem::gc::kCardDirty; });
  }
  if (op.kind >= CorruptKind::kInteriorLocal) return corrupt_after_major(op);
  if (roots_.empty()) return {};
  Object* object = heap_->raw(roots_[pick(op.obj, roots_.size())]);
  const uint64_t word = object->header_word();
  uint64_t broken_word = word;
  switch (op.kind) {
    case CorruptKind::kInteriorSlot: {
      if (heap_->info(object).ref_count == 0) return {};
      Object* saved = Heap::load_slot(object, 0);
      heap_->store_slot(object, 0,
                        reinterpret_cast<Object*>(reinterpret_cast<std::byte*>(object) + 8));
      return verify_broken([this, object, saved] { heap_->store_slot(object, 0, saved); });
    }
    case CorruptKind::kMarkBit:
      broken_word |= vmmem::gc::header::kMark;
      break;
    case CorruptKind::kUnusedBits:
      broken_word |= 0x4;
      break;
    case CorruptKind::kUnknownShape:
      broken_word |= vmmem::gc::header::kShapeMask;
      break;
    default:
      if (is_array(scenario_shape(object))) return {};
      broken_word |= uint64_t{1} << vmmem::gc::header::kLengthShift;
  }
  object->set_header_word(broken_word);
  return verify_broken([object, word] { object->set_header_word(word); });
}

Outcome Executor::corrupt_after_major(const Corrupt& op) {
  auto failed = [](const Status& status, const char* what) -> Outcome {
    return {.code = status.code(), .detail = std::string(what) + ": " + status.message()};
  };
  if (Status collected = heap_->major(); !collected.ok()) return failed(collected, "major");
  if (op.kind == CorruptKind::kYoungAfterMajor || op.kind == CorruptKind::kOldGarbage) {
    const Result<Handle> leaf = heap_->new_object(shapes_[kLeaf]);
    if (!leaf.ok()) return failed(leaf.status(), "making the leaf");
    if (op.kind == CorruptKind::kYoungAfterMajor) return verify_broken([] {}, true);
    if (Status collected = heap_->major(); !collected.ok()) return failed(collected, "promoting");
    if (Status dropped = heap_->assign(leaf.value(), Handle{}); !dropped.ok())
      return failed(dropped, "dropping the leaf");
    return verify_broken([this] { (void)heap_->major(); }, true);
  }
  if (roots_.empty()) return {};
  Object* object = heap_->raw(roots_[pick(op.obj, roots_.size())]);
  Object* interior = reinterpret_cast<Object*>(reinterpret_cast<std::byte*>(object) + 8);
  switch (op.kind) {
    case CorruptKind::kInteriorLocal: {
      const Handle local = heap_->local_for(interior);
      return verify_broken([this, local] { (void)heap_->assign(local, Handle{}); });
    }
    case CorruptKind::kInteriorGlobal: {
      // The interior pointer reaches the persistent cell through a local, nulled at once.
      const Handle local = heap_->local_for(interior);
      const Result<Handle> global = heap_->make_persistent(local);
      if (!global.ok()) return failed(global.status(), "making the persistent handle");
      if (Status nulled = heap_->assign(local, Handle{}); !nulled.ok())
        return failed(nulled, "nulling the local");
      return verify_broken([this, global] { (void)heap_->release(global.value()); });
    }
    default: {
      vmmem::gc::ChunkHeader* chunk = vmmem::gc::ChunkHeader::of(object);
      if (chunk->kind == vmmem::gc::ChunkKind::kLarge) {
        chunk->object_size += 8;
        return verify_broken([chunk] { chunk->object_size -= 8; });
      }
      ++chunk->live_cells;
      return verify_broken([chunk] { --chunk->live_cells; });
    }
  }
}

Outcome Executor::use_handle(Handle bad, Handle root, HandleUse use) {
  // A call that takes a null reference and succeeds must hand back null.
  auto null_or_broken = [](const Status& status, bool got_null, const char* what) -> Outcome {
    if (status.ok() && !got_null) return {.code = ErrorCode::kBrokenInvariant, .detail = what};
    return {.code = status.code()};
  };
  switch (use) {
    case HandleUse::kLoad:
      return {.code = heap_->load(bad, 0).status().code()};
    case HandleUse::kStore:
      return {.code = heap_->store(bad, 0, root).code()};
    case HandleUse::kReadBytes: {
      std::byte out[8];
      return {.code = heap_->read_bytes(bad, 0, out).code()};
    }
    case HandleUse::kWriteBytes: {
      const std::byte zeros[8] = {};
      return {.code = heap_->write_bytes(bad, 0, zeros).code()};
    }
    case HandleUse::kInfo:
      return {.code = heap_->info(bad).status().code()};
    case HandleUse::kDeref: {
      const Result<Object*> object = heap_->deref(bad);
      return null_or_broken(object.status(), object.ok() && object.value() == nullptr,
                            "deref of a null reference gave an object");
    }
    case HandleUse::kSame: {
      const Result<bool> same = heap_->same(bad, root);
      return null_or_broken(same.status(), same.ok() && !same.value(),
                            "a null reference is the same as an object");
    }
    case HandleUse::kAssign:
      return {.code = heap_->assign(bad, root).code()};
    case HandleUse::kLocal: {
      const Result<Handle> local = heap_->local(bad);
      return null_or_broken(local.status(), local.ok() && heap_->raw(local.value()) == nullptr,
                            "a local of a null reference holds an object");
    }
    case HandleUse::kMakePersistent: {
      const Result<Handle> persistent = heap_->make_persistent(bad);
      if (!persistent.ok()) return {.code = persistent.status().code()};
      const bool got_null = heap_->raw(persistent.value()) == nullptr;
      if (Status released = heap_->release(persistent.value()); !released.ok())
        return {.code = released.code(), .detail = "releasing the new persistent handle"};
      return null_or_broken(kOkStatus, got_null, "a persistent copy of null holds an object");
    }
    default:
      return {.code = heap_->release(bad).code()};
  }
}

Outcome Executor::collect(bool minor, bool major) {
  Outcome outcome{.observed = observe_};
  Status status = minor ? heap_->minor() : major ? heap_->major() : kOkStatus;
  if (status.ok() && major) status = heap_->verify_after_major();
  // Verify runs the verifier; after a GC it ran already when the heap verifies every GC.
  if (status.ok() && observe_ && !((minor || major) && verified_by_heap_)) status = heap_->verify();
  if (!status.ok()) {
    outcome.code = status.code();
    outcome.detail = status.message();
    return outcome;
  }
  if (!observe_) return outcome;
  observe(outcome);
  if (!minor && !major) {
    // The statistics export walks every collection record: it must not trip on any state.
    const std::string json = heap_->stats().to_json();
    if (json.empty() || json.front() != '{') outcome.code = ErrorCode::kBrokenInvariant;
    if (std::string why = check_heap_queries(outcome); !why.empty()) {
      outcome.code = ErrorCode::kBrokenInvariant;
      outcome.detail = why;
    }
  }
  if (major) {
    const vmmem::gc::HeapStats stats = heap_->stats();
    outcome.heap_bytes = stats.young_bytes + stats.old_bytes + stats.large_bytes;
  }
  return outcome;
}

std::string Executor::check_heap_queries(const Outcome& observed) const {
  size_t visited = 0;
  heap_->visit_reachable([&visited](const Object*) { ++visited; });
  if (visited != observed.graph.size()) return "visit_reachable visits another number of objects";
  // contains() walks the young spaces up to the address: a few roots are enough.
  constexpr size_t kRootsAsked = 8;
  for (size_t i = 0; i < roots_.size() && i < kRootsAsked; ++i) {
    const Object* object = heap_->raw(roots_[i]);
    if (object == nullptr) continue;
    const auto* interior = reinterpret_cast<const std::byte*>(object) + 8;
    if (!heap_->contains(object) || heap_->contains(interior))
      return "contains() disagrees with a root";
    if (heap_->space_of(object) != heap_->info(roots_[i]).value().space)
      return "space_of() disagrees with info()";
  }
  return {};
}

void Executor::observe(Outcome& outcome) const {
  std::unordered_map<const Object*, uint64_t> seen;
  std::vector<const Object*> work;
  for (const Handle root : roots_) {
    const Object* object = heap_->raw(root);
    outcome.roots.push_back(id_of(object));
    work.push_back(object);
  }
  while (!work.empty()) {
    const Object* object = work.back();
    work.pop_back();
    if (object == nullptr || seen.contains(object)) continue;
    seen.emplace(object, 0);
    const vmmem::gc::ObjectInfo info = heap_->info(object);
    const auto* raw = heap_->raw_bytes(const_cast<Object*>(object));
    ObjectView view{.id = id_of(object), .shape = scenario_shape(object), .len = info.length};
    PayloadDigest digest;
    if (info.raw_size > 8) digest.add({raw + 8, info.raw_size - 8});
    view.digest = digest.value();
    view.refs.reserve(info.ref_count);
    for (uint64_t i = 0; i < info.ref_count; ++i) {
      const Object* target = Heap::load_slot(object, i);
      view.refs.push_back(id_of(target));
      work.push_back(target);
    }
    outcome.graph.push_back(std::move(view));
  }
  std::sort(outcome.graph.begin(), outcome.graph.end(),
            [](const ObjectView& a, const ObjectView& b) { return a.id < b.id; });
}

std::optional<std::string> verify(const Config& config, std::span<const Op> ops,
                                  size_t checkpoint_every) {
  Executor executor(config);
  Model model;
  ModelChecker checker(model, executor, checkpoint_every);
  run(ops, executor, checker);
  checker.finish();
  return checker.failure();
}

}  // namespace vmmem::scenario::gc
