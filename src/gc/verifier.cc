#include "gc/verifier.h"

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gc/heap.h"
#include "gc/large_object_space.h"
#include "gc/old_space.h"
#include "gc/young_space.h"

namespace vmmem::gc {

namespace {

Status broken(const char* what, const void* where, uint64_t value = 0) {
  return Status::error(ErrorCode::kBrokenInvariant, what, reinterpret_cast<uintptr_t>(where),
                       value);
}

// Why the header of the object at `object` is not one of a live object that fits in `room`
// bytes, or null; *size receives its size.
const char* bad_header(const ShapeTable& shapes, const Object* object, uint64_t room,
                       uint64_t* size) {
  const uint64_t word = object->header_word();
  if ((word & header::kForwarded) != 0) return "gc verify: forwarded header outside a collection";
  if ((word & header::kMark) != 0) return "gc verify: marked header outside a collection";
  if ((word & 0xc) != 0) return "gc verify: unused header bits set";
  const ShapeId shape = object->shape();
  if (shape == kNoShape || shape >= shapes.size()) return "gc verify: unknown shape in a header";
  const ShapeInfo& info = shapes[shape];
  if (info.array == ArrayKind::kNone && object->length() != 0) {
    return "gc verify: array length on a fixed shape";
  }
  *size = object_size(info, object->length());
  if (*size > room) return "gc verify: object runs past the end of its space";
  return nullptr;
}

}  // namespace

Status Verifier::run(bool after_major) const {
  const Heap& heap = heap_;
  const ShapeTable& shapes = heap.shapes_;
  const YoungSpace& young = *heap.young_;
  std::unordered_map<uintptr_t, Space> objects;
  uint64_t size = 0;

  // Young generation: the nursery parses as objects and fillers up to the allocation buffer.
  const std::byte* nursery_end = heap.nursery_parse_end();
  if (young.nursery_top() > young.nursery_end()) {
    return broken("gc verify: nursery top past the nursery's end", young.nursery_top());
  }
  if (heap.tlab_.top != nullptr &&
      (heap.tlab_.limit != young.nursery_top() || heap.tlab_.top > heap.tlab_.limit ||
       heap.tlab_.top < young.nursery_begin())) {
    return broken("gc verify: allocation buffer is not the nursery's last buffer", heap.tlab_.top);
  }
  for (const std::byte* p = young.nursery_begin(); p < nursery_end; p += size) {
    const Object* object = reinterpret_cast<const Object*>(p);
    const uint64_t room = static_cast<uint64_t>(nursery_end - p);
    if (object->shape() == kNoShape) {
      size = object->length();
      if (object->header_word() != header::make(kNoShape, static_cast<uint32_t>(size)) ||
          size == 0 || size % kObjectAlignment != 0 || size > room) {
        return broken("gc verify: bad filler in the nursery", p, object->header_word());
      }
      continue;
    }
    if (const char* why = bad_header(shapes, object, room, &size)) return broken(why, p);
    if (object->age() != 0) return broken("gc verify: nursery object with an age", p);
    objects.emplace(reinterpret_cast<uintptr_t>(p), Space::kNursery);
  }
  for (const std::byte* p = young.from_begin(); p < young.from_top(); p += size) {
    const Object* object = reinterpret_cast<const Object*>(p);
    const uint64_t room = static_cast<uint64_t>(young.from_top() - p);
    if (const char* why = bad_header(shapes, object, room, &size)) return broken(why, p);
    if (object->age() == 0 || object->age() >= heap.options_.promotion_age) {
      return broken("gc verify: survivor age outside 1 .. promotion age - 1", p, object->age());
    }
    objects.emplace(reinterpret_cast<uintptr_t>(p), Space::kSurvivor);
  }

  // Old generation and large objects: their own bookkeeping first, then every object.
  if (Status status = heap.old_->check(shapes); !status.ok()) return status;
  if (Status status = heap.large_->check(shapes); !status.ok()) return status;
  for (ChunkHeader* chunk : heap.old_->chunks()) {
    for (uint32_t i = 0; i < chunk->cell_count; ++i) {
      const Object* object = reinterpret_cast<const Object*>(chunk->cell(i));
      if (object->header_word() == 0) continue;
      if (const char* why = bad_header(shapes, object, chunk->cell_size, &size)) {
        return broken(why, object);
      }
      objects.emplace(reinterpret_cast<uintptr_t>(object), Space::kOld);
    }
  }
  for (ChunkHeader* chunk : heap.large_->chunks()) {
    const Object* object = reinterpret_cast<const Object*>(chunk->large_object());
    if (const char* why = bad_header(shapes, object, chunk->object_size, &size)) {
      return broken(why, object);
    }
    objects.emplace(reinterpret_cast<uintptr_t>(object), Space::kLarge);
  }

  // Invariants 1 and 4: every slot null or an object start; old-to-young slots on dirty cards.
  for (const auto& [address, space] : objects) {
    const Object* object = reinterpret_cast<const Object*>(address);
    const uint64_t refs = ref_count(shapes[object->shape()], object->length());
    for (uint64_t i = 0; i < refs; ++i) {
      const Object* target = object->slots()[i];
      if (target == nullptr) continue;
      const auto found = objects.find(reinterpret_cast<uintptr_t>(target));
      if (found == objects.end()) {
        return broken("gc verify: slot does not hold a live object's start", object->slots() + i,
                      reinterpret_cast<uintptr_t>(target));
      }
      const bool old_holder = space == Space::kOld || space == Space::kLarge;
      const bool young_target =
          found->second == Space::kNursery || found->second == Space::kSurvivor;
      if (old_holder && young_target && *card_of(object, object->slots() + i) != kCardDirty) {
        return broken("gc verify: old-to-young slot on a clean card", object->slots() + i,
                      reinterpret_cast<uintptr_t>(target));
      }
    }
  }
  for (size_t i = 0; i < heap.locals_.size(); ++i) {
    const Object* root = heap.locals_[i];
    if (root != nullptr && objects.count(reinterpret_cast<uintptr_t>(root)) == 0) {
      return broken("gc verify: local handle does not hold a live object's start", root, i);
    }
  }
  for (size_t i = 0; i < heap.persistent_.size(); ++i) {
    const Object* root = heap.persistent_[i].object;
    if (heap.persistent_[i].live && root != nullptr &&
        objects.count(reinterpret_cast<uintptr_t>(root)) == 0) {
      return broken("gc verify: persistent handle does not hold a live object's start", root, i);
    }
  }

  // Invariant 6.
  if (heap.used_bytes() > heap.options_.heap_limit_bytes) {
    return broken("gc verify: heap holds more than its limit", nullptr, heap.used_bytes());
  }

  if (!after_major) return kOkStatus;
  // Invariant 5: nothing unreachable is left in the old generation or the large objects.
  if (young.nursery_used() != 0 || young.survivor_used() != 0) {
    return broken("gc verify: young generation not empty after a major collection", nullptr,
                  young.nursery_used() + young.survivor_used());
  }
  std::unordered_set<const Object*> reachable;
  for_each_reachable([&](const Object* object) { reachable.insert(object); });
  for (const auto& [address, space] : objects) {
    if (reachable.count(reinterpret_cast<const Object*>(address)) == 0) {
      return broken("gc verify: unreachable object survived a major collection",
                    reinterpret_cast<const void*>(address), static_cast<uint64_t>(space));
    }
  }
  return kOkStatus;
}

void Verifier::for_each_reachable(const std::function<void(const Object*)>& visit) const {
  const Heap& heap = heap_;
  std::unordered_set<const Object*> seen;
  std::vector<const Object*> queue;
  auto reach = [&](const Object* object) {
    if (object != nullptr && seen.insert(object).second) queue.push_back(object);
  };
  for (const Object* root : heap.locals_)
    reach(root);
  for (const Heap::PersistentCell& cell : heap.persistent_) {
    if (cell.live) reach(cell.object);
  }
  for (size_t next = 0; next < queue.size(); ++next) {
    const Object* object = queue[next];
    visit(object);
    const uint64_t refs = ref_count(heap.shapes_[object->shape()], object->length());
    for (uint64_t i = 0; i < refs; ++i)
      reach(object->slots()[i]);
  }
}

}  // namespace vmmem::gc
