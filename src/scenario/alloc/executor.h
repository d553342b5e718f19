// Executor: performs alloc ops on a real Allocator it owns and reports their Outcomes; the
// `execute` of scenario::run for this subsystem. It keeps the system side's slot tables
// (blocks, pool objects, first-class heaps, recently freed addresses), chosen by the same rules
// as the Model's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "alloc/allocator.h"
#include "alloc/object_pool.h"
#include "scenario/alloc/ops.h"
#include "scenario/alloc/outcome.h"
#include "scenario/alloc/remote_freer.h"

namespace vmmem::scenario::alloc {

// How the allocator under test is configured (the first byte of a fuzz input).
struct Config {
  bool hardened = false;
  vmmem::alloc::PurgePolicy purge = vmmem::alloc::PurgePolicy::kDelayed;
  friend bool operator==(const Config&, const Config&) = default;
};

vmmem::alloc::Options options_for(const Config& config);

// What a pool holds: 48 bytes the model can check.
struct alignas(16) PoolObject {
  uint8_t bytes[48];
};

class Executor {
 public:
  // With `observe`, outcomes carry what the model judges (Check walks the heap); benches turn
  // it off.
  explicit Executor(const Config& config, bool observe = true);
  ~Executor();

  // The outcome's views stay valid until the next call.
  Outcome operator()(const Op& op);

  vmmem::alloc::Allocator& allocator() { return *allocator_; }
  const vmmem::alloc::Allocator& allocator() const { return *allocator_; }
  // Allocator::check() and the pool's own check.
  Status check() const;

 private:
  struct Held {
    void* block;
    uint64_t size;
    uint64_t alignment;
    vmmem::alloc::Heap* owner;  // null: the thread's heap
  };

  Outcome alloc(const Alloc& op);
  void drop(size_t slot);  // swap-removes a block from blocks_
  Outcome free(const Free& op);
  Outcome realloc(const Realloc& op);
  Outcome check_op();
  Outcome pool_alloc();
  Outcome bad_free(const BadFree& op);
  void remember_freed(void* block);
  void forget_freed(void* block);
  uint64_t os_failures() const { return allocator_->os().counters().failures; }

  Config config_;
  bool observe_;
  // Reports of bad frees land here (deallocate() returns nothing).
  Status last_report_;
  std::unique_ptr<vmmem::alloc::Allocator> allocator_;
  std::unique_ptr<vmmem::alloc::ObjectPool<PoolObject>> pool_;
  std::vector<Held> blocks_;
  uint64_t live_bytes_ = 0;  // requested sizes of blocks_ (see kLiveBudget)
  std::vector<PoolObject*> pool_objects_;
  std::vector<vmmem::alloc::Heap*> heaps_;
  std::vector<void*> recently_freed_;
  std::vector<LiveBlock> live_;
  std::vector<LiveBlock> chunks_;
};

// Runs ops on a fresh Executor under `config`, judging every outcome with the Model and
// calling check() every `checkpoint_every` ops and at the end. Returns the failure report, or
// nullopt when the allocator and the model agree throughout.
std::optional<std::string> verify(const Config& config, std::span<const Op> ops,
                                  size_t checkpoint_every = 32);

}  // namespace vmmem::scenario::alloc
