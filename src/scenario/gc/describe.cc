// Human-readable renderings of ops and outcomes, for failure reports and RapidCheck
// counterexamples.
#include <iterator>
#include <sstream>
#include <type_traits>

#include "scenario/gc/ops.h"
#include "scenario/gc/outcome.h"

namespace vmmem::scenario::gc {
namespace {

const char* shape_name(uint8_t shape) {
  switch (shape) {
    case kPair:
      return "pair";
    case kNode:
      return "node";
    case kLeaf:
      return "leaf";
    case kWide:
      return "wide";
    case kRefArray:
      return "ref-array";
    case kByteArray:
      return "byte-array";
    default:
      return "unknown";
  }
}

// The name of an op field's enum value, from a table in declaration order; "unknown" for a
// value past the last one.
template <class Enum, size_t N>
const char* enum_name(const char* const (&names)[N], Enum value) {
  static_assert(N == static_cast<size_t>(Enum::kCount), "one name per value");
  return value < Enum::kCount ? names[static_cast<size_t>(value)] : "unknown";
}

const char* bad_handle_name(BadHandleKind kind) {
  constexpr const char* kNames[] = {"null",         "other-heap", "other-heap-local",
                                    "closed-scope", "released",   "null-cell"};
  return enum_name(kNames, kind);
}

const char* handle_use_name(HandleUse use) {
  constexpr const char* kNames[] = {"load",  "store",           "read_bytes", "write_bytes",
                                    "info",  "deref",           "same",       "assign",
                                    "local", "make_persistent", "release"};
  return enum_name(kNames, use);
}

const char* option_field_name(OptionField field) {
  constexpr const char* kNames[] = {"promotion_age",     "min_nursery_bytes",  "nursery_bytes",
                                    "max_nursery_bytes", "large_object_bytes", "heap_limit_bytes",
                                    "growth_factor",     "pause_target_ms"};
  return enum_name(kNames, field);
}

const char* corrupt_kind_name(CorruptKind kind) {
  constexpr const char* kNames[] = {"interior-slot",     "clean-card",      "mark-bit",
                                    "unused-bits",       "unknown-shape",   "fixed-length",
                                    "interior-local",    "interior-global", "chunk-header",
                                    "young-after-major", "old-garbage"};
  return enum_name(kNames, kind);
}

// Reports stay readable: the first objects of a large graph only.
constexpr size_t kShownObjects = 24;

}  // namespace

std::string describe(const Op& op) {
  std::ostringstream out;
  std::visit(
      [&out](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, New>) {
          out << "New{shape=" << shape_name(o.shape) << "(" << +o.shape << "), len=" << o.len
              << "}";
        } else if constexpr (std::is_same_v<T, Store>) {
          out << "Store{obj=" << o.obj << ", slot=" << o.slot << ", target=";
          if (o.null) {
            out << "null}";
          } else {
            out << o.target << "}";
          }
        } else if constexpr (std::is_same_v<T, Load>) {
          out << "Load{obj=" << o.obj << ", slot=" << o.slot << "}";
        } else if constexpr (std::is_same_v<T, DropRoot>) {
          out << "DropRoot{slot=" << o.slot << "}";
        } else if constexpr (std::is_same_v<T, WriteBytes>) {
          out << "WriteBytes{obj=" << o.obj << ", pattern=" << std::hex << o.pattern << "}";
        } else if constexpr (std::is_same_v<T, Minor>) {
          out << "Minor{}";
        } else if constexpr (std::is_same_v<T, Major>) {
          out << "Major{}";
        } else if constexpr (std::is_same_v<T, Verify>) {
          out << "Verify{}";
        } else if constexpr (std::is_same_v<T, BadSlot>) {
          out << "BadSlot{obj=" << o.obj << ", past=" << o.past << ", store=" << o.store << "}";
        } else if constexpr (std::is_same_v<T, StoreForeign>) {
          out << "StoreForeign{obj=" << o.obj << ", slot=" << o.slot << ", target=" << o.target
              << ", kind=" << (o.kind == ForeignKind::kStatic ? "static" : "interior") << "}";
        } else if constexpr (std::is_same_v<T, ReadBytes>) {
          out << "ReadBytes{obj=" << o.obj << ", offset=" << o.offset << ", size=" << o.size << "}";
        } else if constexpr (std::is_same_v<T, BadBytes>) {
          out << "BadBytes{obj=" << o.obj << ", past=" << o.past << ", write=" << o.write << "}";
        } else if constexpr (std::is_same_v<T, BadHandle>) {
          out << "BadHandle{obj=" << o.obj << ", kind=" << bad_handle_name(o.kind)
              << ", use=" << handle_use_name(o.use) << "}";
        } else if constexpr (std::is_same_v<T, CreateHeap>) {
          out << "CreateHeap{field=" << option_field_name(o.field) << ", value=" << o.value << "}";
        } else {
          out << "Corrupt{obj=" << o.obj << ", kind=" << corrupt_kind_name(o.kind) << "}";
        }
      },
      op);
  return out.str();
}

std::string describe(const Outcome& outcome) {
  std::ostringstream out;
  out << to_string(outcome.code);
  if (outcome.id != 0) out << ", id " << outcome.id;
  if (outcome.digest != 0) out << ", digest " << std::hex << outcome.digest << std::dec;
  if (!outcome.detail.empty()) out << " (" << outcome.detail << ")";
  if (!outcome.observed) return out.str();
  out << ", roots [";
  for (size_t i = 0; i < outcome.roots.size(); ++i)
    out << (i == 0 ? "" : " ") << outcome.roots[i];
  out << "], " << outcome.graph.size() << " reachable";
  if (outcome.heap_bytes != 0) out << ", heap holds " << outcome.heap_bytes << " bytes";
  for (size_t i = 0; i < outcome.graph.size() && i < kShownObjects; ++i) {
    const ObjectView& object = outcome.graph[i];
    out << "\n    #" << object.id << " " << shape_name(object.shape);
    if (object.len != 0) out << "[" << object.len << "]";
    out << " digest " << std::hex << object.digest << std::dec << " ->";
    for (size_t k = 0; k < object.refs.size() && k < 16; ++k)
      out << " " << object.refs[k];
    if (object.refs.size() > 16) out << " ...";
  }
  if (outcome.graph.size() > kShownObjects) out << "\n    ...";
  return out.str();
}

}  // namespace vmmem::scenario::gc
