// Chunks and cards: how the old generation is laid out so the write barrier can find a card
// from an object's address alone.
//
// Old and large objects live in chunks obtained from src/alloc, each aligned to kChunkBytes. A
// chunk starts with a ChunkHeader (chunk.h) whose first word points at the chunk's card table:
// one byte per kCardBytes of the chunk, counted from the chunk's start. A small-object chunk is
// exactly kChunkBytes with its cards right after the header (kCardsOffset); a large-object chunk
// holds one object, at kLargeObjectOffset, and may be much longer, with its cards after the
// object. Either way every object's header lies in the first kChunkBytes of its chunk, so the
// chunk of an object is its address with the low bits cleared, and the card of a slot is
// cards[(slot address - chunk) >> kCardShift]: the barrier's slow half is two loads and a store.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmmem::gc {

inline constexpr unsigned kChunkShift = 18;
inline constexpr uint64_t kChunkBytes = uint64_t{1} << kChunkShift;  // 256 KiB
inline constexpr unsigned kCardShift = 9;
inline constexpr uint64_t kCardBytes = uint64_t{1} << kCardShift;  // 512 B
inline constexpr uint64_t kCardsOffset = 64;  // small chunks: after the ChunkHeader
inline constexpr uint64_t kLargeObjectOffset = 64;
inline constexpr uint8_t kCardClean = 0;
inline constexpr uint8_t kCardDirty = 1;

inline uintptr_t chunk_base_of(const void* object) {
  return reinterpret_cast<uintptr_t>(object) & ~(uintptr_t{kChunkBytes} - 1);
}
// The card table of a chunk: the ChunkHeader's first word.
inline uint8_t* cards_of_chunk(uintptr_t chunk) {
  return *reinterpret_cast<uint8_t* const*>(chunk);
}
// The card byte of `field`, a slot of the old or large object `holder`.
inline uint8_t* card_of(const void* holder, const void* field) {
  const uintptr_t chunk = chunk_base_of(holder);
  return cards_of_chunk(chunk) + ((reinterpret_cast<uintptr_t>(field) - chunk) >> kCardShift);
}

}  // namespace vmmem::gc
