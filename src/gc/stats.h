// Collection statistics: one record per collection and pause summaries, exportable as JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmmem::gc {

enum class CollectionKind : uint8_t { kMinor, kMajor };

struct CollectionStats {
  CollectionKind kind = CollectionKind::kMinor;
  uint64_t index = 0;            // 1, 2, ... over all collections of the heap
  uint64_t pause_ns = 0;         // measured with Options::clock
  uint64_t allocated_bytes = 0;  // allocated since the previous collection
  uint64_t survived_bytes = 0;   // copied within the young generation
  uint64_t promoted_bytes = 0;   // copied into the old generation
  uint64_t reclaimed_bytes = 0;  // freed: dead young bytes (minor), swept bytes (major)
  uint64_t cards_scanned = 0;    // dirty cards examined (minor)
  uint64_t objects_marked = 0;   // major
  uint64_t nursery_bytes = 0;    // nursery size in effect during the collection
  uint64_t old_bytes_after = 0;  // old + large generation bytes after it
};

struct PauseSummary {
  uint64_t count = 0;
  uint64_t total_ns = 0;
  uint64_t p50_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t max_ns = 0;
};

struct HeapStats {
  uint64_t allocated_bytes = 0;  // ever allocated
  uint64_t young_bytes = 0;      // in use now, nursery + survivor
  uint64_t old_bytes = 0;        // in use now (object bytes, not cells)
  uint64_t large_bytes = 0;      // in use now
  uint64_t nursery_bytes = 0;    // current nursery size (the pacer's choice)
  PauseSummary minor;
  PauseSummary major;
  // Pacer: minor collections until the pause settled within 20% of the target (0: not yet or
  // pacer off).
  uint64_t pacer_settled_after = 0;
  // The first time it settled (kept when a later pause leaves the band), and the sampled minor
  // collections since then: all of them, and those within 20% of the target.
  uint64_t pacer_first_settled_after = 0;
  uint64_t pacer_sampled_after_settling = 0;
  uint64_t pacer_in_band_after_settling = 0;
  std::vector<CollectionStats> recent;  // oldest first, at most Options::stats_history

  std::string to_json() const;
};

// The summary of a set of pauses (nearest-rank percentiles).
PauseSummary summarize_pauses(std::vector<uint64_t> pauses_ns);

}  // namespace vmmem::gc
