// GCBench (Ellis, Kovac and Boehm's binary-trees benchmark), its parameters and the two peers
// the collector is compared with in the same process: Boehm GC (GC_MALLOC, a conservative
// mark-sweep collector) and malloc/free (every tree freed explicitly after use).
//
// One run: a stretch tree of stretch_depth built bottom-up and dropped; a long-lived tree of
// long_lived_depth built top-down and an array of array_size doubles, both kept to the end;
// then for each depth min_depth, min_depth + 2, ... max_depth, num_iters(depth) trees built
// top-down and as many bottom-up, each dropped at once. A run returns a checksum of what it
// kept (the long-lived tree's node count and the array's last element), so nothing is elided.
#pragma once

#include <cstdint>

namespace vmmem::bench {

struct GcBenchParams {
  int stretch_depth = 18;
  int long_lived_depth = 16;
  int array_size = 500000;
  int min_depth = 4;
  int max_depth = 16;
};

// The classic parameters, or much smaller ones when VMMEM_GCBENCH_SCALE=small (bench smoke
// tests in debug and sanitizer builds).
GcBenchParams gcbench_params();

inline int64_t tree_size(int depth) {
  return (int64_t{1} << (depth + 1)) - 1;
}
// Trees built per depth: as many nodes in all as two stretch trees.
inline int64_t num_iters(const GcBenchParams& params, int depth) {
  return 2 * tree_size(params.stretch_depth) / tree_size(depth);
}

// Nodes of the long-lived tree (counted at the end), plus the array's last element scaled.
int64_t gcbench_boehm(const GcBenchParams& params);
int64_t gcbench_malloc(const GcBenchParams& params);

}  // namespace vmmem::bench
