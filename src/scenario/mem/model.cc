#include "scenario/mem/model.h"

#include <algorithm>
#include <type_traits>

#include "scenario/mem/pattern.h"

namespace vmmem::scenario::mem {

using vmmem::mem::GuestMemoryLimits;
using vmmem::mem::kPageSize;
using vmmem::mem::RegionInfo;
using vmmem::mem::RegionKind;

namespace {

bool valid_width(unsigned width) {
  return width == 1 || width == 2 || width == 4 || width == 8;
}

// The last byte of a nonempty range, or false when it passes 2^64 - 1.
bool range_last(uint64_t start, uint64_t length, uint64_t* last) {
  return !__builtin_add_overflow(start, length - 1, last);
}

Outcome failed(ErrorCode code) {
  return Outcome{code};
}

uint64_t width_mask(unsigned width) {
  return width == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * width)) - 1;
}

// Which std::memory_order values (relaxed 0, consume 1, acquire 2, release 3, acq_rel 4,
// seq_cst 5) each atomic operation takes.
bool order_allowed(AtomicKind kind, uint8_t order) {
  switch (kind) {
    case AtomicKind::kLoad:
      return order == 0 || order == 1 || order == 2 || order == 5;
    case AtomicKind::kStore:
      return order == 0 || order == 3 || order == 5;
    default:
      return order <= 5;
  }
}

}  // namespace

Model::Model(GuestMemoryLimits limits) : limits_(limits) {}

const Model::Region* Model::region_at(uint64_t address) const {
  auto it = regions_.upper_bound(address);
  if (it == regions_.begin()) return nullptr;
  --it;
  return address <= it->second.last ? &it->second : nullptr;
}

bool Model::overlaps(uint64_t base, uint64_t last) const {
  for (const auto& [start, region] : regions_) {
    if (start <= last && base <= region.last) return true;
  }
  return false;
}

ErrorCode Model::ram_range_error(uint64_t address, uint64_t length, bool write) const {
  uint64_t last;
  if (!range_last(address, length, &last)) return ErrorCode::kOverflow;
  // The first byte that is not RAM decides; RAM regions are skipped whole.
  for (uint64_t cursor = address;;) {
    const Region* region = region_at(cursor);
    if (region == nullptr) return ErrorCode::kUnmapped;
    if (!region->is_ram) return ErrorCode::kUnsupported;
    if (write && region->read_only) return ErrorCode::kReadOnly;
    if (region->last >= last) return ErrorCode::kOk;
    cursor = region->last + 1;
  }
}

std::byte Model::load(uint64_t address) const {
  auto it = pages_.find(address / kPageSize);
  return it == pages_.end() ? std::byte{0} : it->second[address % kPageSize];
}

void Model::store(uint64_t address, std::byte value) {
  // try_emplace value-initializes a new page: it reads zeros.
  pages_.try_emplace(address / kPageSize).first->second[address % kPageSize] = value;
}

void Model::copy_out(uint64_t address, size_t length) {
  copy_out_of(pages_, address, bytes_.resize(length));
}

void Model::copy_in(uint64_t address, std::span<const std::byte> data) {
  copy_into(pages_, address, data);
}

void Model::copy_out_of(const std::map<uint64_t, Page>& pages, uint64_t address,
                        std::span<std::byte> out) {
  for (size_t done = 0; done < out.size();) {
    const uint64_t at = address + done;
    const size_t chunk = std::min<uint64_t>(out.size() - done, kPageSize - at % kPageSize);
    auto it = pages.find(at / kPageSize);
    if (it == pages.end()) {
      std::fill_n(out.begin() + done, chunk, std::byte{0});
    } else {
      std::copy_n(it->second.begin() + at % kPageSize, chunk, out.begin() + done);
    }
    done += chunk;
  }
}

