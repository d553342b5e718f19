// Chunks and cards: how the old generation is laid out so the write barrier can find a card
// from an object's address alone.
//
// Old and large objects live in chunks obtained from src/alloc, each aligned to kChunkBytes. A
// chunk starts with a ChunkHeader; its card table (one byte per kCardBytes of the chunk, from
// the chunk's start) begins at kCardsOffset; objects follow. A small-object chunk is exactly
// kChunkBytes; a large-object chunk holds one object and may be longer, with a card table
// long enough for all of it. Either way every object's header lies in the first kChunkBytes of
// its chunk, so chunk_of(object) is the object's address with the low bits cleared, and the
// card of a slot is (slot address - chunk) >> kCardShift.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmmem::gc {

inline constexpr unsigned kChunkShift = 18;
inline constexpr uint64_t kChunkBytes = uint64_t{1} << kChunkShift;  // 256 KiB
inline constexpr unsigned kCardShift = 9;
inline constexpr uint64_t kCardBytes = uint64_t{1} << kCardShift;  // 512 B
inline constexpr uint64_t kCardsOffset = 64;                       // after the ChunkHeader
inline constexpr uint8_t kCardClean = 0;
inline constexpr uint8_t kCardDirty = 1;

inline uintptr_t chunk_base_of(const void* object) {
  return reinterpret_cast<uintptr_t>(object) & ~(uintptr_t{kChunkBytes} - 1);
}
inline uint8_t* cards_of_chunk(uintptr_t chunk) {
  return reinterpret_cast<uint8_t*>(chunk + kCardsOffset);
}
// The card byte of `field`, a slot of the old or large object `holder`.
inline uint8_t* card_of(const void* holder, const void* field) {
  const uintptr_t chunk = chunk_base_of(holder);
  return cards_of_chunk(chunk) + ((reinterpret_cast<uintptr_t>(field) - chunk) >> kCardShift);
}

}  // namespace vmmem::gc
