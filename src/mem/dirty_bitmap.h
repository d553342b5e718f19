// DirtyBitmap: which guest pages (kDirtyPageSize bytes each) of one RAM region were written
// since the bitmap was last taken; for live migration.
//
// Thread safety: mark() and take() may run concurrently from any number of threads. A write
// that races with take() is reported by this take() or by the next one, never lost.
//
// Invariants:
//   1. Bit i of word i / 64 stands for the region's page i; bits past the last page stay 0.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace vmmem::mem {

inline constexpr uint64_t kDirtyPageSize = 4096;

class DirtyBitmap {
 public:
  // REQUIRES: region_size > 0.
  explicit DirtyBitmap(uint64_t region_size)
      : words_((region_size + 64 * kDirtyPageSize - 1) / (64 * kDirtyPageSize)),
        bits_(std::make_unique<std::atomic<uint64_t>[]>(words_)) {}

  // Marks the pages of [offset, offset + size) within the region. REQUIRES: size > 0 and the
  // range inside the region. A page already marked costs one relaxed load.
  void mark(uint64_t offset, uint64_t size) {
    const uint64_t last = (offset + size - 1) / kDirtyPageSize;
    for (uint64_t page = offset / kDirtyPageSize; page <= last; ++page) {
      std::atomic<uint64_t>& word = bits_[page / 64];
      const uint64_t bit = uint64_t{1} << (page % 64);
      if ((word.load(std::memory_order_relaxed) & bit) == 0) {
        word.fetch_or(bit, std::memory_order_relaxed);
      }
    }
  }

  // The bitmap, cleared word by word as it is read.
  std::vector<uint64_t> take() {
    std::vector<uint64_t> out(words_);
    for (size_t i = 0; i < words_; ++i)
      out[i] = bits_[i].exchange(0, std::memory_order_acq_rel);
    return out;
  }

 private:
  size_t words_;
  std::unique_ptr<std::atomic<uint64_t>[]> bits_;
};

}  // namespace vmmem::mem
