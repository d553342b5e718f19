#include "mem/host_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <iterator>
#include <mutex>
#include <utility>
#include <vector>

#include "support/check.h"

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

// Whether a resident page reads all zeros (memcmp of the page against itself shifted by one).
VMM_NO_FUZZ_TRACING bool page_is_zero(const std::byte* page, uint64_t bytes) {
  return page[0] == std::byte{0} && std::memcmp(page, page + 1, bytes - 1) == 0;
}

// Makes every page of an anonymous body read zeros again, keeping only the pages that were
// written: a resident page that is not all zeros is cleared and kept (the next user of the body
// is likely to write there too), and each run of other pages is dropped. Those are the pages
// that are not resident (they may be swapped out with data on them) and the resident pages that
// read zeros already (a page only ever read maps the shared zero page). Keeping zero pages would
// make every later release of the body scan each page it ever touched, so a body reused many
// times (a fuzz target's) paid for its whole history at each release, not for what its last
// user touched. Out of libFuzzer's comparison tracing: it walks pages, not the input.
VMM_NO_FUZZ_TRACING void clear_touched_pages(std::byte* body, uint64_t body_bytes) {
  const uint64_t page = HostMapping::system_page_size();
  const size_t pages = body_bytes / page;
  size_t drop_from = pages;  // start of the current run of pages to drop
  const auto drop_run = [&](size_t end) {
    if (drop_from < end) madvise(body + drop_from * page, (end - drop_from) * page, MADV_DONTNEED);
    drop_from = pages;
  };
  // mincore in chunks, on the stack: a release may run in a thread's exit path.
  constexpr size_t kChunk = 4096;
  unsigned char resident[kChunk];
  for (size_t first = 0; first < pages; first += kChunk) {
    const size_t count = std::min(kChunk, pages - first);
    if (mincore(body + first * page, count * page, resident) != 0) {
      std::memset(resident, 0, count);  // unknown: drop them all
    }
    for (size_t i = first; i < first + count; ++i) {
      std::byte* const at = body + i * page;
      if ((resident[i - first] & 1) == 0 || page_is_zero(at, page)) {
        if (drop_from == pages) drop_from = i;
        continue;
      }
      drop_run(i);
      std::memset(at, 0, page);
    }
  }
  drop_run(pages);
}

// Released bodies kept for reuse (invariant 5), most recently released last.
class ReusePool {
 public:
  void set_limit(uint64_t bytes) {
    std::vector<Body> evicted;
    {
      std::lock_guard lock(mutex_);
      limit_.store(bytes, std::memory_order_relaxed);
      evict_beyond(bytes, evicted);
    }
    quarantine_all(evicted);
  }

  // Keeps a released body; false when reuse is off or the body alone is over the limit (the
  // caller quarantines it then).
  bool keep(std::byte* body, uint64_t body_bytes, uint64_t granule) {
    if (body_bytes > limit_.load(std::memory_order_relaxed)) return false;
    clear_touched_pages(body, body_bytes);
    std::vector<Body> evicted;
    {
      std::lock_guard lock(mutex_);
      kept_.push_back({body, body_bytes, granule});
      kept_bytes_ += body_bytes;
      evict_beyond(limit_.load(std::memory_order_relaxed), evicted);  // it may have changed
    }
    quarantine_all(evicted);
    return true;
  }

  // A kept body of exactly `body_bytes` in pages of `granule`, accessible again; null if none.
  std::byte* take(uint64_t body_bytes, uint64_t granule) {
    if (limit_.load(std::memory_order_relaxed) == 0) return nullptr;
    Body found{};
    {
      std::lock_guard lock(mutex_);
      for (auto it = kept_.rbegin(); it != kept_.rend(); ++it) {
        if (it->bytes == body_bytes && it->granule == granule) {
          found = *it;
          kept_.erase(std::next(it).base());
          kept_bytes_ -= body_bytes;
          break;
        }
      }
    }
    if (found.body == nullptr) return nullptr;
    reused_.fetch_add(1, std::memory_order_relaxed);
    return found.body;
  }

  uint64_t kept_bytes() {
    std::lock_guard lock(mutex_);
    return kept_bytes_;
  }
  uint64_t reused() const { return reused_.load(std::memory_order_relaxed); }

 private:
  struct Body {
    std::byte* body;
    uint64_t bytes;
    uint64_t granule;
  };

  // Moves the oldest bodies out until at most `bytes` stay. REQUIRES: mutex_ held.
  void evict_beyond(uint64_t bytes, std::vector<Body>& evicted) {
    size_t count = 0;
    while (count < kept_.size() && kept_bytes_ > bytes) {
      kept_bytes_ -= kept_[count].bytes;
      evicted.push_back(kept_[count++]);
    }
    kept_.erase(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(count));
  }

  static void quarantine_all(const std::vector<Body>& bodies) {
    for (const Body& body : bodies)
      quarantine().hold(body.body - body.granule, reserved_bytes(body.bytes, body.granule));
  }

  std::mutex mutex_;
  std::vector<Body> kept_;
  uint64_t kept_bytes_ = 0;
  std::atomic<uint64_t> limit_{0};
  std::atomic<uint64_t> reused_{0};
};

ReusePool& reuse_pool() {
  static ReusePool* const instance = new ReusePool();  // never destroyed: used by destructors
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
  const bool reusable = backing.kind == Kind::kAnonymous && !backing.huge_pages;
  if (reusable) {
    if (std::byte* body = reuse_pool().take(body_bytes, granule)) {
      live_mapping_bytes.fetch_add(size, std::memory_order_relaxed);
      return HostMapping(Parts{body, size, granule, -1, 0, false, false, true});
    }
  }

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
  return HostMapping(Parts{body, size, granule, fd, offset,
                           backing.kind == Kind::kFile && !backing.shared, huge, reusable});
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
  reusable_ = false;
  return kOkStatus;
}

uint64_t HostMapping::live_bytes() {
  return live_mapping_bytes.load(std::memory_order_relaxed);
}

void HostMapping::set_reuse_limit(uint64_t bytes) {
  reuse_pool().set_limit(bytes);
}

uint64_t HostMapping::reusable_bytes() {
  return reuse_pool().kept_bytes();
}

uint64_t HostMapping::reused_count() {
  return reuse_pool().reused();
}

HostMapping::HostMapping(HostMapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      granule_(std::exchange(other.granule_, 0)),
      fd_(std::exchange(other.fd_, -1)),
      file_offset_(std::exchange(other.file_offset_, 0)),
      private_file_(std::exchange(other.private_file_, false)),
      huge_pages_(std::exchange(other.huge_pages_, false)),
      reusable_(std::exchange(other.reusable_, false)) {}

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
    reusable_ = std::exchange(other.reusable_, false);
  }
  return *this;
}

HostMapping::~HostMapping() {
  release();
}

void HostMapping::release() {
  if (data_ == nullptr) return;
  const uint64_t body_bytes = round_up(size_, granule_);
  if (!reusable_ || !reuse_pool().keep(data_, body_bytes, granule_))
    quarantine().hold(data_ - granule_, reserved_bytes(size_, granule_));
  live_mapping_bytes.fetch_sub(size_, std::memory_order_relaxed);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  data_ = nullptr;
  size_ = 0;
  granule_ = 0;
}

}  // namespace vmmem::mem
