#include "gc/large_object_space.h"

#include <cstring>

#include "alloc/sanitizer.h"
#include "gc/young_space.h"
#include "support/check.h"

namespace vmmem::gc {

LargeObjectSpace::~LargeObjectSpace() {
  for (ChunkHeader* chunk : chunks_)
    release(chunk);
}

uint64_t LargeObjectSpace::chunk_bytes_for(uint64_t size, uint64_t* card_count) {
  const uint64_t object_end = kLargeObjectOffset + ((size + 15) & ~uint64_t{15});
  *card_count = (object_end + kCardBytes - 1) >> kCardShift;
  return object_end + ((*card_count + 15) & ~uint64_t{15});
}

void LargeObjectSpace::release(ChunkHeader* chunk) {
  const uint64_t bytes = chunk->bytes;
  source_.give_back(chunk, bytes);
}

Object* LargeObjectSpace::allocate(uint64_t size, uint64_t header_word) {
  uint64_t card_count;
  const uint64_t bytes = chunk_bytes_for(size, &card_count);
  ChunkHeader* chunk = static_cast<ChunkHeader*>(source_.take(bytes, true));
  if (chunk == nullptr) return nullptr;
  const uint64_t object_end = kLargeObjectOffset + ((size + 15) & ~uint64_t{15});
  chunk->cards = reinterpret_cast<uint8_t*>(chunk->base() + object_end);
  chunk->bytes = bytes;
  chunk->card_count = card_count;
  chunk->kind = ChunkKind::kLarge;
  chunk->size_class = 0;
  chunk->cell_size = 0;
  chunk->cell_count = 0;
  chunk->first_cell = 0;
  chunk->live_cells = 1;
  chunk->object_size = size;
  std::memset(chunk->cards, kCardClean, card_count);
  Object* object = reinterpret_cast<Object*>(chunk->large_object());
  object->set_header_word(header_word);
  chunks_.push_back(chunk);
  chunk_set_.insert(chunk->base());
  object_bytes_ += size;
  return object;
}

uint64_t LargeObjectSpace::sweep() {
  uint64_t reclaimed = 0;
  std::vector<ChunkHeader*> kept;
  kept.reserve(chunks_.size());
  for (ChunkHeader* chunk : chunks_) {
    Object* object = reinterpret_cast<Object*>(chunk->large_object());
    const uint64_t word = object->header_word();
    if ((word & header::kMark) != 0) {
      object->set_header_word(word & ~header::kMark);
      kept.push_back(chunk);
      continue;
    }
    reclaimed += chunk->object_size;
    chunk_set_.erase(chunk->base());
    if (zap_) std::memset(chunk->large_object(), kZapByte, chunk->object_size);
    release(chunk);
  }
  chunks_.swap(kept);
  object_bytes_ -= reclaimed;
  return reclaimed;
}

void LargeObjectSpace::clear_cards() {
  for (ChunkHeader* chunk : chunks_)
    std::memset(chunk->cards, kCardClean, chunk->card_count);
}

Object* LargeObjectSpace::object_at(const void* p) const {
  const uintptr_t chunk = chunk_base_of(p);
  if (reinterpret_cast<uintptr_t>(p) != chunk + kLargeObjectOffset) return nullptr;
  if (chunk_set_.count(chunk) == 0) return nullptr;
  return reinterpret_cast<Object*>(const_cast<void*>(p));
}

VMM_NO_FUZZ_TRACING Status LargeObjectSpace::check(const ShapeTable& shapes) const {
  uint64_t bytes = 0;
  for (const ChunkHeader* chunk : chunks_) {
    const Object* object = reinterpret_cast<const Object*>(chunk->base() + kLargeObjectOffset);
    uint64_t card_count;
    if (chunk->kind != ChunkKind::kLarge || object->shape() == kNoShape ||
        object->shape() >= shapes.size() || size_of(shapes, object) != chunk->object_size ||
        chunk_bytes_for(chunk->object_size, &card_count) != chunk->bytes ||
        card_count != chunk->card_count) {
      return Status::error(ErrorCode::kBrokenInvariant,
                           "large-object space: chunk does not match its object", chunk->base(),
                           chunk->object_size);
    }
    bytes += chunk->object_size;
  }
  if (bytes != object_bytes_) {
    return Status::error(ErrorCode::kBrokenInvariant, "large-object space: object bytes are wrong",
                         bytes, object_bytes_);
  }
  return kOkStatus;
}

}  // namespace vmmem::gc
