#include "scenario/gc/codec.h"

#include <array>
#include <type_traits>

#include "scenario/common/codec.h"

namespace vmmem::scenario::gc {
namespace {

constexpr std::array<uint32_t, 4> kEdgeLengths = {kMaxLength, kMaxLength + 1, kHugeLength,
                                                  ~uint32_t{0}};
constexpr uint8_t kWideLength = 0xfc, kEdgeLength = 0xfd;

enum Tag : uint8_t {
  kNew = 0,    // 0..3
  kStore = 4,  // 4..6
  kLoad = 7,   // 7..8
  kDropRoot = 9,
  kWriteBytes = 10,
  kMinor = 11,
  kMajor = 12,
  kVerify = 13,
  kBadSlot = 14,
  kStoreForeign = 15,
  kReadBytes = 16,
  kBadBytes = 17,
  kBadHandle = 18,
  kCreateHeap = 19,
  kCorrupt = 20,
  kTagCount = 21,
};

uint32_t decode_length(ByteSource& source) {
  const uint8_t form = source.u8();
  if (form < kWideLength) return form;
  if (form == kWideLength) return source.u16();
  return kEdgeLengths[source.u8() % kEdgeLengths.size()];
}

void encode_length(uint32_t len, ByteSink& sink) {
  if (len < kWideLength) return sink.u8(static_cast<uint8_t>(len));
  if (len <= 0xffff) {
    sink.u8(kWideLength);
    return sink.u16(static_cast<uint16_t>(len));
  }
  for (size_t i = 0; i < kEdgeLengths.size(); ++i) {
    if (kEdgeLengths[i] == len) {
      sink.u8(kEdgeLength);
      return sink.u8(static_cast<uint8_t>(i));
    }
  }
}

}  // namespace

Op decode(ByteSource& source) {
  const uint8_t tag = source.u8() % kTagCount;
  if (tag < kStore) {
    const uint8_t shape = source.u8();
    return New{shape, decode_length(source)};
  }
  if (tag < kLoad) {
    Store op;
    op.obj = source.u16();
    op.slot = source.u16();
    op.target = source.u16();
    op.null = source.boolean();
    return op;
  }
  if (tag < kDropRoot) {
    const uint16_t obj = source.u16();
    return Load{obj, source.u16()};
  }
  switch (tag) {
    case kDropRoot:
      return DropRoot{source.u16()};
    case kWriteBytes: {
      const uint16_t obj = source.u16();
      return WriteBytes{obj, source.u64()};
    }
    case kMinor:
      return Minor{};
    case kMajor:
      return Major{};
    case kVerify:
      return Verify{};
    case kBadSlot: {
      BadSlot op;
      op.obj = source.u16();
      op.past = source.u16();
      op.store = source.boolean();
      return op;
    }
    case kStoreForeign: {
      StoreForeign op;
      op.obj = source.u16();
      op.slot = source.u16();
      op.target = source.u16();
      op.kind = static_cast<ForeignKind>(source.u8() % static_cast<uint8_t>(ForeignKind::kCount));
      return op;
    }
    case kReadBytes: {
      ReadBytes op;
      op.obj = source.u16();
      op.offset = source.u16();
      op.size = source.u16();
      return op;
    }
    case kBadBytes: {
      BadBytes op;
      op.obj = source.u16();
      op.past = source.u16();
      op.write = source.boolean();
      return op;
    }
    case kCorrupt: {
      Corrupt op;
      op.obj = source.u16();
      op.kind = static_cast<CorruptKind>(source.u8() % static_cast<uint8_t>(CorruptKind::kCount));
      return op;
    }
    case kCreateHeap: {
      CreateHeap op;
      op.field = static_cast<OptionField>(source.u8() % static_cast<uint8_t>(OptionField::kCount));
      op.value = source.u16();
      return op;
    }
    default: {
      BadHandle op;
      op.obj = source.u16();
      op.kind =
          static_cast<BadHandleKind>(source.u8() % static_cast<uint8_t>(BadHandleKind::kCount));
      op.use = static_cast<HandleUse>(source.u8() % static_cast<uint8_t>(HandleUse::kCount));
      return op;
    }
  }
}

void encode(const Op& op, ByteSink& sink) {
  std::visit(
      [&sink](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, New>) {
          sink.u8(kNew);
          sink.u8(o.shape);
          encode_length(o.len, sink);
        } else if constexpr (std::is_same_v<T, Store>) {
          sink.u8(kStore);
          sink.u16(o.obj);
          sink.u16(o.slot);
          sink.u16(o.target);
          sink.boolean(o.null);
        } else if constexpr (std::is_same_v<T, Load>) {
          sink.u8(kLoad);
          sink.u16(o.obj);
          sink.u16(o.slot);
        } else if constexpr (std::is_same_v<T, DropRoot>) {
          sink.u8(kDropRoot);
          sink.u16(o.slot);
        } else if constexpr (std::is_same_v<T, WriteBytes>) {
          sink.u8(kWriteBytes);
          sink.u16(o.obj);
          sink.u64(o.pattern);
        } else if constexpr (std::is_same_v<T, Minor>) {
          sink.u8(kMinor);
        } else if constexpr (std::is_same_v<T, Major>) {
          sink.u8(kMajor);
        } else if constexpr (std::is_same_v<T, Verify>) {
          sink.u8(kVerify);
        } else if constexpr (std::is_same_v<T, BadSlot>) {
          sink.u8(kBadSlot);
          sink.u16(o.obj);
          sink.u16(o.past);
          sink.boolean(o.store);
        } else if constexpr (std::is_same_v<T, StoreForeign>) {
          sink.u8(kStoreForeign);
          sink.u16(o.obj);
          sink.u16(o.slot);
          sink.u16(o.target);
          sink.u8(static_cast<uint8_t>(o.kind));
        } else if constexpr (std::is_same_v<T, ReadBytes>) {
          sink.u8(kReadBytes);
          sink.u16(o.obj);
          sink.u16(o.offset);
          sink.u16(o.size);
        } else if constexpr (std::is_same_v<T, BadBytes>) {
          sink.u8(kBadBytes);
          sink.u16(o.obj);
          sink.u16(o.past);
          sink.boolean(o.write);
        } else if constexpr (std::is_same_v<T, BadHandle>) {
          sink.u8(kBadHandle);
          sink.u16(o.obj);
          sink.u8(static_cast<uint8_t>(o.kind));
          sink.u8(static_cast<uint8_t>(o.use));
        } else if constexpr (std::is_same_v<T, CreateHeap>) {
          sink.u8(kCreateHeap);
          sink.u8(static_cast<uint8_t>(o.field));
          sink.u16(o.value);
        } else {
          static_assert(std::is_same_v<T, Corrupt>);
          sink.u8(kCorrupt);
          sink.u16(o.obj);
          sink.u8(static_cast<uint8_t>(o.kind));
        }
      },
      op);
}

