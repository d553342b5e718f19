#include "gc/collector.h"

#include <algorithm>
#include <cstring>

#include "gc/heap.h"
#include "gc/large_object_space.h"
#include "gc/old_space.h"
#include "gc/young_space.h"
#include "support/check.h"

namespace vmmem::gc {

bool Collector::in_from_space(const Object* p) const {
  const YoungSpace& young = *heap_.young_;
  return young.in_nursery(p) || young.in_from_survivor(p);
}

Object* Collector::copy(Object* p, uint64_t word) {
  const ShapeInfo& shape = heap_.shapes_[(word & header::kShapeMask) >> header::kShapeShift];
  const uint64_t size = object_size(shape, word >> header::kLengthShift);
  const uint64_t age = ((word & header::kAgeMask) >> header::kAgeShift) + 1;
  std::byte* to = nullptr;
  if (!promote_all_ && age < promotion_age_) to = heap_.young_->to_allocate(size);
  if (to != nullptr) {
    survived_ += size;
  } else {
    to = heap_.old_->allocate(size);
    // evacuate() reserved room for every young byte before the first copy.
    VMM_CHECK(to != nullptr, "old generation refused a promotion it had reserved room for");
    heap_.old_->note_object(size);
    promoted_ += size;
  }
  std::memcpy(to, p, size);
  Object* copy = reinterpret_cast<Object*>(to);
  const uint64_t new_age = std::min<uint64_t>(age, kMaxAge);
  copy->set_header_word((word & ~header::kAgeMask) | (new_age << header::kAgeShift));
  if (!heap_.is_young(copy)) promoted_objects_.push_back(copy);
  p->set_header_word(reinterpret_cast<uint64_t>(copy) | header::kForwarded);
  return copy;
}

void Collector::scan_old_slots(Object* object, uint64_t first, uint64_t end) {
  Object** slots = object->slots();
  for (uint64_t i = first; i < end; ++i) {
    Object* target = forward(slots[i]);
    slots[i] = target;
    if (heap_.is_young(target)) *card_of(object, slots + i) = kCardDirty;
  }
}

void Collector::scan_card(ChunkHeader* chunk, uint64_t card) {
  ++cards_scanned_;
  chunk->cards[card] = kCardClean;
  const uintptr_t lo = chunk->base() + (card << kCardShift);
  const uintptr_t hi = lo + kCardBytes;
  auto scan_object = [&](Object* object) {
    const uint64_t refs = ref_count(heap_.shapes_[object->shape()], object->length());
    const uintptr_t slots = reinterpret_cast<uintptr_t>(object->slots());
    const uintptr_t slots_end = slots + refs * 8;
    const uintptr_t from = std::max(slots, lo);
    const uintptr_t to = std::min(slots_end, hi);
    if (from >= to) return;
    scan_old_slots(object, (from - slots + 7) / 8, (to - slots + 7) / 8);
  };
  if (chunk->kind == ChunkKind::kLarge) {
    scan_object(reinterpret_cast<Object*>(chunk->large_object()));
    return;
  }
  const uintptr_t cells = chunk->base() + chunk->first_cell;
  if (hi <= cells) return;
  const uint64_t first = lo <= cells ? 0 : (lo - cells) / chunk->cell_size;
  const uint64_t end =
      std::min<uint64_t>(chunk->cell_count, (hi - cells + chunk->cell_size - 1) / chunk->cell_size);
  for (uint64_t i = first; i < end; ++i) {
    Object* object = reinterpret_cast<Object*>(chunk->cell(static_cast<uint32_t>(i)));
    if (object->header_word() != 0) scan_object(object);
  }
}

void Collector::scan_cards(ChunkHeader* chunk) {
  const uint8_t* cards = chunk->cards;
  const uint64_t count = chunk->card_count;
  uint64_t card = 0;
  // Eight clean cards at a time.
  for (; card + 8 <= count; card += 8) {
    uint64_t word;
    std::memcpy(&word, cards + card, 8);
    if (word == 0) continue;
    for (uint64_t k = card; k < card + 8; ++k) {
      if (cards[k] != kCardClean) scan_card(chunk, k);
    }
  }
  for (; card < count; ++card) {
    if (cards[card] != kCardClean) scan_card(chunk, card);
  }
}

Status Collector::evacuate(bool promote_all, CollectionStats* stats) {
  YoungSpace& young = *heap_.young_;
  const uint64_t young_bytes = young.nursery_used() + young.survivor_used();
  if (!heap_.old_->reserve_for(young_bytes, heap_.options_.large_object_bytes)) {
    return Status::error(ErrorCode::kOutOfMemory,
                         "gc: no memory to promote the young generation into", young_bytes);
  }
  promote_all_ = promote_all;
  promotion_age_ = heap_.options_.promotion_age;
  survived_ = 0;
  promoted_ = 0;
  cards_scanned_ = 0;
  young.begin_minor();

  for (Object*& root : heap_.locals_)
    root = forward(root);
  for (Heap::PersistentCell& cell : heap_.persistent_) {
    if (cell.live) cell.object = forward(cell.object);
  }
  // Promotions may carve new chunks while the cards are scanned: only the chunks that existed
  // before can have dirty cards (promoted objects are scanned from promoted_objects_).
  const size_t old_chunks = heap_.old_->chunks().size();
  for (size_t i = 0; i < old_chunks; ++i)
    scan_cards(heap_.old_->chunks()[i]);
  for (ChunkHeader* chunk : heap_.large_->chunks())
    scan_cards(chunk);

  // Cheney: to-space between scan and its top holds copies whose slots are not yet forwarded;
  // promoted copies wait on promoted_objects_.
  std::byte* scan = young.to_begin();
  for (;;) {
    while (scan < young.to_top()) {
      Object* object = reinterpret_cast<Object*>(scan);
      const ShapeInfo& shape = heap_.shapes_[object->shape()];
      const uint64_t refs = ref_count(shape, object->length());
      Object** slots = object->slots();
      for (uint64_t i = 0; i < refs; ++i)
        slots[i] = forward(slots[i]);
      scan += object_size(shape, object->length());
    }
    if (promoted_objects_.empty()) break;
    Object* object = promoted_objects_.back();
    promoted_objects_.pop_back();
    scan_old_slots(object, 0, ref_count(heap_.shapes_[object->shape()], object->length()));
  }

  stats->survived_bytes = survived_;
  stats->promoted_bytes = promoted_;
  stats->cards_scanned = cards_scanned_;
  stats->reclaimed_bytes =
      young_bytes > survived_ + promoted_ ? young_bytes - survived_ - promoted_ : 0;
  return kOkStatus;
}

void Collector::mark_and_sweep(CollectionStats* stats) {
  uint64_t marked = 0;
  auto mark = [&](Object* object) {
    if (object == nullptr || object->is_marked()) return;
    object->set_header_word(object->header_word() | header::kMark);
    ++marked;
    mark_stack_.push(object);
  };
  for (Object* root : heap_.locals_)
    mark(root);
  for (const Heap::PersistentCell& cell : heap_.persistent_) {
    if (cell.live) mark(cell.object);
  }
  while (!mark_stack_.empty()) {
    Object* object = mark_stack_.pop();
    const uint64_t refs = ref_count(heap_.shapes_[object->shape()], object->length());
    Object** slots = object->slots();
    for (uint64_t i = 0; i < refs; ++i)
      mark(slots[i]);
  }
  stats->objects_marked = marked;
  stats->reclaimed_bytes += heap_.old_->sweep(heap_.shapes_) + heap_.large_->sweep();
  // Nothing is young now: no card needs to stay dirty.
  heap_.old_->clear_cards();
  heap_.large_->clear_cards();
}

}  // namespace vmmem::gc
