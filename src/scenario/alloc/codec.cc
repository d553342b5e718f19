#include "scenario/alloc/codec.h"

#include <array>
#include <type_traits>

#include "scenario/common/codec.h"

namespace vmmem::scenario::alloc {
namespace {

constexpr uint64_t kTop = ~uint64_t{0};
constexpr std::array<uint64_t, 55> kSizes = {0,
                                             1,
                                             7,
                                             8,
                                             9,
                                             15,
                                             16,
                                             17,
                                             24,
                                             31,
                                             32,
                                             33,
                                             48,
                                             63,
                                             64,
                                             65,
                                             100,
                                             127,
                                             128,
                                             129,
                                             255,
                                             256,
                                             257,
                                             511,
                                             512,
                                             1000,
                                             1023,
                                             1024,
                                             1025,
                                             2048,
                                             4095,
                                             4096,
                                             4097,
                                             8192,
                                             16383,
                                             16384,
                                             32767,
                                             32768,
                                             32769,
                                             65535,
                                             65536,
                                             65537,
                                             131072,
                                             262144,
                                             1048576,
                                             4128768,
                                             4128769,
                                             4194304,
                                             8388608,
                                             16777216,
                                             kTop,
                                             kTop - 15,
                                             uint64_t{1} << 46,
                                             (uint64_t{1} << 46) + 1,
                                             uint64_t{1} << 63};
constexpr uint8_t kSmallRawSize = 0xfd, kMediumRawSize = 0xfe, kLargeRawSize = 0xff;

constexpr std::array<uint64_t, 8> kBadAlignments = {0,   3, 6, 24, 100, 4097, uint64_t{1} << 40,
                                                    kTop};
constexpr uint8_t kLargestAlignmentShift = 22;

enum Tag : uint8_t {
  kAlloc = 0,     // 0..8
  kFree = 9,      // 9..14
  kRealloc = 15,  // 15..16
  kWrite = 17,    // 17..18
  kCheck = 19,
  kCollect = 20,
  kPoolAlloc = 21,  // 21..22
  kPoolFree = 23,
  kHeapCreate = 24,
  kHeapDestroy = 25,
  kFailNextOsCall = 26,
  kHandoff = 27,  // 27..28
  kBadFree = 29,  // 29..30
  kDetach = 31,
};

uint64_t decode_size(ByteSource& source) {
  const uint8_t form = source.u8();
  switch (form) {
    case kSmallRawSize:
      return source.u8();
    case kMediumRawSize:
      return source.u16();
    case kLargeRawSize:
      return source.below(kMaxRawSize + 1);
    default:
      return kSizes[form % kSizes.size()];
  }
}

void encode_size(uint64_t size, ByteSink& sink) {
  for (size_t i = 0; i < kSizes.size(); ++i) {
    if (kSizes[i] == size) return sink.u8(static_cast<uint8_t>(i));
  }
  if (size <= 0xff) {
    sink.u8(kSmallRawSize);
    sink.u8(static_cast<uint8_t>(size));
  } else if (size <= 0xffff) {
    sink.u8(kMediumRawSize);
    sink.u16(static_cast<uint16_t>(size));
  } else {
    sink.u8(kLargeRawSize);
    sink.below(size, kMaxRawSize + 1);
  }
}

bool size_in_domain(uint64_t size) {
  if (size <= kMaxRawSize) return true;
  for (uint64_t s : kSizes)
    if (s == size) return true;
  return false;
}

uint64_t decode_alignment(ByteSource& source) {
  const uint8_t form = source.u8();
  if (form == 0) return 1;
  if (form <= kLargestAlignmentShift) return uint64_t{1} << form;
  if (form - kLargestAlignmentShift - 1u < kBadAlignments.size())
    return kBadAlignments[form - kLargestAlignmentShift - 1u];
  return 1;
}

void encode_alignment(uint64_t alignment, ByteSink& sink) {
  if (alignment == 1) return sink.u8(0);
  for (uint8_t shift = 1; shift <= kLargestAlignmentShift; ++shift) {
    if (alignment == uint64_t{1} << shift) return sink.u8(shift);
  }
  for (size_t i = 0; i < kBadAlignments.size(); ++i) {
    if (kBadAlignments[i] == alignment)
      return sink.u8(static_cast<uint8_t>(kLargestAlignmentShift + 1 + i));
  }
}

bool alignment_in_domain(uint64_t alignment) {
  if (alignment != 0 && (alignment & (alignment - 1)) == 0 &&
      alignment <= uint64_t{1} << kLargestAlignmentShift)
    return true;
  for (uint64_t a : kBadAlignments)
    if (a == alignment) return true;
  return false;
}

}  // namespace

Op decode(ByteSource& source) {
  const uint8_t tag = source.u8() % 32;
  if (tag <= 8) {
    Alloc op;
    op.size = decode_size(source);
    op.alignment = decode_alignment(source);
    const uint8_t flags = source.u8();
    op.zeroed = (flags & 1) != 0;
    op.heap = static_cast<uint8_t>(flags >> 1);
    return op;
  }
  if (tag <= 14) {
    const uint16_t slot = source.u16();
    return Free{slot, source.boolean()};
  }
  if (tag <= 16) {
    const uint16_t slot = source.u16();
    return Realloc{slot, decode_size(source)};
  }
  if (tag <= 18) {
    const uint16_t slot = source.u16();
    return Write{slot, source.u64()};
  }
  switch (tag) {
    case kCheck:
      return Check{};
    case kCollect:
      return Collect{source.boolean()};
    case kPoolFree:
      return PoolFree{source.u16()};
    case kHeapCreate:
      return HeapCreate{};
    case kHeapDestroy:
      return HeapDestroy{source.u8()};
    case kFailNextOsCall:
      return FailNextOsCall{static_cast<uint8_t>(1 + source.u8() % 3)};
    case kHandoff:
    case kHandoff + 1: {
      const uint16_t slot = source.u16();
      return Handoff{slot, source.u8()};
    }
    case kDetach:
      return Detach{};
    case kBadFree:
    case kBadFree + 1: {
      const auto kind =
          static_cast<BadFreeKind>(source.u8() % static_cast<uint8_t>(BadFreeKind::kCount));
      const uint16_t slot = source.u16();
      return BadFree{kind, slot, source.u32()};
    }
    default:
      return PoolAlloc{};
  }
}

void encode(const Op& op, ByteSink& sink) {
  std::visit(
      [&sink](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Alloc>) {
          sink.u8(kAlloc);
          encode_size(o.size, sink);
          encode_alignment(o.alignment, sink);
          sink.u8(static_cast<uint8_t>((o.heap << 1) | (o.zeroed ? 1 : 0)));
        } else if constexpr (std::is_same_v<T, Free>) {
          sink.u8(kFree);
          sink.u16(o.slot);
          sink.boolean(o.sized);
        } else if constexpr (std::is_same_v<T, Realloc>) {
          sink.u8(kRealloc);
          sink.u16(o.slot);
          encode_size(o.size, sink);
        } else if constexpr (std::is_same_v<T, Write>) {
          sink.u8(kWrite);
          sink.u16(o.slot);
          sink.u64(o.pattern);
        } else if constexpr (std::is_same_v<T, Check>) {
          sink.u8(kCheck);
        } else if constexpr (std::is_same_v<T, Collect>) {
          sink.u8(kCollect);
          sink.boolean(o.force);
        } else if constexpr (std::is_same_v<T, PoolAlloc>) {
          sink.u8(kPoolAlloc);
        } else if constexpr (std::is_same_v<T, PoolFree>) {
          sink.u8(kPoolFree);
          sink.u16(o.slot);
        } else if constexpr (std::is_same_v<T, HeapCreate>) {
          sink.u8(kHeapCreate);
        } else if constexpr (std::is_same_v<T, HeapDestroy>) {
          sink.u8(kHeapDestroy);
          sink.u8(o.heap);
        } else if constexpr (std::is_same_v<T, FailNextOsCall>) {
          sink.u8(kFailNextOsCall);
          sink.u8(static_cast<uint8_t>(o.count - 1));
        } else if constexpr (std::is_same_v<T, Handoff>) {
          sink.u8(kHandoff);
          sink.u16(o.slot);
          sink.u8(o.thread);
        } else if constexpr (std::is_same_v<T, Detach>) {
          sink.u8(kDetach);
        } else {
          sink.u8(kBadFree);
          sink.u8(static_cast<uint8_t>(o.kind));
          sink.u16(o.slot);
          sink.u32(o.offset);
        }
      },
      op);
}

