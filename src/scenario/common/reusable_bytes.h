// ReusableBytes: a byte buffer whose storage is handed on, when its owner dies, to the next
// ReusableBytes built on the same thread.
//
// Fuzz targets and properties build a fresh executor and model for every input, thousands per
// second. With buffers of their own, each input would map, fault in and unmap up to a megabyte
// of bulk-copy space; that once took over a third of the mem fuzzer's time. Reused storage is
// faulted in once per thread and kept at its high-water size.
//
// Invariants:
//   1. size_ <= storage_.size().
//   2. A thread's pool holds at most kPoolLimit spare buffers; beyond that, storage is freed.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace vmmem::scenario {

class ReusableBytes {
 public:
  ReusableBytes();
  ~ReusableBytes();
  // Copies hold the same bytes in storage of their own (models are copied by RapidCheck).
  ReusableBytes(const ReusableBytes& other);
  ReusableBytes& operator=(const ReusableBytes& other);

  // The first `size` bytes, with unspecified contents (callers overwrite them). The view stays
  // valid until the next resize or the buffer's destruction.
  std::span<std::byte> resize(size_t size);
  // The bytes the last resize returned.
  std::span<std::byte> view() { return {storage_.data(), size_}; }
  std::span<const std::byte> view() const { return {storage_.data(), size_}; }

 private:
  std::vector<std::byte> storage_;
  size_t size_ = 0;
};

}  // namespace vmmem::scenario