void Model::copy_into(std::map<uint64_t, Page>& pages, uint64_t address,
                      std::span<const std::byte> data) {
  for (size_t done = 0; done < data.size();) {
    const uint64_t at = address + done;
    const size_t chunk = std::min<uint64_t>(data.size() - done, kPageSize - at % kPageSize);
    Page& page = pages.try_emplace(at / kPageSize).first->second;  // a new page reads zeros
    std::copy_n(data.begin() + done, chunk, page.begin() + at % kPageSize);
    done += chunk;
  }
}

Outcome Model::apply(const Op& op) {
  bytes_.resize(0);
  calls_.clear();
  Outcome outcome = std::visit(
      [this](const auto& o) -> Outcome {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, AddRam>)
          return add_ram(o);
        else if constexpr (std::is_same_v<T, AddRom>)
          return add_rom(o);
        else if constexpr (std::is_same_v<T, AddBackedRam>)
          return add_backed_ram(o);
        else if constexpr (std::is_same_v<T, ReadShared>)
          return read_shared(o);
        else if constexpr (std::is_same_v<T, WriteShared>)
          return write_shared(o);
        else if constexpr (std::is_same_v<T, AddMmio>)
          return add_mmio(o);
        else if constexpr (std::is_same_v<T, RemoveRegion>)
          return remove(o);
        else if constexpr (std::is_same_v<T, Read>)
          return read(o);
        else if constexpr (std::is_same_v<T, Write>)
          return write(o);
        else if constexpr (std::is_same_v<T, ReadBulk>)
          return read_bulk(o);
        else if constexpr (std::is_same_v<T, WriteBulk>)
          return write_bulk(o);
        else if constexpr (std::is_same_v<T, HostSpan>)
          return host_span(o);
        else if constexpr (std::is_same_v<T, Atomic>)
          return atomic(o);
        else if constexpr (std::is_same_v<T, Copy>)
          return copy(o);
        else if constexpr (std::is_same_v<T, SetDirtyTracking>)
          return set_dirty_tracking(o);
        else if constexpr (std::is_same_v<T, TakeDirty>)
          return take_dirty(o);
        else if constexpr (std::is_same_v<T, MarkDirty>)
          return mark_dirty(o);
        else if constexpr (std::is_same_v<T, Discard>)
          return discard(o);
        else if constexpr (std::is_same_v<T, PinSpan>)
          return pin_span(o);
        else if constexpr (std::is_same_v<T, ReadPinned>)
          return read_pinned(o);
        else if constexpr (std::is_same_v<T, WritePinned>)
          return write_pinned(o);
        else
          // Check: the real invariants must hold, and the region tables agree.
          return Outcome{ErrorCode::kOk, region_fingerprint(regions(), ram_bytes_)};
      },
      op);
  outcome.device_calls = calls_;
  return outcome;
}

Outcome Model::add_ram(const AddRam& op) {
  return add_host_backed(op.base, op.size, std::nullopt);
}

Outcome Model::add_rom(const AddRom& op) {
  return add_host_backed(op.base, op.size, op.pattern);
}

Outcome Model::add_backed_ram(const AddBackedRam& op) {
  return add_host_backed(op.base, op.size, std::nullopt, op.backing);
}

Outcome Model::add_host_backed(uint64_t base, uint64_t size, std::optional<uint64_t> rom_pattern,
                               std::optional<Backing> backing) {
  const AddRam op{base, size};
  uint64_t last;
  if (op.size == 0 || op.base % kPageSize != 0 || op.size % kPageSize != 0) {
    return failed(ErrorCode::kInvalidArgument);
  }
  if (!range_last(op.base, op.size, &last)) return failed(ErrorCode::kOverflow);
  if (overlaps(op.base, last)) return failed(ErrorCode::kConflict);
  if (regions_.size() >= limits_.max_regions) return failed(ErrorCode::kOutOfMemory);
  if (ram_bytes_ + op.size > limits_.max_ram_bytes || ram_bytes_ + op.size < ram_bytes_) {
    return failed(ErrorCode::kOutOfMemory);
  }
  // The backing is judged after the table's rules.
  if (backing == Backing::kShortFile) return failed(ErrorCode::kInvalidArgument);
  const bool shared = backing == Backing::kMemfd || backing == Backing::kMemfdHuge ||
                      backing == Backing::kSharedFile;
  Region region{op.base, last, true, ++incarnations_, rom_pattern.has_value()};
  region.shared = shared;
  regions_[op.base] = std::move(region);
  ram_bytes_ += op.size;
  if (rom_pattern) {
    const std::span<std::byte> data = scratch_.resize(op.size);
    fill_pattern(*rom_pattern, data);
    copy_in(op.base, data);
  }
  return Outcome{};
}

