// Model: the reference for the Allocator. It keeps the live blocks as a map of intervals with
// the contents each must hold, the pool's objects and chunks, the first-class heaps and the
// recently freed addresses, and judges every outcome:
//   - an error is exactly the one the contract in alloc/allocator.h names for the request (out
//     of memory only when an OS call failed during the op);
//   - a new block is aligned (to the request, and at least 8 or 16), holds its size
//     (usable_size too, within the size-class waste bound), overlaps no live block or chunk, and
//     reads as zeros when asked;
//   - every live block keeps its contents: the block an op frees, moves or hands off is
//     verified before the op, a few blocks in turn after every op, and all of them at Check;
//   - Check: the allocator's own check() passes, its live-block walk equals the model's blocks
//     plus the pool's chunks, and stats() counts the same blocks and bytes;
//   - a reused pool slot is exactly the one freed last.
// Slots are chosen the way the Executor chooses them (modulo the live count, swap-remove), so
// the two agree on which block an op names; the model checks the address to be sure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scenario/alloc/ops.h"
#include "scenario/alloc/outcome.h"

namespace vmmem::scenario::alloc {

class Model {
 public:
  explicit Model(bool hardened) : hardened_(hardened) {}

  std::optional<std::string> before(const Op& op);
  std::optional<std::string> judge(const Op& op, const Outcome& actual);

  size_t live_blocks() const { return blocks_.size(); }

 private:
  // What a block must read as: [0, known) follows `pattern` (or is zero when zero).
  struct Contents {
    bool zero = false;
    uint64_t pattern = 0;
    uint64_t known = 0;
  };
  struct Block {
    uint64_t address;
    uint64_t size;
    uint64_t usable;
    uint32_t heap;  // 0: the thread's heap; else a first-class heap id
    Contents contents;
  };

  std::optional<std::string> judge_alloc(uint64_t size, uint64_t alignment, bool zeroed,
                                         uint32_t heap, const Outcome& actual);
  std::optional<std::string> judge_free(size_t slot, const Outcome& actual);
  std::optional<std::string> judge_realloc(const Realloc& op, const Outcome& actual);
  std::optional<std::string> judge_check(const Outcome& actual);
  std::optional<std::string> judge_pool_alloc(const Outcome& actual);
  std::optional<std::string> judge_bad_free(const BadFree& op, const Outcome& actual);
  // A new allocator block at [address, address + usable) overlaps nothing live.
  std::optional<std::string> admit(uint64_t address, uint64_t usable, const char* what);
  std::optional<std::string> verify(const Block& block) const;
  void forget_freed(uint64_t address);
  void remember_freed(uint64_t address);
  void remove_block(size_t slot);
  // An injected failure consumed by the op, and whether an OOM is then acceptable.
  void consume(const Outcome& actual);

  bool hardened_;
  std::vector<Block> blocks_;               // by slot
  std::map<uint64_t, uint64_t> intervals_;  // start -> end of every live block and pool chunk
  std::vector<uint64_t> pool_objects_;      // by slot
  std::vector<uint64_t> pool_free_;         // LIFO: the next pool slot to be reused is last
  std::vector<LiveBlock> pool_chunks_;
  std::vector<uint32_t> heaps_;  // live first-class heap ids, by slot
  uint32_t next_heap_id_ = 1;
  std::vector<uint64_t> recently_freed_;
  uint32_t armed_failures_ = 0;
  uint64_t live_bytes_ = 0;  // requested sizes of blocks_
  size_t verify_cursor_ = 0;
};

// Requested bytes a scenario keeps live at most: an Alloc or Realloc that would go beyond is
// skipped by the Executor (outcome kUnsupported, nothing runs), so a fuzz input cannot grow
// without bound. Both sides count the requested sizes of their live blocks.
inline constexpr uint64_t kLiveBudget = uint64_t{64} << 20;
// How many recently freed addresses both sides remember for double frees.
inline constexpr size_t kRecentlyFreed = 32;
// The natural alignment of a block of `size` bytes.
inline uint64_t natural_alignment(uint64_t size) {
  return size <= 8 ? 8 : 16;
}

}  // namespace vmmem::scenario::alloc
