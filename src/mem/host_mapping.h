// HostMapping: the host memory that backs one guest RAM region: anonymous, a memfd of its own
// (shareable with another process, vhost-user style) or a caller's file, shared or private.
//
// Invariants:
//   1. A non-empty mapping owns exactly size() readable and writable bytes at data() (readable
//      only after protect_read_only()), zero when fresh, and releases them on destruction.
//   2. The mapping is made of whole pages of granule() bytes (a power of two, at least the
//      system page size): size() rounded up to a page is readable and writable, and one
//      inaccessible guard page sits directly below and one directly above that, so an access
//      that escapes the region faults instead of reading a neighbour.
//   3. A mapping is released when its owner lets go of it (GuestMemory shares it among table
//      versions and pins, so that is after the last holder). Released host ranges are not handed
//      back to the system at once: they stay reserved and inaccessible in a bounded process-wide
//      quarantine (at most kQuarantineBytes of address space in kQuarantineRanges ranges, oldest
//      released first), so a host span kept past its region's removal faults instead of writing
//      into whatever the next mapping puts there. A file-backed mapping lets go of its file
//      then too (the quarantine maps anonymous memory over it; the descriptor is closed).
//   4. A shared mapping (memfd, or a file mapped shared) has fd() >= 0 and its bytes are the
//      file's bytes [file_offset(), file_offset() + size()): a write through either side is
//      seen on the other. Every other mapping has fd() == -1.
//   5. Reuse (off unless the process turns it on with set_reuse_limit; fuzz targets do, as they
//      build and drop thousands of GuestMemory objects a second): a released anonymous mapping
//      without huge-page advice or read-only protection goes to a bounded reuse pool instead of
//      the quarantine. On the way in, every page it touched reads zeros again (resident pages
//      that are not all zeros are cleared and stay resident; all others are dropped, pages
//      that read zeros included, so a release scans what its last user touched, not every page
//      the body ever had); create() of the same
//      rounded size and granule takes the most recently released one back: zeros (invariant 1)
//      behind the same guards (invariant 2), without mapping and faulting in fresh memory.
//      Pooled bodies stay accessible (an mprotect round trip costs a fault per page on the next
//      touch, as much as a fresh mapping), so with reuse on, the quarantine's protection is
//      gone: a write through a span kept past its region's release lands in a pooled body and
//      shows up as non-zero bytes in the next region that takes it, not as a fault.
#pragma once

#include <cstddef>
#include <cstdint>

#include "support/status.h"

namespace vmmem::mem {

// What backs a RAM region (GuestMemory::add_ram).
struct RamBacking {
  enum class Kind : uint8_t {
    kAnonymous,  // private memory of this process
    kMemfd,      // a fresh memfd, shared: another process may map it (GuestMemory::shared_ram)
    kFile,       // the caller's file `fd` from `offset`, shared or private (copy-on-write)
  };
  Kind kind = Kind::kAnonymous;
  int fd = -1;          // kFile: open for reading (and writing when shared); duplicated, not kept
  uint64_t offset = 0;  // kFile: where the region starts in the file; a multiple of the host page
  bool shared = true;   // kFile: MAP_SHARED (writes reach the file) or MAP_PRIVATE
  // Ask for transparent huge pages (MADV_HUGEPAGE, the mapping aligned to 2 MiB). Advice: a
  // kernel that does not take it leaves ordinary pages, and that is not an error.
  bool huge_pages = false;
};

class HostMapping {
 public:
  HostMapping() = default;
  HostMapping(HostMapping&& other) noexcept;
  HostMapping& operator=(HostMapping&& other) noexcept;
  HostMapping(const HostMapping&) = delete;
  HostMapping& operator=(const HostMapping&) = delete;
  ~HostMapping();

  // Address space the quarantine (invariant 3) may hold.
  static constexpr uint64_t kQuarantineBytes = uint64_t{64} << 30;
  static constexpr size_t kQuarantineRanges = 1024;  // each is a kernel mapping (VMA)

  // Maps `size` bytes in pages of `granule` bytes: zeros, or the file's bytes for kFile.
  // Refused: a kFile fd that is not an open regular file (or not writable when shared), an
  // offset that is not a multiple of granule, or a file that ends before offset + size rounded
  // up to granule (a touch past its end would be SIGBUS) -> kInvalidArgument; the host refusing
  // the mapping or the memfd -> kOutOfMemory. REQUIRES: size > 0; granule a power of two and a
  // multiple of system_page_size().
  static Result<HostMapping> create(uint64_t size, uint64_t granule,
                                    const RamBacking& backing = {});
  static constexpr uint64_t kHugePageSize = uint64_t{2} << 20;
  static uint64_t system_page_size();
  // Bytes of guest RAM in mappings not yet released, process-wide (tests check release with it).
  static uint64_t live_bytes();
  // Invariant 5: keep up to `bytes` of released bodies for reuse; 0 (the default) turns reuse
  // off and hands what the pool holds to the quarantine.
  static void set_reuse_limit(uint64_t bytes);
  // Bodies the reuse pool holds now, and how many create() took back since the process began.
  static uint64_t reusable_bytes();
  static uint64_t reused_count();

  // Makes [offset, offset + size) read as zeros: whole host pages go back to the system
  // (anonymous: MADV_DONTNEED, the next touch maps a zero page; shared: a hole punched in the
  // file, so the other side reads zeros too), the partial host pages at either end are
  // cleared, and so is everything of a private file mapping (dropping its pages would bring
  // back the file's bytes). REQUIRES: the range lies inside the mapping.
  void zero(uint64_t offset, uint64_t size) const;

  // Makes the mapping read-only from now on (ROM): a write through any view of it faults.
  Status protect_read_only();

  std::byte* data() const { return data_; }
  uint64_t size() const { return size_; }
  uint64_t granule() const { return granule_; }
  // Invariant 4: the file behind a shared mapping, owned by the mapping, and where it starts.
  int fd() const { return fd_; }
  uint64_t file_offset() const { return file_offset_; }
  // Whether the kernel took the huge-page advice (RamBacking::huge_pages).
  bool huge_pages() const { return huge_pages_; }

 private:
  struct Parts {
    std::byte* data;
    uint64_t size;
    uint64_t granule;
    int fd;  // owned; -1 when none is kept
    uint64_t file_offset;
    bool private_file;
    bool huge_pages;
    bool reusable;  // invariant 5: anonymous, no huge-page advice
  };
  explicit HostMapping(const Parts& parts)
      : data_(parts.data),
        size_(parts.size),
        granule_(parts.granule),
        fd_(parts.fd),
        file_offset_(parts.file_offset),
        private_file_(parts.private_file),
        huge_pages_(parts.huge_pages),
        reusable_(parts.reusable) {}
  void release();

  std::byte* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t granule_ = 0;
  int fd_ = -1;
  uint64_t file_offset_ = 0;
  bool private_file_ = false;
  bool huge_pages_ = false;
  bool reusable_ = false;  // cleared by protect_read_only
};

}  // namespace vmmem::mem
