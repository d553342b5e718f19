#include "mem/host_mapping.h"

#include <sys/mman.h>
#include <unistd.h>

#include <utility>

namespace vmmem::mem {
namespace {

uint64_t host_page_size() {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return page;
}

}  // namespace

Result<HostMapping> HostMapping::create(uint64_t size) {
  const uint64_t guard = host_page_size();
  VMM_CHECK(size > 0 && size % guard == 0, "HostMapping size must be whole host pages");
  if (size > UINT64_MAX - 2 * guard) {
    return Status::error(ErrorCode::kOutOfMemory, "RAM region too large for the host", 0, size);
  }
  // Reserve the guards and the body inaccessible, then open the body. MAP_NORESERVE: guest RAM
  // is committed page by page as the guest touches it, like any VMM's.
  void* base = mmap(nullptr, size + 2 * guard, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    return Status::error(ErrorCode::kOutOfMemory, "host mmap refused the RAM region", 0, size);
  }
  auto* body = static_cast<std::byte*>(base) + guard;
  if (mprotect(body, size, PROT_READ | PROT_WRITE) != 0) {
    munmap(base, size + 2 * guard);
    return Status::error(ErrorCode::kOutOfMemory, "host mprotect refused the RAM region", 0, size);
  }
  return HostMapping(body, size);
}

HostMapping::HostMapping(HostMapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

HostMapping& HostMapping::operator=(HostMapping&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

HostMapping::~HostMapping() {
  release();
}

void HostMapping::release() {
  if (data_ == nullptr) return;
  const uint64_t guard = host_page_size();
  munmap(data_ - guard, size_ + 2 * guard);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace vmmem::mem
