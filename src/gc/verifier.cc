#include "gc/verifier.h"

#include <algorithm>
#include <vector>

#include "gc/heap.h"
#include "gc/large_object_space.h"
#include "gc/old_space.h"
#include "gc/young_space.h"
#include "support/check.h"

namespace vmmem::gc {

namespace {

Status broken(const char* what, const void* where, uint64_t value = 0) {
  return Status::error(ErrorCode::kBrokenInvariant, what, reinterpret_cast<uintptr_t>(where),
                       value);
}

// Why the header of the object at `object` is not one of a live object that fits in `room`
// bytes, or null; *size receives its size.
VMM_NO_FUZZ_TRACING const char* bad_header(const ShapeTable& shapes, const Object* object,
                                           uint64_t room, uint64_t* size) {
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

VMM_NO_FUZZ_TRACING Status Verifier::walk(Index* index) const {
  const Heap& heap = heap_;
  const ShapeTable& shapes = heap.shapes_;
  const YoungSpace& young = *heap.young_;
  uint64_t size = 0;
  auto add = [&](const void* p, Space space) {
    index->push_back(Entry{reinterpret_cast<uintptr_t>(p), space});
  };

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
    add(p, Space::kNursery);
  }
  for (const std::byte* p = young.from_begin(); p < young.from_top(); p += size) {
    const Object* object = reinterpret_cast<const Object*>(p);
    const uint64_t room = static_cast<uint64_t>(young.from_top() - p);
    if (const char* why = bad_header(shapes, object, room, &size)) return broken(why, p);
    if (object->age() == 0 || object->age() >= heap.options_.promotion_age) {
      return broken("gc verify: survivor age outside 1 .. promotion age - 1", p, object->age());
    }
    add(p, Space::kSurvivor);
  }

  const size_t young_entries = index->size();
  // Old generation and large objects: their own bookkeeping first, then every object.
  if (Status status = heap.old_->check(shapes); !status.ok()) return status;
  if (Status status = heap.large_->check(shapes); !status.ok()) return status;
  std::vector<ChunkHeader*> chunks = heap.old_->chunks();
  chunks.insert(chunks.end(), heap.large_->chunks().begin(), heap.large_->chunks().end());
  std::sort(chunks.begin(), chunks.end());
  for (ChunkHeader* chunk : chunks) {
    if (chunk->kind == ChunkKind::kLarge) {
      const Object* object = reinterpret_cast<const Object*>(chunk->large_object());
      if (const char* why = bad_header(shapes, object, chunk->object_size, &size)) {
        return broken(why, object);
      }
      add(object, Space::kLarge);
      continue;
    }
    for (uint32_t i = 0; i < chunk->cell_count; ++i) {
      const Object* object = reinterpret_cast<const Object*>(chunk->cell(i));
      if (object->header_word() == 0) continue;
      if (const char* why = bad_header(shapes, object, chunk->cell_size, &size)) {
        return broken(why, object);
      }
      add(object, Space::kOld);
    }
  }
  // Young spaces and chunks were each walked in address order: merge the two runs.
  auto by_address = [](const Entry& a, const Entry& b) { return a.address < b.address; };
  std::inplace_merge(index->begin(), index->begin() + static_cast<int64_t>(young_entries),
                     index->end(), by_address);
  // (The young run is sorted: both survivor spaces lie above the nursery.)
  VMM_CHECK(std::is_sorted(index->begin(), index->end(), by_address), "verifier index unsorted");
  return kOkStatus;
}

int64_t Verifier::find(const Index& index, const void* p) {
  // A plain binary search: this runs once per slot of the heap, in unoptimized builds too.
  const uintptr_t address = reinterpret_cast<uintptr_t>(p);
  const Entry* entries = index.data();
  size_t lo = 0;
  size_t hi = index.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (entries[mid].address < address) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < index.size() && entries[lo].address == address ? static_cast<int64_t>(lo) : -1;
}

template <class Visit>
void Verifier::reach(const Index& index, Visit&& visit) const {
  const Heap& heap = heap_;
  std::vector<bool> seen(index.size());
  std::vector<int64_t> queue;
  auto enqueue = [&](const Object* object) {
    if (object == nullptr) return;
    const int64_t at = find(index, object);
    if (at < 0 || seen[at]) return;
    seen[at] = true;
    queue.push_back(at);
  };
  for (const Object* root : heap.locals_)
    enqueue(root);
  for (const Heap::PersistentCell& cell : heap.persistent_) {
    if (cell.live) enqueue(cell.object);
  }
  for (size_t next = 0; next < queue.size(); ++next) {
    const Object* object = reinterpret_cast<const Object*>(index[queue[next]].address);
    visit(queue[next]);
    const uint64_t refs = ref_count(heap.shapes_[object->shape()], object->length());
    for (uint64_t i = 0; i < refs; ++i)
      enqueue(object->slots()[i]);
  }
}

VMM_NO_FUZZ_TRACING Status Verifier::run(bool after_major) const {
  const Heap& heap = heap_;
  const ShapeTable& shapes = heap.shapes_;
  const YoungSpace& young = *heap.young_;
  Index index;
  if (Status status = walk(&index); !status.ok()) return status;

  // Invariants 1 and 4: every slot null or an object start; old-to-young slots on dirty cards.
  for (const Entry& entry : index) {
    const Object* object = reinterpret_cast<const Object*>(entry.address);
    const uint64_t refs = ref_count(shapes[object->shape()], object->length());
    const bool old_holder = entry.space == Space::kOld || entry.space == Space::kLarge;
    for (uint64_t i = 0; i < refs; ++i) {
      const Object* target = object->slots()[i];
      if (target == nullptr) continue;
      const int64_t found = find(index, target);
      if (found < 0) {
        return broken("gc verify: slot does not hold a live object's start", object->slots() + i,
                      reinterpret_cast<uintptr_t>(target));
      }
      const Space space = index[found].space;
      const bool young_target = space == Space::kNursery || space == Space::kSurvivor;
      if (old_holder && young_target && *card_of(object, object->slots() + i) != kCardDirty) {
        return broken("gc verify: old-to-young slot on a clean card", object->slots() + i,
                      reinterpret_cast<uintptr_t>(target));
      }
    }
  }
  for (size_t i = 0; i < heap.locals_.size(); ++i) {
    const Object* root = heap.locals_[i];
    if (root != nullptr && find(index, root) < 0) {
      return broken("gc verify: local handle does not hold a live object's start", root, i);
    }
  }
  for (size_t i = 0; i < heap.persistent_.size(); ++i) {
    const Object* root = heap.persistent_[i].object;
    if (heap.persistent_[i].live && root != nullptr && find(index, root) < 0) {
      return broken("gc verify: persistent handle does not hold a live object's start", root, i);
    }
  }

  // The persistent cells: the free list links exactly the cells not live, without a cycle.
  size_t free_cells = 0;
  for (uint32_t at = heap.free_persistent_; at != UINT32_MAX; at = heap.persistent_[at].next_free) {
    if (at >= heap.persistent_.size() || heap.persistent_[at].live ||
        ++free_cells > heap.persistent_.size()) {
      return broken("gc verify: persistent free list names a live cell or loops", nullptr, at);
    }
  }
  size_t live_cells = 0;
  for (const Heap::PersistentCell& cell : heap.persistent_)
    live_cells += cell.live ? 1 : 0;
  if (live_cells + free_cells != heap.persistent_.size()) {
    return broken("gc verify: a released persistent cell is on no free list", nullptr,
                  heap.persistent_.size() - live_cells);
  }
  const uint64_t nursery = young.nursery_size();
  if (nursery < heap.options_.min_nursery_bytes || nursery > heap.options_.max_nursery_bytes) {
    return broken("gc verify: nursery size outside the configured bounds", nullptr, nursery);
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
  std::vector<bool> reachable(index.size());
  reach(index, [&](int64_t at) { reachable[at] = true; });
  for (size_t i = 0; i < index.size(); ++i) {
    if (!reachable[i]) {
      return broken("gc verify: unreachable object survived a major collection",
                    reinterpret_cast<const void*>(index[i].address),
                    static_cast<uint64_t>(index[i].space));
    }
  }
  return kOkStatus;
}

void Verifier::for_each_reachable(const std::function<void(const Object*)>& visit) const {
  Index index;
  const Status status = walk(&index);
  VMM_CHECK(status.ok(), "visit_reachable on an unsound heap (verify() fails)");
  reach(index, [&](int64_t at) { visit(reinterpret_cast<const Object*>(index[at].address)); });
}

}  // namespace vmmem::gc
