// The multi-threaded runner: several threads run their own op streams on one Allocator at the
// same time. Blocks cross threads through Handoff (the receiver verifies the contents, then
// frees the block: a remote free), and threads exit with blocks still live (their heaps are
// abandoned and adopted later). What is checked:
//   - every block a thread gets overlaps no block live anywhere (a shared interval registry),
//     is aligned and big enough, and keeps its contents until it is freed;
//   - the shared object pool never hands one slot to two threads;
//   - after the threads exit: Allocator::check() passes, the live-block walk equals the blocks
//     the threads left behind (plus the pool's chunks), and once those are freed and collected
//     nothing is live.
// Ops that need quiescence (Check) or a single thread's view of the OS (FailNextOsCall) and
// first-class heaps are skipped. Run under TSan, this is the concurrency property.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scenario/alloc/executor.h"
#include "scenario/alloc/ops.h"

namespace vmmem::scenario::alloc {

// Runs ops[t] on thread t, all at once. Returns the first problem found, or nullopt.
std::optional<std::string> verify_threaded(const Config& config,
                                           std::span<const std::vector<Op>> ops);

}  // namespace vmmem::scenario::alloc
