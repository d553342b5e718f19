#include "gc/old_space.h"

#include <algorithm>
#include <cstring>

#include "alloc/sanitizer.h"
#include "gc/young_space.h"
#include "support/check.h"

namespace vmmem::gc {

namespace {
constexpr uint32_t kFirstCell = static_cast<uint32_t>(kCardsOffset + kChunkBytes / kCardBytes);
static_assert(kFirstCell % 16 == 0);
// The fewest object bytes a carved chunk holds, whatever its class.
constexpr uint64_t kMinPayload = kChunkBytes - kFirstCell - kMaxCellSize;
// Empty chunks a sweep keeps for reuse beyond what the next promotion needs.
constexpr size_t kMaxReserve = 64;
constexpr uint64_t kFreeCellWords = sizeof(uint64_t) * 2;
}  // namespace

OldSpace::OldSpace(ChunkSource& source, bool zap) : source_(source), zap_(zap) {}

OldSpace::~OldSpace() {
  for (ChunkHeader* chunk : chunks_)
    release(chunk);
  for (ChunkHeader* chunk : reserve_)
    release(chunk);
}

void OldSpace::release(ChunkHeader* chunk) {
  alloc::unpoison(chunk, kChunkBytes);
  source_.give_back(chunk, kChunkBytes);
}

bool OldSpace::reserve_for(uint64_t bytes, uint64_t max_object) {
  const uint64_t classes = uint64_t{cell_class(max_object)} + 1;
  const uint64_t touched = (bytes + 15) / 16;
  const uint64_t need = (bytes + kMinPayload - 1) / kMinPayload + std::min(classes, touched);
  while (reserve_.size() < need) {
    void* chunk = source_.take(kChunkBytes);
    if (chunk == nullptr) return false;
    reserve_.push_back(static_cast<ChunkHeader*>(chunk));
  }
  return true;
}

bool OldSpace::carve_new_chunk(uint32_t cls) {
  ChunkHeader* chunk;
  if (!reserve_.empty()) {
    chunk = reserve_.back();
    reserve_.pop_back();
  } else {
    chunk = static_cast<ChunkHeader*>(source_.take(kChunkBytes));
    if (chunk == nullptr) return false;
  }
  carve(chunk, cls);
  return true;
}

void OldSpace::carve(ChunkHeader* chunk, uint32_t cls) {
  alloc::unpoison(chunk, kFirstCell);
  chunk->cards = reinterpret_cast<uint8_t*>(chunk->base() + kCardsOffset);
  chunk->bytes = kChunkBytes;
  chunk->card_count = kChunkBytes / kCardBytes;
  chunk->kind = ChunkKind::kSmall;
  chunk->size_class = static_cast<uint8_t>(cls);
  chunk->cell_size = cell_size_of_class(cls);
  chunk->cell_count = static_cast<uint32_t>((kChunkBytes - kFirstCell) / chunk->cell_size);
  chunk->first_cell = kFirstCell;
  chunk->live_cells = 0;
  chunk->object_size = 0;
  std::memset(chunk->cards, kCardClean, chunk->card_count);
  // Pushed from the last cell down, so cells are handed out in address order.
  for (uint32_t i = chunk->cell_count; i-- > 0;)
    free_cell(chunk->cell(i), chunk->cell_size);
  chunks_.push_back(chunk);
  chunk_set_.insert(chunk->base());
}

void OldSpace::free_cell(std::byte* cell, uint32_t cell_size) {
  // A cell already free (a sweep relists every free cell) is poisoned past its two words.
  alloc::unpoison(cell, zap_ ? cell_size : kFreeCellWords);
  if (zap_) std::memset(cell + kFreeCellWords, kZapByte, cell_size - kFreeCellWords);
  alloc::poison(cell + kFreeCellWords, cell_size - kFreeCellWords);
  FreeCell* free = reinterpret_cast<FreeCell*>(cell);
  const uint32_t cls = cell_class(cell_size);
  free->header = 0;
  free->next = free_[cls];
  free_[cls] = free;
  ++free_cells_[cls];
}

uint64_t OldSpace::sweep(const ShapeTable& shapes) {
  uint64_t reclaimed = 0;
  for (uint32_t cls = 0; cls < kCellClasses; ++cls) {
    free_[cls] = nullptr;
    free_cells_[cls] = 0;
  }
  std::vector<ChunkHeader*> kept;
  kept.reserve(chunks_.size());
  for (ChunkHeader* chunk : chunks_) {
    uint32_t live = 0;
    for (uint32_t i = 0; i < chunk->cell_count; ++i) {
      Object* object = reinterpret_cast<Object*>(chunk->cell(i));
      const uint64_t word = object->header_word();
      if (word == 0) continue;
      if ((word & header::kMark) != 0) {
        object->set_header_word(word & ~header::kMark);
        ++live;
        continue;
      }
      const uint64_t size = size_of(shapes, object);
      reclaimed += size;
      object->set_header_word(0);
    }
    chunk->live_cells = live;
    if (live == 0) {
      chunk_set_.erase(chunk->base());
      if (reserve_.size() < kMaxReserve) {
        alloc::poison(chunk, kChunkBytes);
        reserve_.push_back(chunk);
      } else {
        release(chunk);
      }
      continue;
    }
    for (uint32_t i = chunk->cell_count; i-- > 0;) {
      std::byte* cell = chunk->cell(i);
      if (reinterpret_cast<Object*>(cell)->header_word() == 0) free_cell(cell, chunk->cell_size);
    }
    kept.push_back(chunk);
  }
  chunks_.swap(kept);
  object_bytes_ -= reclaimed;
  return reclaimed;
}

void OldSpace::clear_cards() {
  for (ChunkHeader* chunk : chunks_)
    std::memset(chunk->cards, kCardClean, chunk->card_count);
}

Object* OldSpace::object_at(const void* p) const {
  const uintptr_t chunk_base = chunk_base_of(p);
  if (!owns_chunk(chunk_base)) return nullptr;
  const ChunkHeader* chunk = reinterpret_cast<const ChunkHeader*>(chunk_base);
  const uintptr_t offset = reinterpret_cast<uintptr_t>(p) - chunk_base;
  if (offset < chunk->first_cell || (offset - chunk->first_cell) % chunk->cell_size != 0) {
    return nullptr;
  }
  if ((offset - chunk->first_cell) / chunk->cell_size >= chunk->cell_count) return nullptr;
  Object* object = reinterpret_cast<Object*>(const_cast<void*>(p));
  return object->header_word() == 0 ? nullptr : object;
}

VMM_NO_FUZZ_TRACING Status OldSpace::check(const ShapeTable& shapes) const {
  // Which cells the free lists name: one byte per cell, chunk c's from first_listed[c] on, chunks
  // found by address.
  std::vector<const ChunkHeader*> sorted(chunks_.begin(), chunks_.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<size_t> first_listed(sorted.size() + 1, 0);
  for (size_t i = 0; i < sorted.size(); ++i)
    first_listed[i + 1] = first_listed[i] + sorted[i]->cell_count;
  std::vector<uint8_t> listed(first_listed.back(), 0);
  for (uint32_t cls = 0; cls < kCellClasses; ++cls) {
    uint64_t count = 0;
    // A free list mostly runs through one chunk at a time: look a chunk up only when it changes.
    const ChunkHeader* last_chunk = nullptr;
    size_t last_index = 0;
    for (const FreeCell* cell = free_[cls]; cell != nullptr; cell = cell->next) {
      const ChunkHeader* chunk = ChunkHeader::of(cell);
      if (chunk != last_chunk) {
        const auto at = std::lower_bound(sorted.begin(), sorted.end(), chunk);
        if (at == sorted.end() || *at != chunk) {
          return Status::error(ErrorCode::kBrokenInvariant,
                               "old space: a free-list cell is not a free cell of its class",
                               reinterpret_cast<uintptr_t>(cell), cls);
        }
        last_chunk = chunk;
        last_index = static_cast<size_t>(at - sorted.begin());
      }
      const uint64_t offset = reinterpret_cast<uintptr_t>(cell) - chunk->base();
      const bool in_chunk = chunk->size_class == cls && offset >= chunk->first_cell &&
                            (offset - chunk->first_cell) % chunk->cell_size == 0 &&
                            (offset - chunk->first_cell) / chunk->cell_size < chunk->cell_count;
      if (!in_chunk || cell->header != 0) {
        return Status::error(ErrorCode::kBrokenInvariant,
                             "old space: a free-list cell is not a free cell of its class",
                             reinterpret_cast<uintptr_t>(cell), cls);
      }
      uint8_t& bit =
          listed[first_listed[last_index] + (offset - chunk->first_cell) / chunk->cell_size];
      if (bit != 0) {
        return Status::error(ErrorCode::kBrokenInvariant, "old space: a cell is listed free twice",
                             reinterpret_cast<uintptr_t>(cell), cls);
      }
      bit = 1;
      ++count;
    }
    if (count != free_cells_[cls]) {
      return Status::error(ErrorCode::kBrokenInvariant, "old space: free-cell count is wrong", cls,
                           count);
    }
  }
  uint64_t bytes = 0;
  for (size_t c = 0; c < sorted.size(); ++c) {
    const ChunkHeader* chunk = sorted[c];
    if (chunk->kind != ChunkKind::kSmall || !owns_chunk(chunk->base()) ||
        chunk->cards != reinterpret_cast<const uint8_t*>(chunk->base() + kCardsOffset)) {
      return Status::error(ErrorCode::kBrokenInvariant, "old space: chunk header is wrong",
                           chunk->base());
    }
    uint32_t live = 0;
    for (uint32_t i = 0; i < chunk->cell_count; ++i) {
      const Object* object = reinterpret_cast<const Object*>(chunk->base() + chunk->first_cell +
                                                             uint64_t{i} * chunk->cell_size);
      if (object->header_word() == 0) {
        if (listed[first_listed[c] + i] == 0) {
          return Status::error(ErrorCode::kBrokenInvariant,
                               "old space: a free cell is on no free list",
                               reinterpret_cast<uintptr_t>(object));
        }
        continue;
      }
      ++live;
      if (object->shape() == kNoShape || object->shape() >= shapes.size()) {
        return Status::error(ErrorCode::kBrokenInvariant, "old space: cell has an unknown shape",
                             reinterpret_cast<uintptr_t>(object), object->shape());
      }
      const uint64_t size = size_of(shapes, object);
      if (cell_class(size) != chunk->size_class) {
        return Status::error(ErrorCode::kBrokenInvariant,
                             "old space: object in a cell of another size class",
                             reinterpret_cast<uintptr_t>(object), size);
      }
      bytes += size;
    }
    if (live != chunk->live_cells) {
      return Status::error(ErrorCode::kBrokenInvariant, "old space: live-cell count is wrong",
                           chunk->base(), live);
    }
  }
  if (bytes != object_bytes_) {
    return Status::error(ErrorCode::kBrokenInvariant, "old space: object bytes are wrong", bytes,
                         object_bytes_);
  }
  return kOkStatus;
}

}  // namespace vmmem::gc
