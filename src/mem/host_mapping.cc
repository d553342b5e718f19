#include "mem/host_mapping.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <utility>

namespace vmmem::mem {
namespace {

// The bytes of a mapping including its guards, rounded to whole pages.
uint64_t reserved_bytes(uint64_t size, uint64_t granule) {
  return (size + granule - 1) / granule * granule + 2 * granule;
}

// Released ranges, kept reserved and inaccessible (invariant 3).
class Quarantine {
 public:
  void hold(void* base, uint64_t bytes) {
    // Drop the pages and the access at once; keep the addresses out of the next mmap's reach.
    void* fresh = mmap(base, bytes, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (fresh == MAP_FAILED) {
      munmap(base, bytes);
      return;
    }
    std::lock_guard lock(mutex_);
    held_.push_back({base, bytes});
    held_bytes_ += bytes;
    while (held_bytes_ > HostMapping::kQuarantineBytes ||
           held_.size() > HostMapping::kQuarantineRanges) {
      munmap(held_.front().first, held_.front().second);
      held_bytes_ -= held_.front().second;
      held_.pop_front();
    }
  }

 private:
  std::mutex mutex_;
  std::deque<std::pair<void*, uint64_t>> held_;
  uint64_t held_bytes_ = 0;
};

std::atomic<uint64_t> live_mapping_bytes{0};

Quarantine& quarantine() {
  static Quarantine* const instance = new Quarantine();  // never destroyed: used by destructors
  return *instance;
}

}  // namespace

uint64_t HostMapping::system_page_size() {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return page;
}

Result<HostMapping> HostMapping::create(uint64_t size, uint64_t granule) {
  VMM_CHECK(size > 0 && granule % system_page_size() == 0 && (granule & (granule - 1)) == 0,
            "HostMapping needs a nonempty size and a power-of-two multiple of the system page");
  if (size > UINT64_MAX - 3 * granule) {
    return Status::error(ErrorCode::kOutOfMemory, "RAM region too large for the host", 0, size);
  }
  const uint64_t total = reserved_bytes(size, granule);
  const uint64_t body_bytes = total - 2 * granule;
  // Reserve the guards and the body inaccessible, then open the body. MAP_NORESERVE: guest RAM
  // is committed page by page as the guest touches it, like any VMM's.
  void* base = mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    return Status::error(ErrorCode::kOutOfMemory, "host mmap refused the RAM region", 0, size);
  }
  auto* body = static_cast<std::byte*>(base) + granule;
  if (mprotect(body, body_bytes, PROT_READ | PROT_WRITE) != 0) {
    munmap(base, total);
    return Status::error(ErrorCode::kOutOfMemory, "host mprotect refused the RAM region", 0, size);
  }
  live_mapping_bytes.fetch_add(size, std::memory_order_relaxed);
  return HostMapping(body, size, granule);
}

void HostMapping::zero(uint64_t offset, uint64_t size) const {
  const uint64_t end = offset + size;
  const uint64_t first_page = (offset + granule_ - 1) / granule_ * granule_;
  const uint64_t end_page = end / granule_ * granule_;
  if (first_page >= end_page) {
    std::memset(data_ + offset, 0, size);
    return;
  }
  std::memset(data_ + offset, 0, first_page - offset);
  // Anonymous private memory reads as zeros after MADV_DONTNEED; should the kernel refuse,
  // clearing the bytes keeps the contract.
  if (madvise(data_ + first_page, end_page - first_page, MADV_DONTNEED) != 0)
    std::memset(data_ + first_page, 0, end_page - first_page);
  std::memset(data_ + end_page, 0, end - end_page);
}

Status HostMapping::protect_read_only() {
  const uint64_t body = (size_ + granule_ - 1) / granule_ * granule_;
  if (mprotect(data_, body, PROT_READ) != 0) {
    return Status::error(ErrorCode::kOutOfMemory, "host mprotect refused read-only", 0, size_);
  }
  return kOkStatus;
}

uint64_t HostMapping::live_bytes() {
  return live_mapping_bytes.load(std::memory_order_relaxed);
}

HostMapping::HostMapping(HostMapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      granule_(std::exchange(other.granule_, 0)) {}

HostMapping& HostMapping::operator=(HostMapping&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    granule_ = std::exchange(other.granule_, 0);
  }
  return *this;
}

HostMapping::~HostMapping() {
  release();
}

void HostMapping::release() {
  if (data_ == nullptr) return;
  quarantine().hold(data_ - granule_, reserved_bytes(size_, granule_));
  live_mapping_bytes.fetch_sub(size_, std::memory_order_relaxed);
  data_ = nullptr;
  size_ = 0;
  granule_ = 0;
}

}  // namespace vmmem::mem
