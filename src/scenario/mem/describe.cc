// Human-readable renderings of ops and outcomes, for failure reports and RapidCheck counter-
// examples.
#include <ios>
#include <iterator>
#include <sstream>
#include <type_traits>

#include "scenario/mem/ops.h"
#include "scenario/mem/outcome.h"

namespace vmmem::scenario::mem {

std::string describe(const Op& op) {
  std::ostringstream out;
  out << std::hex << std::showbase;
  std::visit(
      [&out](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, AddRam>) {
          out << "AddRam{base=" << o.base << ", size=" << o.size << "}";
        } else if constexpr (std::is_same_v<T, AddMmio>) {
          out << "AddMmio{base=" << o.base << ", size=" << o.size << "}";
        } else if constexpr (std::is_same_v<T, RemoveRegion>) {
          out << "RemoveRegion{base=" << o.base << "}";
        } else if constexpr (std::is_same_v<T, Read>) {
          out << "Read{address=" << o.address << ", width=" << std::dec << +o.width << "}";
        } else if constexpr (std::is_same_v<T, Write>) {
          out << "Write{address=" << o.address << ", width=" << std::dec << +o.width
              << ", value=" << std::hex << o.value << "}";
        } else if constexpr (std::is_same_v<T, ReadBulk>) {
          out << "ReadBulk{address=" << o.address << ", length=" << std::dec << o.length << "}";
        } else if constexpr (std::is_same_v<T, WriteBulk>) {
          out << "WriteBulk{address=" << o.address << ", length=" << std::dec << o.length
              << ", pattern=" << std::hex << o.pattern << "}";
        } else if constexpr (std::is_same_v<T, HostSpan>) {
          out << "HostSpan{address=" << o.address << ", length=" << std::dec << o.length << "}";
        } else if constexpr (std::is_same_v<T, Atomic>) {
          static constexpr const char* kKinds[] = {"load", "store", "compare_exchange", "fetch_add",
                                                   "fetch_or"};
          const auto kind = static_cast<size_t>(o.kind);
          out << "Atomic{" << (kind < std::size(kKinds) ? kKinds[kind] : "?")
              << ", address=" << o.address << ", width=" << std::dec << +o.width
              << ", order=" << +o.order << std::hex << ", value=" << o.value
              << ", expected=" << o.expected << "}";
        } else if constexpr (std::is_same_v<T, SetDirtyTracking>) {
          out << "SetDirtyTracking{base=" << o.base << ", on=" << (o.on ? "true" : "false") << "}";
        } else if constexpr (std::is_same_v<T, TakeDirty>) {
          out << "TakeDirty{base=" << o.base << "}";
        } else if constexpr (std::is_same_v<T, MarkDirty>) {
          out << "MarkDirty{address=" << o.address << ", length=" << std::dec << o.length << "}";
        } else if constexpr (std::is_same_v<T, Copy>) {
          out << "Copy{from=" << o.from << ", to=" << o.to << ", length=" << std::dec << o.length
              << "}";
        } else if constexpr (std::is_same_v<T, AddRom>) {
          out << "AddRom{base=" << o.base << ", size=" << o.size << ", pattern=" << o.pattern
              << "}";
        } else if constexpr (std::is_same_v<T, Discard>) {
          out << "Discard{address=" << o.address << ", length=" << std::dec << o.length << "}";
        } else if constexpr (std::is_same_v<T, AddBackedRam>) {
          static constexpr const char* kBackings[] = {
              "anonymous_huge", "memfd", "memfd_huge", "shared_file", "private_file", "short_file"};
          const auto backing = static_cast<size_t>(o.backing);
          out << "AddBackedRam{base=" << o.base << ", size=" << o.size
              << ", backing=" << (backing < std::size(kBackings) ? kBackings[backing] : "?") << "}";
        } else if constexpr (std::is_same_v<T, ReadShared>) {
          out << "ReadShared{address=" << o.address << ", length=" << std::dec << o.length << "}";
        } else if constexpr (std::is_same_v<T, WriteShared>) {
          out << "WriteShared{address=" << o.address << ", length=" << std::dec << o.length
              << std::hex << ", pattern=" << o.pattern << "}";
        } else if constexpr (std::is_same_v<T, PinSpan>) {
          out << "PinSpan{slot=" << std::dec << +o.slot << std::hex << ", address=" << o.address
              << ", length=" << std::dec << o.length << "}";
        } else if constexpr (std::is_same_v<T, ReadPinned>) {
          out << "ReadPinned{slot=" << std::dec << +o.slot << "}";
        } else if constexpr (std::is_same_v<T, WritePinned>) {
          out << "WritePinned{slot=" << std::dec << +o.slot << std::hex << ", pattern=" << o.pattern
              << "}";
        } else {
          out << "Check{}";
        }
      },
      op);
  return out.str();
}

std::string describe(const Outcome& outcome) {
  std::ostringstream out;
  out << std::hex << std::showbase << "{" << to_string(outcome.code);
  if (outcome.value != 0) out << ", value=" << outcome.value;
  if (!outcome.bytes.empty()) {
    // The first bytes and an FNV-1a digest of all of them: enough to see where two differ.
    uint64_t digest = 0xcbf29ce484222325ULL;
    for (std::byte b : outcome.bytes)
      digest = (digest ^ static_cast<uint8_t>(b)) * 0x100000001b3ULL;
    out << ", " << std::dec << outcome.bytes.size() << " bytes, digest=" << std::hex << digest
        << ", first=[";
    for (size_t i = 0; i < outcome.bytes.size() && i < 8; ++i) {
      out << (i != 0 ? " " : "") << static_cast<unsigned>(outcome.bytes[i]);
    }
    out << "]";
  }
  for (const DeviceCall& call : outcome.device_calls) {
    out << ", device " << (call.is_write ? "write" : "read") << "(region=" << call.region_base
        << ", offset=" << call.offset << ", size=" << std::dec << call.size << std::hex;
    if (call.is_write) out << ", value=" << call.value;
    out << ")";
  }
  out << "}";
  return out.str();
}

}  // namespace vmmem::scenario::mem
