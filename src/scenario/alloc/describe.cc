// Human-readable renderings of ops and outcomes, for failure reports and RapidCheck
// counterexamples.
#include <sstream>
#include <type_traits>

#include "scenario/alloc/ops.h"
#include "scenario/alloc/outcome.h"

namespace vmmem::scenario::alloc {
namespace {

const char* kind_name(BadFreeKind kind) {
  switch (kind) {
    case BadFreeKind::kNull:
      return "null";
    case BadFreeKind::kForeign:
      return "foreign";
    case BadFreeKind::kInterior:
      return "interior";
    case BadFreeKind::kWrongSize:
      return "wrong-size";
    case BadFreeKind::kDoubleFree:
      return "double-free";
    case BadFreeKind::kFreeTwice:
      return "free-twice";
    default:
      return "?";
  }
}

}  // namespace

std::string describe(const Op& op) {
  std::ostringstream out;
  std::visit(
      [&out](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Alloc>) {
          out << "Alloc{size=" << o.size << ", alignment=" << o.alignment << ", zeroed=" << o.zeroed
              << ", heap=" << +o.heap << "}";
        } else if constexpr (std::is_same_v<T, Free>) {
          out << "Free{slot=" << o.slot << ", sized=" << o.sized << "}";
        } else if constexpr (std::is_same_v<T, Realloc>) {
          out << "Realloc{slot=" << o.slot << ", size=" << o.size << "}";
        } else if constexpr (std::is_same_v<T, Write>) {
          out << "Write{slot=" << o.slot << ", pattern=" << std::hex << o.pattern << "}";
        } else if constexpr (std::is_same_v<T, Check>) {
          out << "Check{}";
        } else if constexpr (std::is_same_v<T, Collect>) {
          out << "Collect{force=" << o.force << "}";
        } else if constexpr (std::is_same_v<T, PoolAlloc>) {
          out << "PoolAlloc{}";
        } else if constexpr (std::is_same_v<T, PoolFree>) {
          out << "PoolFree{slot=" << o.slot << "}";
        } else if constexpr (std::is_same_v<T, HeapCreate>) {
          out << "HeapCreate{}";
        } else if constexpr (std::is_same_v<T, HeapDestroy>) {
          out << "HeapDestroy{heap=" << +o.heap << "}";
        } else if constexpr (std::is_same_v<T, FailNextOsCall>) {
          out << "FailNextOsCall{count=" << +o.count << "}";
        } else if constexpr (std::is_same_v<T, Handoff>) {
          out << "Handoff{slot=" << o.slot << ", thread=" << +o.thread << "}";
        } else if constexpr (std::is_same_v<T, Detach>) {
          out << "Detach{}";
        } else {
          out << "BadFree{kind=" << kind_name(o.kind) << ", slot=" << o.slot
              << ", offset=" << o.offset << "}";
        }
      },
      op);
  return out.str();
}

std::string describe(const Outcome& outcome) {
  std::ostringstream out;
  out << to_string(outcome.code) << std::hex << std::showbase << ", address " << outcome.address
      << std::dec << ", usable " << outcome.usable << ", os failures " << outcome.os_failures;
  if (outcome.new_chunk.address != 0)
    out << ", new pool chunk " << std::hex << outcome.new_chunk.address;
  if (!outcome.live.empty() || outcome.stats_live_blocks != 0)
    out << std::dec << ", walked " << outcome.live.size() << " live blocks, stats "
        << outcome.stats_live_blocks << " blocks / " << outcome.stats_live_bytes << " bytes";
  return out.str();
}

}  // namespace vmmem::scenario::alloc
