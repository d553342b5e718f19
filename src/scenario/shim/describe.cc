// Human-readable renderings of ops and outcomes, for failure reports and RapidCheck
// counterexamples.
#include <sstream>
#include <type_traits>

#include "scenario/shim/ops.h"
#include "scenario/shim/outcome.h"

namespace vmmem::scenario::shim {
namespace {

const char* call_name(AllocCall call) {
  switch (call) {
    case AllocCall::kMalloc:
      return "malloc";
    case AllocCall::kCalloc:
      return "calloc";
    case AllocCall::kPosixMemalign:
      return "posix_memalign";
    case AllocCall::kAlignedAlloc:
      return "aligned_alloc";
    case AllocCall::kMemalign:
      return "memalign";
    case AllocCall::kValloc:
      return "valloc";
    case AllocCall::kPvalloc:
      return "pvalloc";
    default:
      return "?";
  }
}

const char* kind_name(BadPointerKind kind) {
  switch (kind) {
    case BadPointerKind::kStatic:
      return "static";
    case BadPointerKind::kLibc:
      return "libc";
    case BadPointerKind::kInterior:
      return "interior";
    case BadPointerKind::kFreed:
      return "freed";
    default:
      return "?";
  }
}

const char* use_name(BadPointerUse use) {
  switch (use) {
    case BadPointerUse::kFree:
      return "free";
    case BadPointerUse::kRealloc:
      return "realloc";
    case BadPointerUse::kUsableSize:
      return "malloc_usable_size";
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
        if constexpr (std::is_same_v<T, Allocate>) {
          out << "Allocate{call=" << call_name(o.call) << ", size=" << o.size
              << ", extra=" << o.extra << "}";
        } else if constexpr (std::is_same_v<T, Realloc>) {
          out << "Realloc{slot=" << o.slot << ", null_pointer=" << o.null_pointer
              << ", array=" << o.array << ", size=" << o.size << ", count=" << o.count << "}";
        } else if constexpr (std::is_same_v<T, Free>) {
          out << "Free{slot=" << o.slot << ", null_pointer=" << o.null_pointer << "}";
        } else if constexpr (std::is_same_v<T, Fill>) {
          out << "Fill{slot=" << o.slot << ", byte=" << +o.byte << "}";
        } else if constexpr (std::is_same_v<T, UsableSize>) {
          out << "UsableSize{slot=" << o.slot << "}";
        } else if constexpr (std::is_same_v<T, Trim>) {
          out << "Trim{}";
        } else if constexpr (std::is_same_v<T, BadPointer>) {
          out << "BadPointer{kind=" << kind_name(o.kind) << ", use=" << use_name(o.use)
              << ", slot=" << o.slot << "}";
        } else {
          out << "Check{}";
        }
      },
      op);
  return out.str();
}

std::string describe(const Outcome& outcome) {
  std::ostringstream out;
  out << "{skipped=" << outcome.skipped << ", block=" << outcome.block
      << ", error=" << outcome.error << ", errno_untouched=" << outcome.errno_untouched
      << ", address=0x" << std::hex << outcome.address << std::dec << ", usable=" << outcome.usable
      << ", reports=" << outcome.reports << ", stats_live_blocks=" << outcome.stats_live_blocks
      << "}";
  return out.str();
}

}  // namespace vmmem::scenario::shim
