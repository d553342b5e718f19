#include "scenario/gc/model.h"

#include <algorithm>
#include <type_traits>

#include "gc/options.h"
#include "scenario/gc/payload.h"

namespace vmmem::scenario::gc {

Outcome Model::apply(const Op& op) {
  return std::visit(
      [this](const auto& o) -> Outcome {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, New>) {
          return new_object(o);
        } else if constexpr (std::is_same_v<T, Store>) {
          Object* object = root_object(o.obj);
          if (object == nullptr) return {};
          const uint64_t slot = pick_ref(o.slot, object->size.refs);
          if (slot >= object->size.refs) return {.code = kSlotOutOfRange};
          object->refs[slot] = o.null ? 0 : roots_[pick(o.target, roots_.size())];
          return {};
        } else if constexpr (std::is_same_v<T, Load>) {
          Object* object = root_object(o.obj);
          if (object == nullptr) return {};
          const uint64_t slot = pick_ref(o.slot, object->size.refs);
          if (slot >= object->size.refs) return {.code = kSlotOutOfRange};
          const uint64_t id = object->refs[slot];
          if (id != 0) roots_.push_back(id);
          return {.id = id};
        } else if constexpr (std::is_same_v<T, DropRoot>) {
          if (roots_.empty()) return {};
          const size_t slot = pick(o.slot, roots_.size());
          roots_[slot] = roots_.back();
          roots_.pop_back();
          return {};
        } else if constexpr (std::is_same_v<T, WriteBytes>) {
          Object* object = root_object(o.obj);
          if (object != nullptr) object->pattern = o.pattern;
          return {};
        } else if constexpr (std::is_same_v<T, Minor> || std::is_same_v<T, Verify>) {
          return observe(false);
        } else if constexpr (std::is_same_v<T, Major>) {
          return observe(true);
        } else if constexpr (std::is_same_v<T, BadSlot>) {
          if (root_object(o.obj) == nullptr) return {};
          return {.code = kSlotOutOfRange};
        } else if constexpr (std::is_same_v<T, StoreForeign>) {
          Object* object = root_object(o.obj);
          if (object == nullptr) return {};
          if (pick_ref(o.slot, object->size.refs) >= object->size.refs)
            return {.code = kSlotOutOfRange};
          return {.code = kForeignPointer};
        } else if constexpr (std::is_same_v<T, ReadBytes>) {
          return read_bytes(o);
        } else if constexpr (std::is_same_v<T, BadBytes>) {
          if (root_object(o.obj) == nullptr) return {};
          return {.code = kBytesOutOfRange};
        } else if constexpr (std::is_same_v<T, BadHandle>) {
          if (roots_.empty()) return {};
          return {.code = bad_handle_code(o.kind, o.use)};
        } else if constexpr (std::is_same_v<T, CreateHeap>) {
          return {.code = create_heap_code(o)};
        } else {
          static_assert(std::is_same_v<T, Corrupt>);
          return corrupt(o);
        }
      },
      op);
}

Outcome Model::new_object(const New& op) {
  if (op.shape >= kShapeCount) return {.code = kUnknownShape};
  const uint64_t len = is_array(op.shape) ? op.len : 0;
  if (len >= kHugeLength) return {.code = kOverHeapLimit};
  if (len > kMaxLength) return {.code = ErrorCode::kUnsupported};
  const uint64_t id = next_id_++;
  const ShapeSize size = shape_size(op.shape, len);
  objects_.emplace(id, Object{op.shape, len, size, std::vector<uint64_t>(size.refs, 0), {}});
  roots_.push_back(id);
  return {.id = id};
}

Outcome Model::read_bytes(const ReadBytes& op) {
  if (roots_.empty()) return {};
  const uint64_t id = roots_[pick(op.obj, roots_.size())];
  const Object& object = objects_.at(id);
  const uint64_t raw = object.size.payload;
  if (op.offset > raw || op.size > raw - op.offset) return {.code = kBytesOutOfRange};
  return {.digest = expected_range_digest(id, object.pattern, op.offset, op.size)};
}

