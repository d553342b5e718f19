#include "gc/chunk.h"

namespace vmmem::gc {

namespace {
alloc::Options chunk_allocator_options() {
  alloc::Options options;
  // Chunks come and go in whole 256 KiB spans; keep freed ones mapped for the next major.
  options.purge = alloc::PurgePolicy::kDelayed;
  return options;
}
}  // namespace

ChunkSource::ChunkSource() : allocator_(chunk_allocator_options()) {}

void* ChunkSource::take(uint64_t bytes, bool zeroed) {
  if (fail_next_ > 0) {
    --fail_next_;
    return nullptr;
  }
  Result<void*> chunk = allocator_.try_allocate(bytes, kChunkBytes, zeroed);
  if (!chunk.ok()) return nullptr;
  bytes_ += bytes;
  return chunk.value();
}

void ChunkSource::give_back(void* chunk, uint64_t bytes) {
  bytes_ -= bytes;
  allocator_.deallocate(chunk);
}

}  // namespace vmmem::gc
