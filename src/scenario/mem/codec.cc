#include "scenario/mem/codec.h"

#include <array>
#include <type_traits>

#include "scenario/common/codec.h"
#include "support/check.h"

namespace vmmem::scenario::mem {
namespace {

// Address anchors: an address is encoded as anchor + signed 32-bit offset when one fits.
constexpr std::array<uint64_t, 12> kAnchors = {
    0x0,
    0x1000,
    0x10000,
    0x4000'0000,
    0x8000'0000,
    0xfee0'0000,
    0xffff'f000,
    0x1'0000'0000,
    0x8000'0000'0000,
    0xffff'ffff'ffff'0000,
    0xffff'ffff'ffff'e000,
    0xffff'ffff'ffff'f000,
};
constexpr uint8_t kRawForm = 0xff;

// Region sizes and bulk lengths: forms below kRawForm pick from a table of interesting values.
constexpr std::array<uint64_t, 10> kRegionSizes = {0x1000,    0x2000, 0x3000, 0x10000, 0x100000,
                                                   0x1000000, 0,      1,      0x800,   0x1001};
constexpr std::array<uint32_t, 12> kLengths = {0,   1,    7,    8,    64,    255,
                                               256, 4095, 4096, 4097, 65536, kMaxBulkLength};

uint64_t decode_address(ByteSource& source) {
  const uint8_t form = source.u8();
  if (form == kRawForm) return source.u64();
  const auto offset = static_cast<int32_t>(source.u32());
  return kAnchors[form % kAnchors.size()] + static_cast<uint64_t>(static_cast<int64_t>(offset));
}

void encode_address(uint64_t address, ByteSink& sink) {
  for (size_t i = 0; i < kAnchors.size(); ++i) {
    const auto offset = static_cast<int64_t>(address - kAnchors[i]);
    if (offset >= INT32_MIN && offset <= INT32_MAX) {
      sink.u8(static_cast<uint8_t>(i));
      sink.u32(static_cast<uint32_t>(static_cast<int32_t>(offset)));
      return;
    }
  }
  sink.u8(kRawForm);
  sink.u64(address);
}

uint64_t decode_region_size(ByteSource& source) {
  const uint8_t form = source.u8();
  return form == kRawForm ? source.u64() : kRegionSizes[form % kRegionSizes.size()];
}

void encode_region_size(uint64_t size, ByteSink& sink) {
  for (size_t i = 0; i < kRegionSizes.size(); ++i) {
    if (kRegionSizes[i] == size) return sink.u8(static_cast<uint8_t>(i));
  }
  sink.u8(kRawForm);
  sink.u64(size);
}

uint32_t decode_length(ByteSource& source) {
  const uint8_t form = source.u8();
  if (form == kRawForm) return static_cast<uint32_t>(source.below(kMaxBulkLength + 1));
  return kLengths[form % kLengths.size()];
}

void encode_length(uint32_t length, ByteSink& sink) {
  for (size_t i = 0; i < kLengths.size(); ++i) {
    if (kLengths[i] == length) return sink.u8(static_cast<uint8_t>(i));
  }
  sink.u8(kRawForm);
  sink.below(length, kMaxBulkLength + 1);
}

// Widths: forms below 0xf0 pick 1, 2, 4 or 8 by their low two bits; 0xf0..0xff carry a raw
// width 0..15, mostly invalid.
uint8_t decode_width(ByteSource& source) {
  const uint8_t form = source.u8();
  return form < 0xf0 ? static_cast<uint8_t>(1u << (form & 3)) : static_cast<uint8_t>(form & 0x0f);
}

void encode_width(uint8_t width, ByteSink& sink) {
  switch (width) {
    case 1:
      return sink.u8(0);
    case 2:
      return sink.u8(1);
    case 4:
      return sink.u8(2);
    case 8:
      return sink.u8(3);
    default:
      return sink.u8(static_cast<uint8_t>(0xf0 | width));
  }
}

Op decode_op(ByteSource& source, size_t kinds) {
  switch (source.below(kinds)) {
    case 0: {
      const uint64_t base = decode_address(source);
      return AddRam{base, decode_region_size(source)};
    }
    case 1: {
      const uint64_t base = decode_address(source);
      return AddMmio{base, decode_region_size(source)};
    }
    case 2:
      return RemoveRegion{decode_address(source)};
    case 3: {
      const uint64_t address = decode_address(source);
      return Read{address, decode_width(source)};
    }
    case 4: {
      const uint64_t address = decode_address(source);
      const uint8_t width = decode_width(source);
      return Write{address, width, source.u64()};
    }
    case 5: {
      const uint64_t address = decode_address(source);
      return ReadBulk{address, decode_length(source)};
    }
    case 6: {
      const uint64_t address = decode_address(source);
      const uint32_t length = decode_length(source);
      return WriteBulk{address, length, source.u64()};
    }
    case 7: {
      const uint64_t address = decode_address(source);
      return HostSpan{address, decode_length(source)};
    }
    case 9: {
      const auto kind =
          static_cast<AtomicKind>(source.below(static_cast<size_t>(AtomicKind::kCount)));
      const uint64_t address = decode_address(source);
      const uint8_t width = decode_width(source);
      const auto order = static_cast<uint8_t>(source.u8() & 7);
      const uint64_t value = source.u64();
      return Atomic{kind, address, width, order, value, source.u64()};
    }
    case 10: {
      const uint64_t from = decode_address(source);
      const uint64_t to = decode_address(source);
      return Copy{from, to, decode_length(source)};
    }
    case 11: {
      const uint64_t base = decode_address(source);
      return SetDirtyTracking{base, source.boolean()};
    }
    case 12:
      return TakeDirty{decode_address(source)};
    case 13: {
      const uint64_t address = decode_address(source);
      return MarkDirty{address, decode_length(source)};
    }
    case 14: {
      const auto slot = static_cast<uint8_t>(source.u8() % kPinSlots);
      const uint64_t address = decode_address(source);
      return PinSpan{slot, address, decode_length(source)};
    }
    case 15:
      return ReadPinned{static_cast<uint8_t>(source.u8() % kPinSlots)};
    case 16: {
      const auto slot = static_cast<uint8_t>(source.u8() % kPinSlots);
      return WritePinned{slot, source.u64()};
    }
    case 17: {
      const uint64_t address = decode_address(source);
      return Discard{address, decode_length(source)};
    }
    case 18: {
      const uint64_t base = decode_address(source);
      const uint32_t size = decode_length(source);
      return AddRom{base, size, source.u64()};
    }
    case 19: {
      const uint64_t base = decode_address(source);
      const uint64_t size = decode_region_size(source);
      return AddBackedRam{base, size,
                          static_cast<Backing>(source.below(static_cast<size_t>(Backing::kCount)))};
    }
    case 20: {
      const uint64_t address = decode_address(source);
      return ReadShared{address, decode_length(source)};
    }
    case 21: {
      const uint64_t address = decode_address(source);
      const uint32_t length = decode_length(source);
      return WriteShared{address, length, source.u64()};
    }
    default:
      return Check{};
  }
}

void encode_op(const Op& op, size_t kinds, ByteSink& sink) {
  sink.below(op.index(), kinds);
  std::visit(
      [&sink](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, AddRam> || std::is_same_v<T, AddMmio>) {
          encode_address(o.base, sink);
          encode_region_size(o.size, sink);
        } else if constexpr (std::is_same_v<T, RemoveRegion>) {
          encode_address(o.base, sink);
        } else if constexpr (std::is_same_v<T, Read>) {
          encode_address(o.address, sink);
          encode_width(o.width, sink);
        } else if constexpr (std::is_same_v<T, Write>) {
          encode_address(o.address, sink);
          encode_width(o.width, sink);
          sink.u64(o.value);
        } else if constexpr (std::is_same_v<T, ReadBulk> || std::is_same_v<T, HostSpan>) {
          encode_address(o.address, sink);
          encode_length(o.length, sink);
        } else if constexpr (std::is_same_v<T, WriteBulk>) {
          encode_address(o.address, sink);
          encode_length(o.length, sink);
          sink.u64(o.pattern);
        } else if constexpr (std::is_same_v<T, Atomic>) {
          sink.below(static_cast<size_t>(o.kind), static_cast<size_t>(AtomicKind::kCount));
          encode_address(o.address, sink);
          encode_width(o.width, sink);
          sink.u8(o.order);
          sink.u64(o.value);
          sink.u64(o.expected);
        } else if constexpr (std::is_same_v<T, SetDirtyTracking>) {
          encode_address(o.base, sink);
          sink.boolean(o.on);
        } else if constexpr (std::is_same_v<T, TakeDirty>) {
          encode_address(o.base, sink);
        } else if constexpr (std::is_same_v<T, MarkDirty>) {
          encode_address(o.address, sink);
          encode_length(o.length, sink);
        } else if constexpr (std::is_same_v<T, Copy>) {
          encode_address(o.from, sink);
          encode_address(o.to, sink);
          encode_length(o.length, sink);
        } else if constexpr (std::is_same_v<T, AddRom>) {
          encode_address(o.base, sink);
          encode_length(o.size, sink);
          sink.u64(o.pattern);
        } else if constexpr (std::is_same_v<T, Discard> || std::is_same_v<T, ReadShared>) {
          encode_address(o.address, sink);
          encode_length(o.length, sink);
        } else if constexpr (std::is_same_v<T, WriteShared>) {
          encode_address(o.address, sink);
          encode_length(o.length, sink);
          sink.u64(o.pattern);
        } else if constexpr (std::is_same_v<T, AddBackedRam>) {
          encode_address(o.base, sink);
          encode_region_size(o.size, sink);
          sink.below(static_cast<size_t>(o.backing), static_cast<size_t>(Backing::kCount));
        } else if constexpr (std::is_same_v<T, PinSpan>) {
          sink.u8(o.slot);
          encode_address(o.address, sink);
          encode_length(o.length, sink);
        } else if constexpr (std::is_same_v<T, ReadPinned>) {
          sink.u8(o.slot);
        } else if constexpr (std::is_same_v<T, WritePinned>) {
          sink.u8(o.slot);
          sink.u64(o.pattern);
        }
      },
      op);
}

// Bits 0-1 of the full format's first byte.
constexpr std::array<uint64_t, 4> kHostPageSizeForms = {4096, 16384, 65536, 4096};

}  // namespace

