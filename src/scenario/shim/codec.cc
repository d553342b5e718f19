#include "scenario/shim/codec.h"

#include <algorithm>
#include <array>
#include <type_traits>

#include "scenario/common/codec.h"

namespace vmmem::scenario::shim {
namespace {

constexpr uint64_t kTop = ~uint64_t{0};
constexpr uint64_t kLargest = uint64_t{1} << 46;  // the allocator's largest request

constexpr std::array<uint64_t, 36> kSizes = {0,
                                             1,
                                             7,
                                             8,
                                             9,
                                             15,
                                             16,
                                             17,
                                             24,
                                             100,
                                             128,
                                             255,
                                             256,
                                             1024,
                                             4095,
                                             4096,
                                             4097,
                                             32768,
                                             32769,
                                             65536,
                                             131072,
                                             1 << 20,
                                             (4 << 20) - 1,
                                             4 << 20,
                                             8 << 20,
                                             kLargestTried,
                                             kLargestTried + 1,
                                             kLargest,
                                             kLargest + 1,
                                             uint64_t{1} << 62,
                                             kTop,
                                             kTop - 4095,
                                             kTop - 4096,
                                             uint64_t{1} << 32,
                                             (uint64_t{1} << 32) + 1,
                                             uint64_t{1} << 33};
constexpr std::array<uint64_t, 13> kCounts = {0,
                                              1,
                                              2,
                                              3,
                                              16,
                                              100,
                                              1000,
                                              uint64_t{1} << 31,
                                              uint64_t{1} << 32,
                                              (uint64_t{1} << 32) + 1,
                                              kLargest,
                                              (kTop >> 1) + 1,
                                              kTop};
constexpr std::array<uint64_t, 25> kAlignments = {0,
                                                  1,
                                                  2,
                                                  3,
                                                  4,
                                                  8,
                                                  12,
                                                  16,
                                                  24,
                                                  32,
                                                  48,
                                                  64,
                                                  100,
                                                  128,
                                                  4096,
                                                  8192,
                                                  65536,
                                                  uint64_t{1} << 20,
                                                  uint64_t{1} << 21,
                                                  (uint64_t{1} << 21) + 1,
                                                  uint64_t{1} << 22,
                                                  uint64_t{1} << 32,
                                                  uint64_t{1} << 63,
                                                  (uint64_t{1} << 63) + 1,
                                                  kTop};
// Forms of a value after the table indices: two raw bytes, or a raw value up to kLargestTried.
constexpr uint8_t kRaw16 = 0xfe, kRawTried = 0xff;

enum Tag : uint8_t {
  kAllocate = 0,  // 0..5
  kRealloc = 6,   // 6..7
  kFree = 8,      // 8..9
  kFill = 10,     // 10..11
  kUsableSize = 12,
  kTrim = 13,
  kBadPointer = 14,
  kCheck = 15,
  kTags = 16,
};

template <size_t N>
uint64_t decode_value(ByteSource& source, const std::array<uint64_t, N>& table) {
  const uint8_t form = source.u8();
  if (form == kRaw16) return source.u16();
  if (form == kRawTried) return source.below(kLargestTried + 1);
  return table[form % N];
}

template <size_t N>
bool value_in_domain(uint64_t value, const std::array<uint64_t, N>& table) {
  return value <= kLargestTried || std::find(table.begin(), table.end(), value) != table.end();
}

template <size_t N>
void encode_value(uint64_t value, const std::array<uint64_t, N>& table, ByteSink& sink) {
  static_assert(N < kRaw16);
  if (const auto* it = std::find(table.begin(), table.end(), value); it != table.end())
    return sink.u8(static_cast<uint8_t>(it - table.begin()));
  if (value <= 0xffff) {
    sink.u8(kRaw16);
    sink.u16(static_cast<uint16_t>(value));
  } else {
    sink.u8(kRawTried);
    sink.below(value, kLargestTried + 1);
  }
}

// What an Allocate call's `extra` is drawn from (nothing for the calls that take none).
const uint64_t* extra_table(AllocCall call, size_t* size) {
  switch (call) {
    case AllocCall::kCalloc:
      *size = kCounts.size();
      return kCounts.data();
    case AllocCall::kPosixMemalign:
    case AllocCall::kAlignedAlloc:
    case AllocCall::kMemalign:
      *size = kAlignments.size();
      return kAlignments.data();
    default:
      *size = 0;
      return nullptr;
  }
}

uint64_t decode_extra(ByteSource& source, AllocCall call) {
  if (call == AllocCall::kCalloc) return decode_value(source, kCounts);
  size_t size;
  if (extra_table(call, &size) != nullptr) return decode_value(source, kAlignments);
  return 0;
}

}  // namespace

Op decode(ByteSource& source) {
  const uint8_t tag = source.u8() % kTags;
  if (tag < kRealloc) {
    const auto call = static_cast<AllocCall>(source.u8() % static_cast<uint8_t>(AllocCall::kCount));
    const uint64_t size = decode_value(source, kSizes);
    return Allocate{call, size, decode_extra(source, call)};
  }
  if (tag < kFree) {
    const uint8_t flags = source.u8();
    Realloc op{0, (flags & 1) != 0, (flags & 2) != 0, 0, 0};
    if (!op.null_pointer) op.slot = source.u8();
    op.size = decode_value(source, kSizes);
    if (op.array) op.count = decode_value(source, kCounts);
    return op;
  }
  if (tag < kFill) {
    const bool null_pointer = (tag & 1) != 0;
    return Free{static_cast<uint16_t>(null_pointer ? 0 : source.u8()), null_pointer};
  }
  if (tag < kUsableSize) {
    const uint8_t slot = source.u8();
    return Fill{slot, source.u8()};
  }
  switch (tag) {
    case kUsableSize:
      return UsableSize{source.u8()};
    case kTrim:
      return Trim{};
    case kBadPointer: {
      const uint8_t which = source.u8();
      const auto kind =
          static_cast<BadPointerKind>(which % static_cast<uint8_t>(BadPointerKind::kCount));
      const auto use =
          static_cast<BadPointerUse>((which / 4) % static_cast<uint8_t>(BadPointerUse::kCount));
      return BadPointer{kind, use, source.u8()};
    }
    default:
      return Check{};
  }
}

void encode(const Op& op, ByteSink& sink) {
  std::visit(
      [&sink](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Allocate>) {
          sink.u8(kAllocate);
          sink.u8(static_cast<uint8_t>(o.call));
          encode_value(o.size, kSizes, sink);
          if (o.call == AllocCall::kCalloc) {
            encode_value(o.extra, kCounts, sink);
          } else if (size_t n; extra_table(o.call, &n) != nullptr) {
            encode_value(o.extra, kAlignments, sink);
          }
        } else if constexpr (std::is_same_v<T, Realloc>) {
          sink.u8(kRealloc);
          sink.u8(static_cast<uint8_t>((o.null_pointer ? 1 : 0) | (o.array ? 2 : 0)));
          if (!o.null_pointer) sink.u8(static_cast<uint8_t>(o.slot));
          encode_value(o.size, kSizes, sink);
          if (o.array) encode_value(o.count, kCounts, sink);
        } else if constexpr (std::is_same_v<T, Free>) {
          sink.u8(o.null_pointer ? kFree + 1 : kFree);
          if (!o.null_pointer) sink.u8(static_cast<uint8_t>(o.slot));
        } else if constexpr (std::is_same_v<T, Fill>) {
          sink.u8(kFill);
          sink.u8(static_cast<uint8_t>(o.slot));
          sink.u8(o.byte);
        } else if constexpr (std::is_same_v<T, UsableSize>) {
          sink.u8(kUsableSize);
          sink.u8(static_cast<uint8_t>(o.slot));
        } else if constexpr (std::is_same_v<T, Trim>) {
          sink.u8(kTrim);
        } else if constexpr (std::is_same_v<T, BadPointer>) {
          sink.u8(kBadPointer);
          sink.u8(
              static_cast<uint8_t>(static_cast<uint8_t>(o.kind) + 4 * static_cast<uint8_t>(o.use)));
          sink.u8(static_cast<uint8_t>(o.slot));
        } else {
          sink.u8(kCheck);
        }
      },
      op);
}

