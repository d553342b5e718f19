// Verifier: checks a Heap's invariants (heap.h) with its own walk of every space — it parses
// the nursery and survivor space, reads every cell of every chunk, and computes reachability
// with its own breadth-first search — sharing no code with the collector's copying or marking,
// so a collector bug cannot hide itself from it.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "support/status.h"

namespace vmmem::gc {

class Heap;
class Object;
enum class Space : uint8_t;

class Verifier {
 public:
  explicit Verifier(const Heap& heap) : heap_(heap) {}
  // Invariants 1-4 and 6; with after_major also 5 (and an empty young generation).
  Status run(bool after_major) const;
  // Each object reachable from the roots once, breadth-first (locals, then persistent cells
  // by index; slots in order). REQUIRES: the heap is sound (verify() passes).
  void for_each_reachable(const std::function<void(const Object*)>& visit) const;

 private:
  // Every object start the walk of the spaces finds, sorted, with its space.
  struct Entry {
    uintptr_t address;
    Space space;
  };
  using Index = std::vector<Entry>;
  // Walks every space into `index` (sorted); the first malformed thing found, or ok.
  Status walk(Index* index) const;
  // Position of `p` in the index, or -1 when it is not an object start.
  static int64_t find(const Index& index, const void* p);
  // Calls visit(position) for each reachable object of `index`, breadth-first.
  template <class Visit>
  void reach(const Index& index, Visit&& visit) const;

  const Heap& heap_;
};

}  // namespace vmmem::gc