bool in_decodable_domain(const Op& op) {
  if (const auto* alloc = std::get_if<Alloc>(&op))
    return size_in_domain(alloc->size) && alignment_in_domain(alloc->alignment) &&
           alloc->heap < 128;
  if (const auto* realloc = std::get_if<Realloc>(&op)) return size_in_domain(realloc->size);
  if (const auto* fail = std::get_if<FailNextOsCall>(&op))
    return fail->count >= 1 && fail->count <= 3;
  if (const auto* bad = std::get_if<BadFree>(&op)) return bad->kind < BadFreeKind::kCount;
  return true;
}

Input decode_input(std::span<const uint8_t> bytes, size_t max_ops) {
  Input input;
  if (bytes.empty()) return input;
  const uint8_t config = bytes[0];
  input.config.hardened = (config & 1) != 0;
  switch ((config >> 1) & 3) {
    case 1:
      input.config.purge = vmmem::alloc::PurgePolicy::kEager;
      break;
    case 2:
      input.config.purge = vmmem::alloc::PurgePolicy::kNever;
      break;
    default:
      input.config.purge = vmmem::alloc::PurgePolicy::kDelayed;
  }
  input.ops = decode_ops<Op>(bytes.subspan(1), max_ops, [](ByteSource& s) { return decode(s); });
  return input;
}

std::vector<uint8_t> encode_input(const Config& config, std::span<const Op> ops) {
  uint8_t first = config.hardened ? 1 : 0;
  if (config.purge == vmmem::alloc::PurgePolicy::kEager) first |= 1 << 1;
  if (config.purge == vmmem::alloc::PurgePolicy::kNever) first |= 2 << 1;
  std::vector<uint8_t> bytes{first};
  const std::vector<uint8_t> body =
      encode_ops<Op>(ops, [](const Op& op, ByteSink& sink) { encode(op, sink); });
  bytes.insert(bytes.end(), body.begin(), body.end());
  return bytes;
}

}  // namespace vmmem::scenario::alloc