Outcome Model::add_mmio(const AddMmio& op) {
  uint64_t last;
  if (op.size == 0) return failed(ErrorCode::kInvalidArgument);
  if (!range_last(op.base, op.size, &last)) return failed(ErrorCode::kOverflow);
  if (overlaps(op.base, last)) return failed(ErrorCode::kConflict);
  if (regions_.size() >= limits_.max_regions) return failed(ErrorCode::kOutOfMemory);
  regions_[op.base] = Region{op.base, last, false};
  return Outcome{};
}

Outcome Model::remove(const RemoveRegion& op) {
  auto it = regions_.find(op.base);
  if (it == regions_.end()) return failed(ErrorCode::kNotFound);
  const Region region = it->second;
  regions_.erase(it);
  if (region.is_ram) {
    ram_bytes_ -= region.last - region.base + 1;
    // Forget the contents: RAM mapped here again starts zeroed. A pin keeps them apart.
    auto first = pages_.lower_bound(region.base / kPageSize);
    auto end = pages_.upper_bound(region.last / kPageSize);
    if (std::ranges::any_of(pins_, [&](const std::optional<Pin>& pin) {
          return pin && pin->incarnation == region.incarnation;
        })) {
      detached_[region.incarnation] = std::map<uint64_t, Page>(first, end);
    }
    pages_.erase(first, end);
  }
  return Outcome{};
}

Outcome Model::read(const Read& op) {
  uint64_t last;
  if (!valid_width(op.width)) return failed(ErrorCode::kInvalidArgument);
  if (!range_last(op.address, op.width, &last)) return failed(ErrorCode::kOverflow);
  const Region* region = region_at(op.address);
  if (region == nullptr) return failed(ErrorCode::kUnmapped);
  if (!region->is_ram) {
    if (last > region->last) return failed(ErrorCode::kUnsupported);
    const uint64_t offset = op.address - region->base;
    calls_.push_back({false, region->base, offset, op.width, 0});
    if (device_refuses(offset)) return failed(ErrorCode::kDeviceError);
    const uint64_t value = device_read_value(region->base, offset, op.width);
    return Outcome{ErrorCode::kOk, op.width == 8 ? value : value & ((1ULL << (8 * op.width)) - 1)};
  }
  if (ErrorCode code = ram_range_error(op.address, op.width); code != ErrorCode::kOk) {
    return failed(code);
  }
  uint64_t value = 0;
  for (unsigned i = 0; i < op.width; ++i) {
    value |= static_cast<uint64_t>(load(op.address + i)) << (8 * i);
  }
  return Outcome{ErrorCode::kOk, value};
}