ErrorCode bad_handle_code(BadHandleKind kind, HandleUse use) {
  switch (kind) {
    case BadHandleKind::kNull:
      // A null handle is a fine value (a null reference) for the calls that copy one.
      return use == HandleUse::kLocal || use == HandleUse::kMakePersistent ? ErrorCode::kOk
                                                                           : kForeignHandle;
    case BadHandleKind::kOtherHeap:
    case BadHandleKind::kOtherHeapLocal:
      return kForeignHandle;
    case BadHandleKind::kClosedScope:
    case BadHandleKind::kReleased:
      return kStaleHandle;
    default: {
      // A cell holding null passes every handle check; only the calls that need its object
      // (a holder) refuse it.
      const bool holder = use == HandleUse::kLoad || use == HandleUse::kStore ||
                          use == HandleUse::kReadBytes || use == HandleUse::kWriteBytes ||
                          use == HandleUse::kInfo;
      return holder ? kNullHolder : ErrorCode::kOk;
    }
  }
}

Outcome Model::corrupt(const Corrupt& op) {
  // These need no root: the executor makes its own objects to break the heap with.
  if (op.kind == CorruptKind::kCleanCard || op.kind == CorruptKind::kYoungAfterMajor ||
      op.kind == CorruptKind::kOldGarbage)
    return {.code = kVerifierReport};
  Object* object = root_object(op.obj);
  if (object == nullptr) return {};
  if (op.kind == CorruptKind::kInteriorSlot && object->size.refs == 0) return {};
  if (op.kind == CorruptKind::kFixedLength && is_array(object->shape)) return {};
  return {.code = kVerifierReport};
}

ErrorCode create_heap_code(const CreateHeap& op) {
  // The field is set on top of the defaults, which are themselves good.
  const vmmem::gc::Options defaults;
  constexpr uint64_t kSmallestNursery = uint64_t{64} << 10;
  constexpr uint64_t kLargestCell = uint64_t{32} << 10;
  const uint64_t kib = uint64_t{op.value} << 10;
  const bool whole_pages = kib % 4096 == 0;
  bool good;
  switch (op.field) {
    case OptionField::kPromotionAge:
      good = op.value % 20 >= 1 && op.value % 20 <= 15;
      break;
    case OptionField::kMinNursery:
      good = whole_pages && kib >= kSmallestNursery && kib <= defaults.nursery_bytes;
      break;
    case OptionField::kNursery:
      good = whole_pages && kib >= defaults.min_nursery_bytes &&
             kib <= defaults.max_nursery_bytes && kib <= defaults.heap_limit_bytes;
      break;
    case OptionField::kMaxNursery:
      good = whole_pages && kib >= defaults.nursery_bytes;
      break;
    case OptionField::kLargeObject:
      good = op.value >= 256 && op.value <= kLargestCell;
      break;
    case OptionField::kHeapLimit:
      good = kib >= defaults.nursery_bytes;
      break;
    case OptionField::kGrowthFactor:
      good = op.value > 256;  // a factor above 1
      break;
    default:
      good = static_cast<int16_t>(op.value) >= 0;
  }
  return good ? ErrorCode::kOk : kBadOptions;
}

Model::Object* Model::root_object(uint16_t obj) {
  if (roots_.empty()) return nullptr;
  return &objects_.at(roots_[pick(obj, roots_.size())]);
}

std::vector<uint64_t> Model::reachable() const {
  std::vector<uint64_t> seen;
  std::unordered_map<uint64_t, bool> marked;
  std::vector<uint64_t> work(roots_.begin(), roots_.end());
  while (!work.empty()) {
    const uint64_t id = work.back();
    work.pop_back();
    if (id == 0 || marked[id]) continue;
    marked[id] = true;
    seen.push_back(id);
    for (uint64_t ref : objects_.at(id).refs)
      work.push_back(ref);
  }
  std::sort(seen.begin(), seen.end());
  return seen;
}

Outcome Model::observe(bool major) {
  Outcome outcome{.observed = true, .roots = roots_};
  const std::vector<uint64_t> live = reachable();
  std::erase_if(objects_, [&live](const auto& entry) {
    return !std::binary_search(live.begin(), live.end(), entry.first);
  });
  outcome.graph.reserve(live.size());
  for (uint64_t id : live) {
    const Object& object = objects_.at(id);
    outcome.graph.push_back({id, object.shape, object.len,
                             expected_digest(object.size.payload - 8, object.pattern),
                             object.refs});
  }
  if (major) {
    for (uint64_t id : live)
      outcome.heap_bytes += object_bytes(objects_.at(id).size);
  }
  return outcome;
}

}  // namespace vmmem::scenario::gc
