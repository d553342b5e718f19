// Model: the C standard's and POSIX's allocation contracts, written from the standards rather
// than from shim/c_api.h. It judges each outcome of the real C API: whether a block must come
// back or which error (errno, or posix_memalign's return value), how many bad pointers must be
// reported, and for every block returned that it is aligned as the call requires, holds the
// bytes asked for, overlaps no live block, is zeroed (calloc) and keeps its contents across
// realloc. Before an op touches a block it checks the block's contents are still what was
// written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scenario/shim/executor.h"
#include "scenario/shim/ops.h"
#include "scenario/shim/outcome.h"

namespace vmmem::scenario::shim {

class Model {
 public:
  Model(const Config& config, uint64_t page_size);

  std::optional<std::string> before(const Op& op) const;
  std::optional<std::string> judge(const Op& op, const Outcome& actual);

  size_t live_blocks() const { return live_.size(); }

 private:
  struct Block {
    uint64_t address;
    uint64_t size;    // bytes asked for
    uint64_t usable;  // malloc_usable_size when it was returned
    uint64_t known;   // the first `known` bytes hold `fill`
    uint8_t fill;
  };
  // What a call that may return a block must do.
  struct Expected {
    bool skipped = false;
    bool block = false;
    bool may_run_out = false;  // above kLargestTried: ENOMEM is right too
    int error = 0;
    uint64_t bytes = 0;      // the block's size when one comes back
    uint64_t alignment = 1;  // its required alignment
  };

  Expected expect_allocate(const Allocate& op) const;
  Expected expect_block_of(uint64_t bytes, uint64_t alignment) const;
  // Compares what came back with `expected`; nullopt when they agree. `errno_name` says what
  // `error` is.
  static std::optional<std::string> judge_result(const Expected& expected, const Outcome& actual,
                                                 const char* errno_name);
  std::optional<std::string> judge_allocate(const Allocate& op, const Outcome& actual);
  std::optional<std::string> judge_realloc(const Realloc& op, const Outcome& actual);
  std::optional<std::string> judge_bad_pointer(const BadPointer& op, const Outcome& actual);
  // Checks a block that came back (alignment, size, overlap); nullopt when it is sound.
  std::optional<std::string> judge_new_block(const Outcome& actual, const Expected& expected,
                                             std::optional<size_t> replacing) const;
  std::optional<std::string> check_contents(const Block& block) const;
  std::optional<uint64_t> freed_not_live() const;
  void remove(size_t index);

  Config config_;
  uint64_t page_size_;
  std::vector<Block> live_;      // in slot order (see executor.h)
  std::vector<uint64_t> freed_;  // addresses of freed blocks, oldest first
};

}  // namespace vmmem::scenario::shim