Outcome Model::write(const Write& op) {
  uint64_t last;
  if (!valid_width(op.width)) return failed(ErrorCode::kInvalidArgument);
  if (!range_last(op.address, op.width, &last)) return failed(ErrorCode::kOverflow);
  const Region* region = region_at(op.address);
  if (region == nullptr) return failed(ErrorCode::kUnmapped);
  const uint64_t value = op.width == 8 ? op.value : op.value & ((1ULL << (8 * op.width)) - 1);
  if (!region->is_ram) {
    if (last > region->last) return failed(ErrorCode::kUnsupported);
    const uint64_t offset = op.address - region->base;
    calls_.push_back({true, region->base, offset, op.width, value});
    if (offset == kUnplugOffset) {
      remove(RemoveRegion{region->base});
      return failed(ErrorCode::kDeviceError);
    }
    if (offset == kMoveOffset && op.width == 8) return move_device(*region, value);
    return failed(device_refuses(offset) ? ErrorCode::kDeviceError : ErrorCode::kOk);
  }
  if (ErrorCode code = ram_range_error(op.address, op.width, kWrite); code != ErrorCode::kOk) {
    return failed(code);
  }
  for (unsigned i = 0; i < op.width; ++i) {
    store(op.address + i, static_cast<std::byte>(value >> (8 * i)));
  }
  mark_written(op.address, op.width);
  return Outcome{};
}

Outcome Model::read_bulk(const ReadBulk& op) {
  if (op.length == 0) return Outcome{};
  if (ErrorCode code = ram_range_error(op.address, op.length); code != ErrorCode::kOk) {
    return failed(code);
  }
  copy_out(op.address, op.length);
  return Outcome{ErrorCode::kOk, 0, bytes_.view()};
}

Outcome Model::write_bulk(const WriteBulk& op) {
  if (op.length == 0) return Outcome{};
  if (ErrorCode code = ram_range_error(op.address, op.length, kWrite); code != ErrorCode::kOk) {
    return failed(code);
  }
  const std::span<std::byte> data = scratch_.resize(op.length);
  fill_pattern(op.pattern, data);
  copy_in(op.address, data);
  mark_written(op.address, op.length);
  return Outcome{};
}

Outcome Model::host_span(const HostSpan& op) {
  uint64_t last;
  if (op.length == 0) return Outcome{};
  if (!range_last(op.address, op.length, &last)) return failed(ErrorCode::kOverflow);
  const Region* region = region_at(op.address);
  if (region == nullptr) return failed(ErrorCode::kUnmapped);
  if (!region->is_ram || last > region->last) return failed(ErrorCode::kUnsupported);
  if (region->read_only) return failed(ErrorCode::kReadOnly);
  copy_out(op.address, op.length);
  return Outcome{ErrorCode::kOk, 0, bytes_.view()};
}

ErrorCode Model::shared_range_error(uint64_t address, uint32_t length) const {
  uint64_t last;
  if (!range_last(address, length, &last)) return ErrorCode::kOverflow;
  const Region* region = region_at(address);
  if (region == nullptr) return ErrorCode::kUnmapped;
  if (!region->is_ram || last > region->last) return ErrorCode::kUnsupported;
  if (region->read_only) return ErrorCode::kReadOnly;
  if (!region->shared) return ErrorCode::kUnsupported;
  return ErrorCode::kOk;
}

Outcome Model::read_shared(const ReadShared& op) {
  if (op.length == 0) return Outcome{};
  if (ErrorCode error = shared_range_error(op.address, op.length); error != ErrorCode::kOk)
    return failed(error);
  copy_out(op.address, op.length);
  return Outcome{ErrorCode::kOk, 0, bytes_.view()};
}

Outcome Model::write_shared(const WriteShared& op) {
  if (op.length == 0) return Outcome{};
  if (ErrorCode error = shared_range_error(op.address, op.length); error != ErrorCode::kOk)
    return failed(error);
  const std::span<std::byte> data = scratch_.resize(op.length);
  fill_pattern(op.pattern, data);
  copy_in(op.address, data);  // not marked dirty: the file's writer reports its own writes
  return Outcome{};
}

Outcome Model::move_device(Region region, uint64_t to) {
  regions_.erase(region.base);
  if (add_mmio(AddMmio{to, region.last - region.base + 1}).code == ErrorCode::kOk) {
    return Outcome{};
  }
  regions_[region.base] = region;
  return failed(ErrorCode::kDeviceError);
}