bool in_decodable_domain(const Op& op) {
  if (const auto* made = std::get_if<New>(&op)) {
    if (made->len <= 0xffff) return true;
    for (uint32_t len : kEdgeLengths)
      if (len == made->len) return true;
    return false;
  }
  if (const auto* foreign = std::get_if<StoreForeign>(&op))
    return foreign->kind < ForeignKind::kCount;
  if (const auto* bad = std::get_if<BadHandle>(&op))
    return bad->kind < BadHandleKind::kCount && bad->use < HandleUse::kCount;
  if (const auto* create = std::get_if<CreateHeap>(&op)) return create->field < OptionField::kCount;
  if (const auto* corrupt = std::get_if<Corrupt>(&op)) return corrupt->kind < CorruptKind::kCount;
  return true;
}

Input decode_input(std::span<const uint8_t> bytes, size_t max_ops) {
  Input input;
  if (bytes.empty()) return input;
  input.config = decode_config(bytes[0]);
  input.ops = decode_ops<Op>(bytes.subspan(1), max_ops, [](ByteSource& s) { return decode(s); });
  return input;
}

std::vector<uint8_t> encode_input(const Config& config, std::span<const Op> ops) {
  std::vector<uint8_t> bytes{encode_config(config)};
  const std::vector<uint8_t> body =
      encode_ops<Op>(ops, [](const Op& op, ByteSink& sink) { encode(op, sink); });
  bytes.insert(bytes.end(), body.begin(), body.end());
  return bytes;
}

}  // namespace vmmem::scenario::gc
