#include "mmu/frame_allocator.h"

#include <algorithm>
#include <array>
#include <span>

#include "support/check.h"

namespace vmmem::mmu {

FrameAllocator::FrameAllocator(mem::GuestMemory& memory, uint64_t base, uint64_t size)
    : memory_(memory), base_(base), size_(size), next_(base) {
  VMM_CHECK(base % 4096 == 0 && size % 4096 == 0, "frame range must be 4 KiB aligned");
}

Result<uint64_t> FrameAllocator::allocate() {
  uint64_t frame;
  if (!free_.empty()) {
    frame = free_.back();
    free_.pop_back();
  } else if (next_ - base_ < size_) {
    frame = next_;
    next_ += 4096;
  } else {
    return Status::error(ErrorCode::kOutOfMemory, "no page-table frame left", base_, size_);
  }
  static constexpr std::array<std::byte, 4096> kZeros{};
  VMM_CHECK(memory_.write(frame, std::span<const std::byte>(kZeros)).ok(),
            "page-table frames must be RAM");
  return frame;
}

bool FrameAllocator::in_use(uint64_t frame) const {
  return owns(frame) && frame % 4096 == 0 &&
         std::find(free_.begin(), free_.end(), frame) == free_.end();
}

void FrameAllocator::free(uint64_t frame) {
  VMM_CHECK(in_use(frame), "freeing a frame the allocator never gave out, or twice");
  free_.push_back(frame);
}

Status FrameAllocator::check() const {
  if (next_ < base_ || next_ - base_ > size_ || (next_ - base_) % 4096 != 0) {
    return Status::error(ErrorCode::kBrokenInvariant, "frame allocator: bump pointer out of range",
                         next_, size_);
  }
  std::vector<uint64_t> sorted = free_;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!owns(sorted[i]) || (i > 0 && sorted[i] == sorted[i - 1])) {
      return Status::error(ErrorCode::kBrokenInvariant, "frame allocator: bad free frame",
                           sorted[i]);
    }
  }
  return kOkStatus;
}

}  // namespace vmmem::mmu