Op decode(ByteSource& source) {
  return decode_op(source, kFrozenOpKinds);
}

void encode(const Op& op, ByteSink& sink) {
  VMM_CHECK(in_decodable_domain(op), "encode: op outside the decodable domain");
  encode_op(op, kFrozenOpKinds, sink);
}

FullInput decode_full_input(std::span<const uint8_t> bytes, size_t max_ops) {
  ByteSource source(bytes);
  FullInput input{kHostPageSizeForms[source.u8() & 3], {}};
  while (!source.exhausted() && input.ops.size() < max_ops)
    input.ops.push_back(decode_op(source, std::variant_size_v<Op>));
  return input;
}

std::vector<uint8_t> encode_full_input(const FullInput& input) {
  ByteSink sink;
  size_t form = 0;
  while (form < 3 && kHostPageSizeForms[form] != input.host_page_size)
    ++form;
  VMM_CHECK(form < 3, "encode: host page size must be 4, 16 or 64 KiB");
  sink.u8(static_cast<uint8_t>(form));
  for (const Op& op : input.ops) {
    VMM_CHECK(in_full_domain(op), "encode: op outside the full decodable domain");
    encode_op(op, std::variant_size_v<Op>, sink);
  }
  return std::move(sink).take();
}

bool in_full_domain(const Op& op) {
  if (const auto* atomic = std::get_if<Atomic>(&op)) {
    return atomic->kind < AtomicKind::kCount && atomic->width <= kMaxWidth && atomic->order <= 7;
  }
  if (const auto* copy = std::get_if<Copy>(&op)) return copy->length <= kMaxBulkLength;
  if (const auto* mark = std::get_if<MarkDirty>(&op)) return mark->length <= kMaxBulkLength;
  if (const auto* pin = std::get_if<PinSpan>(&op))
    return pin->slot < kPinSlots && pin->length <= kMaxBulkLength;
  if (const auto* read = std::get_if<ReadPinned>(&op)) return read->slot < kPinSlots;
  if (const auto* discard = std::get_if<Discard>(&op)) return discard->length <= kMaxBulkLength;
  if (const auto* rom = std::get_if<AddRom>(&op)) return rom->size <= kMaxBulkLength;
  if (const auto* write = std::get_if<WritePinned>(&op)) return write->slot < kPinSlots;
  if (const auto* ram = std::get_if<AddBackedRam>(&op)) return ram->backing < Backing::kCount;
  if (const auto* read = std::get_if<ReadShared>(&op)) return read->length <= kMaxBulkLength;
  if (const auto* write = std::get_if<WriteShared>(&op)) return write->length <= kMaxBulkLength;
  if (op.index() >= kFrozenOpKinds) return true;
  return in_decodable_domain(op);
}

bool in_decodable_domain(const Op& op) {
  if (op.index() >= kFrozenOpKinds) return false;
  return std::visit(
      [](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Read> || std::is_same_v<T, Write>) {
          return o.width <= kMaxWidth;
        } else if constexpr (std::is_same_v<T, ReadBulk> || std::is_same_v<T, WriteBulk> ||
                             std::is_same_v<T, HostSpan>) {
          return o.length <= kMaxBulkLength;
        } else {
          return true;
        }
      },
      op);
}

std::vector<Op> decode_ops(std::span<const uint8_t> bytes, size_t max_ops) {
  return scenario::decode_ops<Op>(bytes, max_ops, [](ByteSource& s) { return decode(s); });
}

std::vector<uint8_t> encode_ops(std::span<const Op> ops) {
  return scenario::encode_ops<Op>(ops, [](const Op& op, ByteSink& s) { encode(op, s); });
}

}  // namespace vmmem::scenario::mem
