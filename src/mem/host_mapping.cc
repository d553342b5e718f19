#include "mem/host_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

namespace {

uint64_t round_up(uint64_t value, uint64_t granule) {
  return (value + granule - 1) / granule * granule;
}

Status refused(ErrorCode code, const char* why, uint64_t size) {
  return Status::error(code, why, 0, size);
}

// The checks of a caller's file (create's kInvalidArgument cases), before anything is mapped.
Status check_file(const RamBacking& backing, uint64_t body_bytes, uint64_t granule) {
  struct stat file {};
  if (backing.fd < 0 || fstat(backing.fd, &file) != 0 || !S_ISREG(file.st_mode)) {
    return refused(ErrorCode::kInvalidArgument, "RAM file is not an open regular file", body_bytes);
  }
  const int mode = fcntl(backing.fd, F_GETFL) & O_ACCMODE;
  if (mode == O_WRONLY || (backing.shared && mode != O_RDWR)) {
    return refused(ErrorCode::kInvalidArgument,
                   "RAM file must be open for reading, and writing when shared", body_bytes);
  }
  if (backing.offset % granule != 0) {
    return refused(ErrorCode::kInvalidArgument, "RAM file offset is not a host page multiple",
                   body_bytes);
  }
  if (backing.offset > UINT64_MAX - body_bytes ||
      backing.offset + body_bytes > static_cast<uint64_t>(file.st_size)) {
    return refused(ErrorCode::kInvalidArgument, "RAM file ends before the region does", body_bytes);
  }
  return kOkStatus;
}

// Reserves a guard page, `body_bytes` and a guard page, all inaccessible, the body aligned to
// `alignment` (a power of two); returns the body, or null. mmap aligns to the system page only,
// so a larger alignment reserves that much more and gives the slack back.
std::byte* reserve(uint64_t body_bytes, uint64_t granule, uint64_t alignment) {
  const uint64_t total = body_bytes + 2 * granule;
  const uint64_t slack = alignment > HostMapping::system_page_size() ? alignment : 0;
  void* raw =
      mmap(nullptr, total + slack, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto* start = static_cast<std::byte*>(raw);
  const uintptr_t first_body = reinterpret_cast<uintptr_t>(start) + granule;
  auto* body = start + (round_up(first_body, alignment) - reinterpret_cast<uintptr_t>(start));
  // Give back the slack on either side of guard + body + guard.
  std::byte* const below = body - granule;
  std::byte* const above = body + body_bytes + granule;
  if (below != start) munmap(start, static_cast<size_t>(below - start));
  if (above != start + total + slack)
    munmap(above, static_cast<size_t>(start + total + slack - above));
  return body;
}

// Opens the reserved body: anonymous memory made accessible, or a file mapped over it.
bool open_body(std::byte* body, uint64_t body_bytes, int fd, uint64_t offset, bool shared) {
  if (fd < 0) return mprotect(body, body_bytes, PROT_READ | PROT_WRITE) == 0;
  void* mapped =
      mmap(body, body_bytes, PROT_READ | PROT_WRITE,
           (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, fd, static_cast<off_t>(offset));
  return mapped != MAP_FAILED;
}

}  // namespace

Result<HostMapping> HostMapping::create(uint64_t size, uint64_t granule,
                                        const RamBacking& backing) {
  VMM_CHECK(size > 0 && granule % system_page_size() == 0 && (granule & (granule - 1)) == 0,
            "HostMapping needs a nonempty size and a power-of-two multiple of the system page");
  if (size > UINT64_MAX - 3 * granule - kHugePageSize) {
    return refused(ErrorCode::kOutOfMemory, "RAM region too large for the host", size);
  }
  const uint64_t body_bytes = round_up(size, granule);
  using Kind = RamBacking::Kind;
  if (backing.kind == Kind::kFile) {
    if (Status status = check_file(backing, body_bytes, granule); !status.ok()) return status;
  }

  // The file the body maps, if any, and whether the mapping keeps it (shared ones do).
  int fd = -1;
  uint64_t offset = 0;
  const bool shared =
      backing.kind == Kind::kMemfd || (backing.kind == Kind::kFile && backing.shared);
  if (backing.kind == Kind::kMemfd) {
    fd = memfd_create("vmmem-guest-ram", MFD_CLOEXEC);
    if (fd < 0) return refused(ErrorCode::kOutOfMemory, "host refused a memfd", size);
    if (ftruncate(fd, static_cast<off_t>(body_bytes)) != 0) {
      close(fd);
      return refused(ErrorCode::kOutOfMemory, "host refused to size the memfd", size);
    }
  } else if (backing.kind == Kind::kFile) {
    fd = fcntl(backing.fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return refused(ErrorCode::kOutOfMemory, "host refused to duplicate the fd", size);
    offset = backing.offset;
  }

  // Reserve the guards and the body inaccessible, then open the body. MAP_NORESERVE: guest RAM
  // is committed page by page as the guest touches it, like any VMM's.
  const uint64_t alignment = backing.huge_pages ? kHugePageSize : system_page_size();
  std::byte* body = reserve(body_bytes, granule, alignment);
  if (body == nullptr || !open_body(body, body_bytes, fd, offset, shared)) {
    if (body != nullptr) munmap(body - granule, body_bytes + 2 * granule);
    if (fd >= 0) close(fd);
    return refused(ErrorCode::kOutOfMemory, "host mmap refused the RAM region", size);
  }
  const bool huge = backing.huge_pages && madvise(body, body_bytes, MADV_HUGEPAGE) == 0;
  if (!shared && fd >= 0) {  // a private mapping keeps its file referenced by itself
    close(fd);
    fd = -1;
  }
  live_mapping_bytes.fetch_add(size, std::memory_order_relaxed);
  return HostMapping(
      Parts{body, size, granule, fd, offset, backing.kind == Kind::kFile && !backing.shared, huge});
}

void HostMapping::zero(uint64_t offset, uint64_t size) const {
  const uint64_t end = offset + size;
  const uint64_t first_page = round_up(offset, granule_);
  const uint64_t end_page = end / granule_ * granule_;
  if (first_page >= end_page || private_file_) {
    std::memset(data_ + offset, 0, size);
    return;
  }
  std::memset(data_ + offset, 0, first_page - offset);
  // Should the kernel refuse to drop the pages, clearing the bytes keeps the contract.
  const uint64_t whole = end_page - first_page;
  const bool dropped = fd_ >= 0 ? fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                            static_cast<off_t>(file_offset_ + first_page),
                                            static_cast<off_t>(whole)) == 0
                                : madvise(data_ + first_page, whole, MADV_DONTNEED) == 0;
  if (!dropped) std::memset(data_ + first_page, 0, whole);
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
      granule_(std::exchange(other.granule_, 0)),
      fd_(std::exchange(other.fd_, -1)),
      file_offset_(std::exchange(other.file_offset_, 0)),
      private_file_(std::exchange(other.private_file_, false)),
      huge_pages_(std::exchange(other.huge_pages_, false)) {}

HostMapping& HostMapping::operator=(HostMapping&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    granule_ = std::exchange(other.granule_, 0);
    fd_ = std::exchange(other.fd_, -1);
    file_offset_ = std::exchange(other.file_offset_, 0);
    private_file_ = std::exchange(other.private_file_, false);
    huge_pages_ = std::exchange(other.huge_pages_, false);
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
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  data_ = nullptr;
  size_ = 0;
  granule_ = 0;
}

}  // namespace vmmem::mem
