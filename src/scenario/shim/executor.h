// Executor: runs shim ops through the C API of shim/c_api.h over an Allocator of its own, the
// code libvmmem_malloc.so runs over its process allocator.
//
// Slots: live blocks are kept in the order they came back; a block that is freed (or
// reallocated to size 0) leaves its slot to the last one (swap and pop), and a block that
// realloc moves keeps its slot. The Model keeps the same order, so a slot names the same block
// in both.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "alloc/allocator.h"
#include "scenario/shim/ops.h"
#include "scenario/shim/outcome.h"
#include "support/status.h"

namespace vmmem::scenario::shim {

struct Config {
  bool hardened = false;
  friend bool operator==(const Config&, const Config&) = default;
};

class Executor {
 public:
  explicit Executor(const Config& config);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  Outcome execute(const Op& op);
  Outcome operator()(const Op& op) { return execute(op); }
  Status check() const { return allocator_.check(); }
  uint64_t page_size() const { return page_size_; }
  const vmmem::alloc::Allocator& allocator() const { return allocator_; }

 private:
  struct Live {
    void* pointer;
    uint64_t usable;
  };
  Outcome execute(const Allocate& op);
  Outcome execute(const Realloc& op);
  Outcome execute(const Free& op);
  Outcome execute(const Fill& op);
  Outcome execute(const UsableSize& op);
  Outcome execute(const Trim& op);
  Outcome execute(const BadPointer& op);
  Outcome execute(const Check& op);
  Outcome returned(void* block, Outcome outcome);
  std::optional<void*> freed_not_live() const;
  void remove(size_t index);

  Config config_;
  uint64_t page_size_;
  uint64_t reports_ = 0;
  vmmem::alloc::Allocator allocator_;
  std::vector<Live> live_;
  std::vector<void*> freed_;
  void* libc_block_;
  static constexpr size_t kStaticBytes = 64;
  alignas(16) static inline unsigned char static_object_[kStaticBytes];
};

// Runs ops on a fresh Executor with the Model judging every outcome and Allocator::check() every
// `checkpoint_every` ops and at the end. nullopt when all agree; otherwise the failure report.
std::optional<std::string> verify(const Config& config, std::span<const Op> ops,
                                  size_t checkpoint_every = 16);

}  // namespace vmmem::scenario::shim
