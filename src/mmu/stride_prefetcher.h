// StridePrefetcher: watches the virtual page numbers of TLB misses and, once two misses in a
// row are the same distance apart (a stride of 1 to kMaxStride pages, either direction),
// predicts that the next `depth` pages at that stride will be wanted soon.
//
// Invariant: a prediction is made only when the last two strides were equal, non-zero and
// at most kMaxStride pages; a run of unrelated misses predicts nothing.
#pragma once

#include <cstdint>

namespace vmmem::mmu {

class StridePrefetcher {
 public:
  static constexpr int64_t kMaxStride = 64;

  // Records a miss on page `vpn`; returns the confirmed stride in pages, or 0.
  int64_t observe(uint64_t vpn) {
    const auto stride = static_cast<int64_t>(vpn - last_vpn_);
    const bool confirmed =
        stride != 0 && stride == last_stride_ && stride <= kMaxStride && stride >= -kMaxStride;
    last_stride_ = stride;
    last_vpn_ = vpn;
    return confirmed ? stride : 0;
  }

  // After prefetching up to page `vpn`, the next miss of the same stream lands one stride
  // past it: count the stride from there.
  void prefetched_up_to(uint64_t vpn) { last_vpn_ = vpn; }

 private:
  uint64_t last_vpn_ = 0;
  int64_t last_stride_ = 0;
};

}  // namespace vmmem::mmu
