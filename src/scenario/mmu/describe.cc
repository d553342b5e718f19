// Human-readable renderings of ops and outcomes, for failure reports and RapidCheck counter-
// examples.
#include <ios>
#include <sstream>
#include <type_traits>

#include "scenario/mmu/ops.h"
#include "scenario/mmu/outcome.h"

namespace vmmem::scenario::mmu {
namespace {

const char* flush_name(FlushKind kind) {
  switch (kind) {
    case FlushKind::kAll:
      return "all";
    case FlushKind::kAsid:
      return "asid";
    case FlushKind::kAddress:
      return "address";
    case FlushKind::kAddressAsid:
      return "address+asid";
    case FlushKind::kRange:
      return "range";
    case FlushKind::kRangeAsid:
      return "range+asid";
  }
  return "?";
}

}  // namespace

std::string describe(const Op& op) {
  std::ostringstream out;
  out << std::hex << std::showbase;
  std::visit(
      [&out](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Map>) {
          out << "Map{va=" << o.va << ", pa=" << o.pa << ", size=" << o.size
              << ", flags=" << +o.flags << "}";
        } else if constexpr (std::is_same_v<T, Unmap>) {
          out << "Unmap{va=" << o.va << "}";
        } else if constexpr (std::is_same_v<T, Protect>) {
          out << "Protect{va=" << o.va << ", flags=" << +o.flags << "}";
        } else if constexpr (std::is_same_v<T, SetAsid>) {
          out << "SetAsid{space=" << std::dec << +o.space << "}";
        } else if constexpr (std::is_same_v<T, SetPrivilege>) {
          out << "SetPrivilege{" << (o.privilege == Privilege::kUser ? "U" : "S")
              << (o.sum ? ", SUM" : "") << (o.mxr ? ", MXR" : "") << "}";
        } else if constexpr (std::is_same_v<T, Translate>) {
          out << "Translate{va=" << o.va << ", " << vmmem::mmu::to_string(o.access) << "}";
        } else if constexpr (std::is_same_v<T, Load>) {
          out << "Load{va=" << o.va << ", size=" << std::dec << +o.size << "}";
        } else if constexpr (std::is_same_v<T, Store>) {
          out << "Store{va=" << o.va << ", size=" << std::dec << +o.size << ", value=" << std::hex
              << o.value << "}";
        } else if constexpr (std::is_same_v<T, Flush>) {
          out << "Flush{" << flush_name(o.kind) << ", va=" << o.va << ", asid=" << o.asid
              << ", length=" << o.length << "}";
        } else if constexpr (std::is_same_v<T, Batch>) {
          out << "Batch{va=" << o.va << ", count=" << std::dec << +o.count
              << ", stride=" << o.stride << ", " << vmmem::mmu::to_string(o.access) << "}";
        } else if constexpr (std::is_same_v<T, CorruptPte>) {
          out << "CorruptPte{va=" << o.va << ", level=" << std::dec << +o.level
              << ", bits=" << std::hex << o.bits << "}";
        } else {
          out << "ToggleScratch{}";
        }
      },
      op);
  return out.str();
}

std::string describe(const Outcome& outcome) {
  std::ostringstream out;
  out << to_string(outcome.code) << ", " << vmmem::mmu::to_string(outcome.fault);
  if (outcome.cause != 0) out << " (cause " << outcome.cause << ")";
  out << std::hex << std::showbase << ", pa=" << outcome.pa << ", pa_last=" << outcome.pa_last
      << ", value=" << outcome.value;
  if (outcome.fell_back) out << ", fell back to a full flush";
  if (outcome.batch_size != 0) {
    out << ", batch=[";
    for (unsigned i = 0; i < outcome.batch_size; ++i) {
      const Translation& t = outcome.batch[i];
      out << (i ? " " : "");
      if (t.fault == Fault::kNone) {
        out << t.pa;
      } else {
        out << vmmem::mmu::to_string(t.fault);
      }
    }
    out << "]";
  }
  if (!outcome.dirty_pages.empty()) {
    out << ", dirty=[";
    for (size_t i = 0; i < outcome.dirty_pages.size(); ++i)
      out << (i ? " " : "") << outcome.dirty_pages[i];
    out << "]";
  }
  return out.str();
}

}  // namespace vmmem::scenario::mmu