Outcome Model::atomic(const Atomic& op) {
  if (!valid_width(op.width) || !order_allowed(op.kind, op.order) || op.address % op.width != 0) {
    return failed(ErrorCode::kInvalidArgument);
  }
  const Region* region = region_at(op.address);
  if (region == nullptr) return failed(ErrorCode::kUnmapped);
  if (!region->is_ram) return failed(ErrorCode::kUnsupported);
  if (op.kind != AtomicKind::kLoad && region->read_only) return failed(ErrorCode::kReadOnly);
  const uint64_t mask = width_mask(op.width);
  uint64_t old = 0;
  for (unsigned i = 0; i < op.width; ++i)
    old |= static_cast<uint64_t>(load(op.address + i)) << (8 * i);
  auto put = [&](uint64_t value) {
    for (unsigned i = 0; i < op.width; ++i)
      store(op.address + i, static_cast<std::byte>(value >> (8 * i)));
    mark_written(op.address, op.width);
  };
  switch (op.kind) {
    case AtomicKind::kLoad:
      return Outcome{ErrorCode::kOk, old};
    case AtomicKind::kStore:
      put(op.value & mask);
      return Outcome{};
    case AtomicKind::kCompareExchange:
      if (old == (op.expected & mask)) put(op.value & mask);
      break;
    case AtomicKind::kFetchAdd:
      put((old + op.value) & mask);
      break;
    default:
      put((old | op.value) & mask);
      break;
  }
  return Outcome{ErrorCode::kOk, old};
}

Outcome Model::copy(const Copy& op) {
  if (const Outcome source = host_span(HostSpan{op.from, op.length});
      source.code != ErrorCode::kOk || op.length == 0) {
    return failed(source.code);
  }
  if (ErrorCode code = ram_range_error(op.to, op.length, kWrite); code != ErrorCode::kOk) {
    return failed(code);
  }
  const std::span<std::byte> data = scratch_.resize(op.length);
  std::copy_n(bytes_.view().begin(), op.length, data.begin());  // the source, read first
  copy_in(op.to, data);
  mark_written(op.to, op.length);
  bytes_.resize(0);
  return Outcome{};
}

void Model::mark_written(uint64_t address, uint64_t length) {
  uint64_t last;
  range_last(address, length, &last);
  for (uint64_t cursor = address;;) {
    auto it = regions_.upper_bound(cursor);
    Region& region = std::prev(it)->second;  // exists: the range is RAM
    if (region.tracking) {
      const uint64_t end = std::min(last, region.last);
      for (uint64_t page = (cursor - region.base) / kPageSize;
           page <= (end - region.base) / kPageSize; ++page)
        region.dirty.insert(page);
    }
    if (region.last >= last) return;
    cursor = region.last + 1;
  }
}

Outcome Model::set_dirty_tracking(const SetDirtyTracking& op) {
  auto it = regions_.find(op.base);
  if (it == regions_.end()) return failed(ErrorCode::kNotFound);
  Region& region = it->second;
  if (!region.is_ram || region.read_only) return failed(ErrorCode::kUnsupported);
  if (op.on != region.tracking) region.dirty.clear();
  region.tracking = op.on;
  return Outcome{};
}

Outcome Model::take_dirty(const TakeDirty& op) {
  auto it = regions_.find(op.base);
  if (it == regions_.end()) return failed(ErrorCode::kNotFound);
  Region& region = it->second;
  if (!region.is_ram || region.read_only) return failed(ErrorCode::kUnsupported);
  if (!region.tracking) return failed(ErrorCode::kInvalidArgument);
  const uint64_t pages = (region.last - region.base) / kPageSize + 1;
  const std::span<std::byte> out = bytes_.resize((pages + 63) / 64 * 8);
  std::fill(out.begin(), out.end(), std::byte{0});
  for (uint64_t page : region.dirty)
    out[page / 8] |= static_cast<std::byte>(1u << (page % 8));
  region.dirty.clear();
  return Outcome{ErrorCode::kOk, 0, bytes_.view()};
}

