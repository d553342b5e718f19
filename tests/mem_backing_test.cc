// RAM backings (RamBacking): a memfd shared with another mapper, a caller's file mapped shared
// or private, huge-page advice; shared_ram's refusals; discard on every backing. Each runs on 4,
// 16 and 64 KiB host pages.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "mem/guest_memory.h"

namespace vmmem::mem {
namespace {

constexpr uint64_t kBase = 0x100000;
constexpr uint64_t kSize = 0x40000;  // 256 KiB: whole pages of every host page size tested

// A temporary regular file of `bytes` zeros (unlinked: it lives as long as its fd).
class TempFile {
 public:
  explicit TempFile(uint64_t bytes, int flags = O_RDWR) {
    char name[] = "/tmp/vmmem-ram-XXXXXX";
    const int rw = mkstemp(name);
    EXPECT_GE(rw, 0);
    unlink(name);
    EXPECT_EQ(ftruncate(rw, static_cast<off_t>(bytes)), 0);
    if (flags == O_RDWR) {
      fd_ = rw;
    } else {  // reopen with other access through /proc, then drop the writable fd
      fd_ = open(("/proc/self/fd/" + std::to_string(rw)).c_str(), flags);
      close(rw);
    }
  }
  ~TempFile() { close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

uint64_t pread_u64(int fd, uint64_t offset) {
  uint64_t value = 0;
  EXPECT_EQ(pread(fd, &value, sizeof value, static_cast<off_t>(offset)), 8);
  return value;
}

void pwrite_u64(int fd, uint64_t offset, uint64_t value) {
  EXPECT_EQ(pwrite(fd, &value, sizeof value, static_cast<off_t>(offset)), 8);
}

class Backing : public ::testing::TestWithParam<uint64_t> {
 protected:
  uint64_t host_page() const { return std::max(GetParam(), HostMapping::system_page_size()); }
  GuestMemoryLimits limits() const { return {.host_page_size = GetParam()}; }
  GuestMemory memory_{limits()};
};

TEST_P(Backing, TheSameMemfdMappedTwiceSeesWritesOnBothSides) {
  ASSERT_TRUE(memory_.add_ram(kBase, kSize, RamBacking{.kind = RamBacking::Kind::kMemfd}).ok());
  Result<SharedRam> shared = memory_.shared_ram(kBase, kSize);
  ASSERT_TRUE(shared.ok()) << shared.status().what();
  EXPECT_EQ(shared.value().offset, 0u);

  // The other side: a second guest memory (a vhost-user backend's view) over the same file,
  // and the same memory mapping it again at another guest address.
  GuestMemory backend(limits());
  const RamBacking same_file{.kind = RamBacking::Kind::kFile, .fd = shared.value().fd};
  ASSERT_TRUE(backend.add_ram(0x7000000, kSize, same_file).ok());
  ASSERT_TRUE(memory_.add_ram(0x8000000, kSize, same_file).ok());

  ASSERT_TRUE(memory_.write<uint64_t>(kBase + 0x1238, 0x1122334455667788).ok());
  EXPECT_EQ(backend.read<uint64_t>(0x7000000 + 0x1238).value(), 0x1122334455667788u);
  EXPECT_EQ(memory_.read<uint64_t>(0x8000000 + 0x1238).value(), 0x1122334455667788u);
  ASSERT_TRUE(backend.write<uint32_t>(0x7000000 + kSize - 4, 0xcafef00d).ok());
  EXPECT_EQ(memory_.read<uint32_t>(kBase + kSize - 4).value(), 0xcafef00du);
  // And through the file itself, as a process reading the fd would.
  EXPECT_EQ(pread_u64(shared.value().fd, 0x1238), 0x1122334455667788u);
  pwrite_u64(shared.value().fd, 0x2000, 42);
  EXPECT_EQ(memory_.read<uint64_t>(kBase + 0x2000).value(), 42u);
  EXPECT_TRUE(memory_.check().ok());
  EXPECT_TRUE(backend.check().ok());
}

TEST_P(Backing, SharedRamKeepsTheFileOpenPastRemove) {
  ASSERT_TRUE(memory_.add_ram(kBase, kSize, RamBacking{.kind = RamBacking::Kind::kMemfd}).ok());
  ASSERT_TRUE(memory_.write<uint64_t>(kBase + 0x3000, 77).ok());
  SharedRam shared = memory_.shared_ram(kBase + 0x3000, 8).value();
  EXPECT_EQ(shared.offset, 0x3000u);
  ASSERT_TRUE(memory_.remove(kBase).ok());
  EXPECT_EQ(pread_u64(shared.fd, shared.offset), 77u);  // the hold kept it open
}

TEST_P(Backing, ASharedFileTakesTheGuestsWritesAndAPrivateOneDoesNot) {
  TempFile file(2 * kSize);
  pwrite_u64(file.fd(), kSize + 0x10, 0xabcdef);
  const RamBacking shared{.kind = RamBacking::Kind::kFile, .fd = file.fd(), .offset = kSize};
  ASSERT_TRUE(memory_.add_ram(kBase, kSize, shared).ok());
  EXPECT_EQ(memory_.read<uint64_t>(kBase + 0x10).value(), 0xabcdefu);  // the file's bytes
  ASSERT_TRUE(memory_.write<uint64_t>(kBase + 0x20, 5).ok());
  EXPECT_EQ(pread_u64(file.fd(), kSize + 0x20), 5u);
  EXPECT_EQ(memory_.shared_ram(kBase + 0x20, 8).value().offset, kSize + 0x20);

  RamBacking private_copy = shared;
  private_copy.shared = false;
  ASSERT_TRUE(memory_.add_ram(2 * kBase, kSize, private_copy).ok());
  EXPECT_EQ(memory_.read<uint64_t>(2 * kBase + 0x20).value(), 5u);  // sees the file ...
  ASSERT_TRUE(memory_.write<uint64_t>(2 * kBase + 0x20, 6).ok());
  EXPECT_EQ(pread_u64(file.fd(), kSize + 0x20), 5u);  // ... but writes only its copy
  EXPECT_EQ(memory_.read<uint64_t>(kBase + 0x20).value(), 5u);
  EXPECT_EQ(memory_.shared_ram(2 * kBase, 8).status().code(), ErrorCode::kUnsupported);
}

TEST_P(Backing, APrivateMappingOfAReadOnlyFileIsWritableRam) {
  TempFile file(kSize, O_RDONLY);
  const RamBacking backing{.kind = RamBacking::Kind::kFile, .fd = file.fd(), .shared = false};
  ASSERT_TRUE(memory_.add_ram(kBase, kSize, backing).ok());
  ASSERT_TRUE(memory_.write<uint64_t>(kBase, 9).ok());
  EXPECT_EQ(memory_.read<uint64_t>(kBase).value(), 9u);
}

TEST_P(Backing, DiscardReadsZerosOnEveryBackingAndOnTheOtherSide) {
  // File regions start one host page in, after bytes that must stay as they are; the private
  // file's own bytes are not zeros, so dropping its pages instead of clearing them would show.
  TempFile shared_file(kSize + host_page());
  TempFile private_file(kSize + host_page());
  const std::vector<std::byte> fill(kSize + host_page(), std::byte{0xa5});
  ASSERT_EQ(pwrite(shared_file.fd(), fill.data(), host_page(), 0),
            static_cast<ssize_t>(host_page()));
  ASSERT_EQ(pwrite(private_file.fd(), fill.data(), fill.size(), 0),
            static_cast<ssize_t>(fill.size()));
  const RamBacking backings[] = {
      {},
      {.kind = RamBacking::Kind::kMemfd},
      {.kind = RamBacking::Kind::kFile, .fd = shared_file.fd(), .offset = host_page()},
      {.kind = RamBacking::Kind::kFile,
       .fd = private_file.fd(),
       .offset = host_page(),
       .shared = false},
      {.huge_pages = true},
  };
  uint64_t base = kBase;
  for (const RamBacking& backing : backings) {
    SCOPED_TRACE(static_cast<int>(backing.kind));
    ASSERT_TRUE(memory_.add_ram(base, kSize, backing).ok());
    std::vector<std::byte> ones(kSize, std::byte{0xee});
    ASSERT_TRUE(memory_.write(base, ones).ok());
    // Whole host pages (hole punch or MADV_DONTNEED) and a partial 4 KiB page at the start.
    ASSERT_TRUE(memory_.discard(base, 0x1000).ok());
    ASSERT_TRUE(memory_.discard(base + host_page(), 2 * host_page()).ok());
    EXPECT_EQ(memory_.read<uint64_t>(base).value(), 0u);
    EXPECT_EQ(memory_.read<uint64_t>(base + host_page()).value(), 0u);
    EXPECT_EQ(memory_.read<uint64_t>(base + 3 * host_page() - 8).value(), 0u);
    if (host_page() > 0x1000) {
      EXPECT_EQ(memory_.read<uint8_t>(base + 0x1000).value(), 0xee);
    }
    EXPECT_EQ(memory_.read<uint8_t>(base + 3 * host_page()).value(), 0xee);
    if (Result<SharedRam> shared = memory_.shared_ram(base, kSize); shared.ok()) {
      EXPECT_EQ(pread_u64(shared.value().fd, shared.value().offset + host_page()), 0u);
    }
    base += 2 * kSize;
  }
  EXPECT_EQ(pread_u64(shared_file.fd(), 0), 0xa5a5a5a5a5a5a5a5u) << "punched before the region";
  EXPECT_TRUE(memory_.check().ok());
}

TEST_P(Backing, AFileExactlyAsLongAsTheRegionIsEnoughAndOneByteLessIsNot) {
  TempFile file(kSize + host_page());
  const RamBacking backing{.kind = RamBacking::Kind::kFile, .fd = file.fd(), .offset = host_page()};
  ASSERT_TRUE(memory_.add_ram(kBase, kSize, backing).ok());
  ASSERT_EQ(ftruncate(file.fd(), static_cast<off_t>(kSize + host_page() - 1)), 0);
  EXPECT_EQ(memory_.add_ram(2 * kBase, kSize, backing).code(), ErrorCode::kInvalidArgument);
  // A region that is not a whole number of host pages needs the file up to the page's end.
  ASSERT_EQ(ftruncate(file.fd(), static_cast<off_t>(host_page() + 0x1000)), 0);
  EXPECT_EQ(memory_.add_ram(2 * kBase, 0x1000, backing).code(),
            host_page() == 0x1000 ? ErrorCode::kOk : ErrorCode::kInvalidArgument);
}

TEST_P(Backing, HugePageAdviceAlignsTheMapping) {
  ASSERT_TRUE(
      memory_.add_ram(kBase, 4 * HostMapping::kHugePageSize, RamBacking{.huge_pages = true}).ok());
  std::span<std::byte> span = memory_.host_span(kBase, 8).value();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(span.data()) % HostMapping::kHugePageSize, 0u);
  ASSERT_TRUE(memory_.write<uint64_t>(kBase + HostMapping::kHugePageSize + 8, 3).ok());
  EXPECT_EQ(memory_.read<uint64_t>(kBase + HostMapping::kHugePageSize + 8).value(), 3u);
  // A guard page still sits right below the body.
  EXPECT_EQ(mprotect(span.data() - HostMapping::system_page_size(), HostMapping::system_page_size(),
                     PROT_NONE),
            0);
}

TEST_P(Backing, BadFilesAreRefusedAfterTheTableChecksAndChangeNothing) {
  TempFile file(kSize);
  TempFile read_only(kSize, O_RDONLY);
  using Kind = RamBacking::Kind;
  ASSERT_TRUE(memory_.add_ram(kBase, kSize).ok());
  const auto refused = [&](uint64_t base, uint64_t size, const RamBacking& backing) {
    return memory_.add_ram(base, size, backing).code();
  };
  const uint64_t other = 4 * kBase;
  EXPECT_EQ(refused(other, kSize, {.kind = Kind::kFile, .fd = -1}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused(other, kSize, {.kind = Kind::kFile, .fd = 987654}),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused(other, 2 * kSize, {.kind = Kind::kFile, .fd = file.fd()}),
            ErrorCode::kInvalidArgument)
      << "a file shorter than the region";
  EXPECT_EQ(refused(other, kSize - host_page(),
                    {.kind = Kind::kFile, .fd = file.fd(), .offset = 2 * host_page()}),
            ErrorCode::kInvalidArgument)
      << "offset + size past the end";
  EXPECT_EQ(
      refused(other, 0x1000, {.kind = Kind::kFile, .fd = file.fd(), .offset = host_page() / 2}),
      ErrorCode::kInvalidArgument)
      << "offset inside a host page";
  EXPECT_EQ(refused(other, kSize, {.kind = Kind::kFile, .fd = read_only.fd()}),
            ErrorCode::kInvalidArgument)
      << "shared needs a writable file";
  // The table's rules come first: a conflict is a conflict whatever the file.
  EXPECT_EQ(refused(kBase, kSize, {.kind = Kind::kFile, .fd = -1}), ErrorCode::kConflict);
  EXPECT_EQ(refused(kBase + 1, kSize, {.kind = Kind::kMemfd}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(memory_.regions().size(), 1u);
  EXPECT_TRUE(memory_.check().ok());
}

TEST_P(Backing, SharedRamRefusesAsHostSpanThenUnsharedRam) {
  ASSERT_TRUE(memory_.add_ram(kBase, kSize).ok());
  ASSERT_TRUE(
      memory_.add_ram(kBase + kSize, kSize, RamBacking{.kind = RamBacking::Kind::kMemfd}).ok());
  EXPECT_EQ(memory_.shared_ram(kBase, 0).value().fd, -1);
  EXPECT_EQ(memory_.shared_ram(~uint64_t{0}, 2).status().code(), ErrorCode::kOverflow);
  EXPECT_EQ(memory_.shared_ram(0, 8).status().code(), ErrorCode::kUnmapped);
  EXPECT_EQ(memory_.shared_ram(kBase + kSize - 8, 16).status().code(), ErrorCode::kUnsupported)
      << "leaves its region, even into shared RAM";
  EXPECT_EQ(memory_.shared_ram(kBase, 8).status().code(), ErrorCode::kUnsupported) << "anonymous";
  EXPECT_TRUE(memory_.shared_ram(kBase + kSize, kSize).ok());
}

INSTANTIATE_TEST_SUITE_P(HostPages, Backing, ::testing::Values(4096, 16384, 65536));

}  // namespace
}  // namespace vmmem::mem
