// Human-readable renderings of ops and outcomes, for failure reports and RapidCheck counter-
// examples.
#include <cinttypes>
#include <cstdio>
#include <type_traits>

#include "scenario/mem/ops.h"
#include "scenario/mem/outcome.h"

namespace vmmem::scenario::mem {
namespace {

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%" PRIx64, value);
  return text;
}

}  // namespace

std::string describe(const Op& op) {
  return std::visit(
      [](const auto& o) -> std::string {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, AddRam>) {
          return "AddRam{base=" + hex(o.base) + ", size=" + hex(o.size) + "}";
        } else if constexpr (std::is_same_v<T, AddMmio>) {
          return "AddMmio{base=" + hex(o.base) + ", size=" + hex(o.size) + "}";
        } else if constexpr (std::is_same_v<T, RemoveRegion>) {
          return "RemoveRegion{base=" + hex(o.base) + "}";
        } else if constexpr (std::is_same_v<T, Read>) {
          return "Read{address=" + hex(o.address) + ", width=" + std::to_string(o.width) + "}";
        } else if constexpr (std::is_same_v<T, Write>) {
          return "Write{address=" + hex(o.address) + ", width=" + std::to_string(o.width) +
                 ", value=" + hex(o.value) + "}";
        } else if constexpr (std::is_same_v<T, ReadBulk>) {
          return "ReadBulk{address=" + hex(o.address) + ", length=" + std::to_string(o.length) +
                 "}";
        } else if constexpr (std::is_same_v<T, WriteBulk>) {
          return "WriteBulk{address=" + hex(o.address) + ", length=" + std::to_string(o.length) +
                 ", pattern=" + hex(o.pattern) + "}";
        } else if constexpr (std::is_same_v<T, HostSpan>) {
          return "HostSpan{address=" + hex(o.address) + ", length=" + std::to_string(o.length) +
                 "}";
        } else {
          return "Check{}";
        }
      },
      op);
}

std::string describe(const Outcome& outcome) {
  std::string text = "{" + std::string(to_string(outcome.code));
  if (outcome.value != 0) text += ", value=" + hex(outcome.value);
  if (!outcome.bytes.empty()) {
    // The first bytes and an FNV-1a digest of all of them: enough to see where two differ.
    uint64_t digest = 0xcbf29ce484222325ULL;
    for (std::byte b : outcome.bytes) digest = (digest ^ static_cast<uint8_t>(b)) * 0x100000001b3ULL;
    text += ", " + std::to_string(outcome.bytes.size()) + " bytes, digest=" + hex(digest) + ", first=[";
    for (size_t i = 0; i < outcome.bytes.size() && i < 8; ++i) {
      text += (i ? " " : "") + hex(static_cast<uint8_t>(outcome.bytes[i]));
    }
    text += "]";
  }
  for (const DeviceCall& call : outcome.device_calls) {
    text += std::string(", device ") + (call.is_write ? "write" : "read") + "(region=" +
            hex(call.region_base) + ", offset=" + hex(call.offset) +
            ", size=" + std::to_string(call.size) +
            (call.is_write ? ", value=" + hex(call.value) : std::string()) + ")";
  }
  return text + "}";
}

}  // namespace vmmem::scenario::mem