Outcome Model::mark_dirty(const MarkDirty& op) {
  if (op.length == 0) return Outcome{};
  if (ErrorCode code = ram_range_error(op.address, op.length, kWrite); code != ErrorCode::kOk) {
    return failed(code);
  }
  mark_written(op.address, op.length);
  return Outcome{};
}

Outcome Model::discard(const Discard& op) {
  if (op.address % kPageSize != 0 || op.length % kPageSize != 0) {
    return failed(ErrorCode::kInvalidArgument);
  }
  if (op.length == 0) return Outcome{};
  if (ErrorCode code = ram_range_error(op.address, op.length, kWrite); code != ErrorCode::kOk) {
    return failed(code);
  }
  // Whole pages: an absent page reads as zeros.
  pages_.erase(pages_.lower_bound(op.address / kPageSize),
               pages_.lower_bound(op.address / kPageSize + op.length / kPageSize));
  mark_written(op.address, op.length);
  return Outcome{};
}

std::vector<uint8_t> Model::pinned_slots() const {
  std::vector<uint8_t> out;
  for (uint8_t slot = 0; slot < kPinSlots; ++slot) {
    if (pins_[slot]) out.push_back(slot);
  }
  return out;
}

bool Model::mapped(const Pin& pin) const {
  auto it = regions_.find(pin.region_base);
  return it != regions_.end() && it->second.incarnation == pin.incarnation;
}

void Model::forget_unpinned() {
  std::erase_if(detached_, [this](const auto& entry) {
    return std::ranges::none_of(pins_, [&entry](const std::optional<Pin>& pin) {
      return pin && pin->incarnation == entry.first;
    });
  });
}

Outcome Model::pin_span(const PinSpan& op) {
  std::optional<Pin>& slot = pins_[op.slot % kPinSlots];
  slot.reset();
  const Outcome outcome = host_span(HostSpan{op.address, op.length});
  bytes_.resize(0);
  if (outcome.code == ErrorCode::kOk) {
    const Region* region = op.length == 0 ? nullptr : region_at(op.address);
    slot = Pin{region ? region->incarnation : 0, region ? region->base : 0, op.address, op.length};
  }
  forget_unpinned();
  return failed(outcome.code);
}

Outcome Model::read_pinned(const ReadPinned& op) {
  const std::optional<Pin>& pin = pins_[op.slot % kPinSlots];
  if (!pin) return failed(ErrorCode::kNotFound);
  if (pin->length == 0) return Outcome{};
  if (mapped(*pin)) {
    copy_out(pin->address, pin->length);
  } else {
    copy_out_of(detached_[pin->incarnation], pin->address, bytes_.resize(pin->length));
  }
  return Outcome{ErrorCode::kOk, 0, bytes_.view()};
}

Outcome Model::write_pinned(const WritePinned& op) {
  const std::optional<Pin>& pin = pins_[op.slot % kPinSlots];
  if (!pin) return failed(ErrorCode::kNotFound);
  if (pin->length == 0) return Outcome{};
  const std::span<std::byte> data = scratch_.resize(pin->length);
  fill_pattern(op.pattern, data);
  if (mapped(*pin)) {
    copy_in(pin->address, data);
    return Outcome{};
  }
  copy_into(detached_[pin->incarnation], pin->address, data);
  return Outcome{};
}

std::vector<RegionInfo> Model::regions() const {
  std::vector<RegionInfo> out;
  for (const auto& [base, region] : regions_) {
    const RegionKind kind = !region.is_ram     ? RegionKind::kMmio
                            : region.read_only ? RegionKind::kRom
                                               : RegionKind::kRam;
    out.push_back({base, region.last - base + 1, kind});
  }
  return out;
}

}  // namespace vmmem::scenario::mem
