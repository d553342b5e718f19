#include "scenario/mmu/codec.h"

#include <array>
#include <type_traits>

#include "scenario/common/codec.h"
#include "support/check.h"

namespace vmmem::scenario::mmu {
namespace {

constexpr uint8_t kRawForm = 0xff;

constexpr std::array<uint64_t, 13> kVirtualAnchors = {
    0x0,
    0x4000'0000,
    0x8000'0000,
    0x3f'ffff'f000,         // last page of Sv39's lower half
    0xffff'ffc0'0000'0000,  // first page of Sv39's upper half
    0x7fff'ffff'f000,       // last page of Sv48's lower half
    0xffff'8000'0000'0000,  // first page of Sv48's upper half
    0xffff'ffff'ffff'f000,  // the last page of the address space
    0x40'0000'0000,         // just past Sv39's lower half: non-canonical there
    0x10'0000'0000,
    kDeviceBase,
    kScratchBase,
    0x1'0000'0000,
};
constexpr std::array<uint64_t, 9> kPhysicalAnchors = {
    kDataBase,   kRamBase,    kScratchBase,    kDeviceBase,         0x0,
    0x8020'0000, 0x4000'0000, 0x100'0000'0000, 0xff'ffff'ffff'f000,
};
constexpr std::array<uint64_t, 7> kSizes = {0x1000, 0x20'0000, 0x4000'0000, 0x80'0000'0000,
                                            0x3000, 0,         0x800};
constexpr std::array<uint64_t, 7> kLengths = {0,         0x1000,      0x2000, 0x2'0000,
                                              0x20'0000, 0x4000'0000, 1};
constexpr std::array<int32_t, 7> kStrides = {8, 0x1000, -0x1000, 64, 0x20'0000, 0, 0x3008};
constexpr std::array<uint64_t, 16> kCorruptions = {
    0x1,  // V
    0x2,  // R (RW -> W only: the reserved encoding)
    0x4,
    0x8,
    0x10,
    0x20,
    0x40,
    0x80,
    0xe,                             // R W X: a pointer becomes a leaf and back
    uint64_t{1} << 54,               // reserved
    uint64_t{1} << 63,               // N (Svnapot, not implemented)
    uint64_t{1} << 10,               // low PPN bit: misaligned superpage
    uint64_t{1} << 30,               // PPN + 2^20 pages: a table far outside RAM
    (kRamBase ^ kScratchBase) >> 2,  // a table moved from RAM into the scratch region
    0x40 | 0x80,
    0xc6,  // R W A D: a RW leaf becomes a pointer (at level 0: no next level)
};

uint64_t decode_anchored(ByteSource& source, std::span<const uint64_t> anchors) {
  const uint8_t form = source.u8();
  if (form == kRawForm) return source.u64();
  const auto offset = static_cast<int32_t>(source.u32());
  return anchors[form % anchors.size()] + static_cast<uint64_t>(static_cast<int64_t>(offset));
}

void encode_anchored(uint64_t value, std::span<const uint64_t> anchors, ByteSink& sink) {
  for (size_t i = 0; i < anchors.size(); ++i) {
    const auto offset = static_cast<int64_t>(value - anchors[i]);
    if (offset >= INT32_MIN && offset <= INT32_MAX) {
      sink.u8(static_cast<uint8_t>(i));
      sink.u32(static_cast<uint32_t>(static_cast<int32_t>(offset)));
      return;
    }
  }
  sink.u8(kRawForm);
  sink.u64(value);
}

template <class T, size_t N>
T decode_tabled(ByteSource& source, const std::array<T, N>& table) {
  const uint8_t form = source.u8();
  if (form == kRawForm) {
    if constexpr (sizeof(T) == 8) {
      return static_cast<T>(source.u64());
    } else {
      return static_cast<T>(source.u32());
    }
  }
  return table[form % N];
}

template <class T, size_t N>
void encode_tabled(T value, const std::array<T, N>& table, ByteSink& sink) {
  for (size_t i = 0; i < N; ++i) {
    if (table[i] == value) return sink.u8(static_cast<uint8_t>(i));
  }
  sink.u8(kRawForm);
  if constexpr (sizeof(T) == 8) {
    sink.u64(static_cast<uint64_t>(value));
  } else {
    sink.u32(static_cast<uint32_t>(value));
  }
}

uint64_t decode_va(ByteSource& s) {
  return decode_anchored(s, kVirtualAnchors);
}
void encode_va(uint64_t va, ByteSink& s) {
  encode_anchored(va, kVirtualAnchors, s);
}
Access decode_access(ByteSource& s) {
  return static_cast<Access>(s.below(vmmem::mmu::kAccessKinds));
}
void encode_access(Access access, ByteSink& s) {
  s.below(static_cast<uint64_t>(access), vmmem::mmu::kAccessKinds);
}
uint8_t decode_size(ByteSource& s) {
  return static_cast<uint8_t>(1u << (s.u8() & 3));
}
void encode_size(uint8_t size, ByteSink& s) {
  s.u8(size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3);
}
// ASIDs: forms 0-2 the slots' ASIDs, 3 ASID 0, 0xff raw.
uint16_t decode_asid(ByteSource& s) {
  const uint8_t form = s.u8();
  if (form == kRawForm) return s.u16();
  return (form & 3) == 3 ? 0 : kSpaceAsids[form & 3];
}
void encode_asid(uint16_t asid, ByteSink& s) {
  for (uint8_t i = 0; i < kSpaces; ++i) {
    if (kSpaceAsids[i] == asid) return s.u8(i);
  }
  if (asid == 0) return s.u8(3);
  s.u8(kRawForm);
  s.u16(asid);
}

}  // namespace

Config decode_config(uint8_t byte) {
  Config config;
  const unsigned mode = byte & 3;
  config.mode = mode == 1 ? Mode::kSv48 : mode == 2 ? Mode::kBare : Mode::kSv39;
  config.coherent = (byte & 8) == 0;
  config.ad_policy = config.coherent && (byte & 4) != 0 ? AdPolicy::kUpdate : AdPolicy::kFault;
  config.small_tlb = (byte & 16) != 0;
  config.prefetch_depth = (byte & 32) != 0 ? 2 : 0;
  config.dirty_tracking = (byte & 64) != 0;
  config.remote_flushes = (byte & 128) != 0;
  return config;
}

uint8_t encode_config(const Config& config) {
  VMM_CHECK(in_decodable_domain(config), "encode: config outside the decodable domain");
  uint8_t byte = config.mode == Mode::kSv48 ? 1 : config.mode == Mode::kBare ? 2 : 0;
  if (config.ad_policy == AdPolicy::kUpdate) byte |= 4;
  if (!config.coherent) byte |= 8;
  if (config.small_tlb) byte |= 16;
  if (config.prefetch_depth != 0) byte |= 32;
  if (config.dirty_tracking) byte |= 64;
  if (config.remote_flushes) byte |= 128;
  return byte;
}

bool in_decodable_domain(const Config& config) {
  return (config.prefetch_depth == 0 || config.prefetch_depth == 2) &&
         (config.coherent || config.ad_policy == AdPolicy::kFault);
}

Op decode(ByteSource& source) {
  switch (source.below(std::variant_size_v<Op>)) {
    case 0: {
      const uint64_t va = decode_va(source);
      const uint64_t pa = decode_anchored(source, kPhysicalAnchors);
      const uint64_t size = decode_tabled(source, kSizes);
      return Map{va, pa, size, source.u8()};
    }
    case 1:
      return Unmap{decode_va(source)};
    case 2: {
      const uint64_t va = decode_va(source);
      return Protect{va, source.u8()};
    }
    case 3:
      return SetAsid{source.u8()};
    case 4: {
      const uint8_t bits = source.u8();
      return SetPrivilege{(bits & 1) != 0 ? Privilege::kUser : Privilege::kSupervisor,
                          (bits & 2) != 0, (bits & 4) != 0};
    }
    case 5: {
      const uint64_t va = decode_va(source);
      return Translate{va, decode_access(source)};
    }
    case 6: {
      const uint64_t va = decode_va(source);
      return Load{va, decode_size(source)};
    }
    case 7: {
      const uint64_t va = decode_va(source);
      const uint8_t size = decode_size(source);
      return Store{va, size, source.u64()};
    }
    case 8: {
      const auto kind = static_cast<FlushKind>(source.below(vmmem::mmu::kFlushKinds));
      const uint64_t va = decode_va(source);
      const uint16_t asid = decode_asid(source);
      return Flush{kind, va, asid, decode_tabled(source, kLengths)};
    }
    case 9: {
      const uint64_t va = decode_va(source);
      const auto count = static_cast<uint8_t>(source.below(kMaxBatch + 1));
      const int32_t stride = decode_tabled(source, kStrides);
      return Batch{va, count, stride, decode_access(source)};
    }
    case 10: {
      const uint64_t va = decode_va(source);
      const auto level = static_cast<uint8_t>(source.u8() & 3);
      return CorruptPte{va, level, decode_tabled(source, kCorruptions)};
    }
    default:
      return ToggleScratch{};
  }
}

void encode(const Op& op, ByteSink& sink) {
  VMM_CHECK(in_decodable_domain(op), "encode: op outside the decodable domain");
  sink.below(op.index(), std::variant_size_v<Op>);
  std::visit(
      [&sink](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Map>) {
          encode_va(o.va, sink);
          encode_anchored(o.pa, kPhysicalAnchors, sink);
          encode_tabled(o.size, kSizes, sink);
          sink.u8(o.flags);
        } else if constexpr (std::is_same_v<T, Unmap>) {
          encode_va(o.va, sink);
        } else if constexpr (std::is_same_v<T, Protect>) {
          encode_va(o.va, sink);
          sink.u8(o.flags);
        } else if constexpr (std::is_same_v<T, SetAsid>) {
          sink.u8(o.space);
        } else if constexpr (std::is_same_v<T, SetPrivilege>) {
          sink.u8(static_cast<uint8_t>((o.privilege == Privilege::kUser ? 1 : 0) | (o.sum ? 2 : 0) |
                                       (o.mxr ? 4 : 0)));
        } else if constexpr (std::is_same_v<T, Translate>) {
          encode_va(o.va, sink);
          encode_access(o.access, sink);
        } else if constexpr (std::is_same_v<T, Load>) {
          encode_va(o.va, sink);
          encode_size(o.size, sink);
        } else if constexpr (std::is_same_v<T, Store>) {
          encode_va(o.va, sink);
          encode_size(o.size, sink);
          sink.u64(o.value);
        } else if constexpr (std::is_same_v<T, Flush>) {
          sink.below(static_cast<uint64_t>(o.kind), vmmem::mmu::kFlushKinds);
          encode_va(o.va, sink);
          encode_asid(o.asid, sink);
          encode_tabled(o.length, kLengths, sink);
        } else if constexpr (std::is_same_v<T, Batch>) {
          encode_va(o.va, sink);
          sink.below(o.count, kMaxBatch + 1);
          encode_tabled(o.stride, kStrides, sink);
          encode_access(o.access, sink);
        } else if constexpr (std::is_same_v<T, CorruptPte>) {
          encode_va(o.va, sink);
          sink.u8(o.level);
          encode_tabled(o.bits, kCorruptions, sink);
        }
      },
      op);
}

bool in_decodable_domain(const Op& op) {
  return std::visit(
      [](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        auto size_ok = [](uint8_t size) {
          return size == 1 || size == 2 || size == 4 || size == 8;
        };
        if constexpr (std::is_same_v<T, Load> || std::is_same_v<T, Store>) {
          return size_ok(o.size);
        } else if constexpr (std::is_same_v<T, Batch>) {
          return o.count <= kMaxBatch && static_cast<unsigned>(o.access) < 3;
        } else if constexpr (std::is_same_v<T, Translate>) {
          return static_cast<unsigned>(o.access) < 3;
        } else if constexpr (std::is_same_v<T, Flush>) {
          return static_cast<unsigned>(o.kind) < vmmem::mmu::kFlushKinds;
        } else if constexpr (std::is_same_v<T, CorruptPte>) {
          return o.level < 4;
        } else if constexpr (std::is_same_v<T, SetPrivilege>) {
          return o.privilege == Privilege::kUser || o.privilege == Privilege::kSupervisor;
        } else {
          return true;
        }
      },
      op);
}

Input decode_input(std::span<const uint8_t> bytes, size_t max_ops) {
  Input input;
  if (bytes.empty()) return input;
  input.config = decode_config(bytes[0]);
  input.ops =
      scenario::decode_ops<Op>(bytes.subspan(1), max_ops, [](ByteSource& s) { return decode(s); });
  return input;
}

std::vector<uint8_t> encode_input(const Config& config, std::span<const Op> ops) {
  std::vector<uint8_t> bytes{encode_config(config)};
  const std::vector<uint8_t> body =
      scenario::encode_ops<Op>(ops, [](const Op& op, ByteSink& s) { encode(op, s); });
  bytes.insert(bytes.end(), body.begin(), body.end());
  return bytes;
}

}  // namespace vmmem::scenario::mmu
