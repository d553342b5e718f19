// Executor: performs gc ops on a real gc::Heap it owns and reports their Outcomes; the
// `execute` of scenario::run for this subsystem. Roots are persistent handles, one per root
// slot, kept in the same order as the Model's (new roots last, a dropped root replaced by the
// last one). After Minor, Major and Verify it runs the heap's verifier and then walks the graph
// reachable from the roots itself (raw pointers, no collector code), reading every object's id,
// shape, length, edges and payload for the model to compare.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gc/heap.h"
#include "scenario/common/reusable_bytes.h"
#include "scenario/gc/config.h"
#include "scenario/gc/ops.h"
#include "scenario/gc/outcome.h"

namespace vmmem::scenario::gc {

// The collector options a Config stands for (poisoning always on).
vmmem::gc::Options options_for(const Config& config);
// The options CreateHeap passes to Heap::create.
vmmem::gc::Options options_for(const CreateHeap& op);

// Heap bytes a scenario's collector may hold: well above what 256 ops of at most kMaxLength
// elements keep live, far below the huge lengths.
inline constexpr uint64_t kHeapLimit = uint64_t{256} << 20;

class Executor {
 public:
  // With `observe`, GC ops read the reachable graph back for the model; benches turn it off.
  explicit Executor(const Config& config, bool observe = true);
  ~Executor();

  Outcome operator()(const Op& op);

  vmmem::gc::Heap& heap() { return *heap_; }
  const vmmem::gc::Heap& heap() const { return *heap_; }
  size_t root_count() const { return roots_.size(); }
  // The heap's verifier (invariants 1-4 and 6).
  Status check() const;

 private:
  Outcome new_object(const New& op);
  Outcome store(const Store& op);
  Outcome load(const Load& op);
  Outcome write_bytes(const WriteBytes& op);
  Outcome bad_slot(const BadSlot& op);
  Outcome store_foreign(const StoreForeign& op);
  Outcome read_bytes(const ReadBytes& op);
  Outcome bad_bytes(const BadBytes& op);
  Outcome bad_handle(const BadHandle& op);
  Outcome create_heap(const CreateHeap& op);
  Outcome corrupt(const Corrupt& op);
  // The verifier on the broken heap, then `mend`, then the verifier again (which must pass).
  // With after_major, the first verifier is verify_after_major().
  template <class Mend>
  Outcome verify_broken(Mend mend, bool after_major = false);
  // The kinds of Corrupt that break a heap at rest, after a major collection.
  Outcome corrupt_after_major(const Corrupt& op);
  // Passes `bad` to the call `use` names (`root`: the other handle some calls take).
  Outcome use_handle(vmmem::gc::Handle bad, vmmem::gc::Handle root, HandleUse use);
  // A live persistent handle of a second heap, made on first use.
  vmmem::gc::Handle other_heap_handle();
  Outcome collect(bool minor, bool major);
  // The roots' ids and the graph reachable from them, read from the heap.
  void observe(Outcome& outcome) const;
  // The heap's own queries (visit_reachable, contains, space_of, checked info) against the
  // walk `observed` holds: empty when they agree, else what disagreed.
  std::string check_heap_queries(const Outcome& observed) const;
  uint64_t ref_count(vmmem::gc::Handle handle) const;
  uint64_t id_of(const vmmem::gc::Object* object) const;
  // The scenario shape (ops.h) of an object, kShapeCount for none.
  uint8_t scenario_shape(const vmmem::gc::Object* object) const;

  bool observe_;
  bool verified_by_heap_;  // the heap verifies before and after every GC itself
  vmmem::gc::Options options_;
  std::unique_ptr<vmmem::gc::Heap> heap_;
  std::unique_ptr<vmmem::gc::Heap> other_heap_;  // for handles of another heap
  vmmem::gc::Handle other_handle_;
  std::vector<vmmem::gc::ShapeId> shapes_;  // scenario shape -> registered id
  std::vector<vmmem::gc::Handle> roots_;    // persistent handles
  uint64_t next_id_ = 1;
  ReusableBytes payload_;
};

// Runs ops on a fresh Executor under `config`, comparing every outcome with the Model's and
// calling check() every `checkpoint_every` ops and at the end. Returns the failure report, or
// nullopt when the collector and the model agree throughout.
std::optional<std::string> verify(const Config& config, std::span<const Op> ops,
                                  size_t checkpoint_every = 64);

}  // namespace vmmem::scenario::gc