bool in_decodable_domain(const Op& op) {
  return std::visit(
      [](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Allocate>) {
          if (o.call >= AllocCall::kCount || !value_in_domain(o.size, kSizes)) return false;
          if (o.call == AllocCall::kCalloc) return value_in_domain(o.extra, kCounts);
          size_t n;
          if (extra_table(o.call, &n) != nullptr) return value_in_domain(o.extra, kAlignments);
          return o.extra == 0;
        } else if constexpr (std::is_same_v<T, Realloc>) {
          return o.slot <= 0xff && (!o.null_pointer || o.slot == 0) &&
                 value_in_domain(o.size, kSizes) &&
                 (o.array ? value_in_domain(o.count, kCounts) : o.count == 0);
        } else if constexpr (std::is_same_v<T, Free>) {
          return o.slot <= 0xff && (!o.null_pointer || o.slot == 0);
        } else if constexpr (std::is_same_v<T, Fill> || std::is_same_v<T, UsableSize>) {
          return o.slot <= 0xff;
        } else if constexpr (std::is_same_v<T, BadPointer>) {
          return o.kind < BadPointerKind::kCount && o.use < BadPointerUse::kCount && o.slot <= 0xff;
        } else {
          return true;
        }
      },
      op);
}

Input decode_input(std::span<const uint8_t> bytes, size_t max_ops) {
  Input input;
  if (bytes.empty()) return input;
  input.config.hardened = (bytes[0] & 1) != 0;
  input.ops = decode_ops<Op>(bytes.subspan(1), max_ops, [](ByteSource& s) { return decode(s); });
  return input;
}

std::vector<uint8_t> encode_input(const Config& config, std::span<const Op> ops) {
  std::vector<uint8_t> bytes =
      encode_ops<Op>(ops, [](const Op& op, ByteSink& s) { encode(op, s); });
  bytes.insert(bytes.begin(), static_cast<uint8_t>(config.hardened ? 1 : 0));
  return bytes;
}

}  // namespace vmmem::scenario::shim
