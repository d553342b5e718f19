// StatsRecorder: keeps the record of each collection (the most recent Options::stats_history)
// and every pause, for the summaries of HeapStats.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "gc/stats.h"

namespace vmmem::gc {

class StatsRecorder {
 public:
  explicit StatsRecorder(uint32_t history) : history_(history) {}
  void record(const CollectionStats& stats);
  // Fills the summaries and the recent records of `out`.
  void fill(HeapStats* out) const;
  uint64_t collections() const { return collections_; }

 private:
  uint32_t history_;
  uint64_t collections_ = 0;
  std::deque<CollectionStats> recent_;
  std::vector<uint64_t> minor_pauses_;
  std::vector<uint64_t> major_pauses_;
};

}  // namespace vmmem::gc
