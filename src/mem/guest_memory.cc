#include "mem/guest_memory.h"

#include <algorithm>
#include <functional>

namespace vmmem::mem {
namespace {

bool valid_width(unsigned width) {
  return width == 1 || width == 2 || width == 4 || width == 8;
}

uint64_t truncate_to_width(uint64_t value, unsigned width) {
  return width == 8 ? value : value & ((uint64_t{1} << (8 * width)) - 1);
}

// Little-endian bytes <-> value, whatever the host's byte order.
uint64_t load_little_endian(const std::byte* bytes, unsigned width) {
  uint64_t value = 0;
  for (unsigned i = 0; i < width; ++i)
    value |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  return value;
}

void store_little_endian(std::byte* bytes, unsigned width, uint64_t value) {
  for (unsigned i = 0; i < width; ++i)
    bytes[i] = static_cast<std::byte>(value >> (8 * i));
}

}  // namespace

uint64_t GuestMemory::fresh_generation() {
  return generation_counter_.fetch_add(1, std::memory_order_relaxed);
}

GuestMemory::GuestMemory(GuestMemoryLimits limits)
    : limits_(limits),
      mapping_granule_(std::max(limits.host_page_size, HostMapping::system_page_size())),
      generation_(fresh_generation()) {
  VMM_CHECK(std::has_single_bit(mapping_granule_), "host page size must be a power of two");
}

void GuestMemory::advance_generation() {
  generation_.store(fresh_generation(), std::memory_order_relaxed);
  std::lock_guard lock(listeners_mutex_);
  for (GenerationListener* listener : listeners_)
    listener->generation_changed();
}

void GuestMemory::add_generation_listener(GenerationListener* listener) {
  std::lock_guard lock(listeners_mutex_);
  listeners_.push_back(listener);
}

void GuestMemory::remove_generation_listener(GenerationListener* listener) {
  std::lock_guard lock(listeners_mutex_);
  const auto it = std::find(listeners_.begin(), listeners_.end(), listener);
  VMM_CHECK(it != listeners_.end(), "removing a generation listener that was never added");
  listeners_.erase(it);
}

const GuestMemory::Region* GuestMemory::find(uint64_t address) const {
  // The last region whose base is <= address, if it reaches that far.
  auto after = std::upper_bound(regions_.begin(), regions_.end(), address,
                                [](uint64_t a, const Region& r) { return a < r.base; });
  if (after == regions_.begin()) return nullptr;
  const Region& candidate = *std::prev(after);
  return address <= candidate.last() ? &candidate : nullptr;
}

Status GuestMemory::validate_ram_range(uint64_t address, uint64_t size,
                                       const Region** first) const {
  const auto last = last_byte(address, size);
  if (!last) return Status::error(ErrorCode::kOverflow, "access wraps past 2^64", address, size);
  const Region* region = find(address);
  *first = region;
  for (uint64_t cursor = address;;) {
    if (region == nullptr) {
      return Status::error(ErrorCode::kUnmapped, "no region backs part of the access", address,
                           size);
    }
    if (region->host == nullptr) {
      return Status::error(ErrorCode::kUnsupported, "RAM access runs into an MMIO region", address,
                           size);
    }
    if (*last <= region->last()) return kOkStatus;
    cursor = region->last() + 1;  // cannot wrap: *last > region->last()
    const Region* next = region + 1;
    region = (next != regions_.data() + regions_.size() && next->base == cursor) ? next : nullptr;
  }
}

Result<uint64_t> GuestMemory::read_slow(uint64_t address, unsigned width) const {
  if (!valid_width(width)) {
    return Status::error(ErrorCode::kInvalidArgument, "access width must be 1, 2, 4 or 8", address,
                         width);
  }
  if (!last_byte(address, width)) {
    return Status::error(ErrorCode::kOverflow, "access wraps past 2^64", address, width);
  }
  const Region* region = find(address);
  if (region == nullptr) {
    return Status::error(ErrorCode::kUnmapped, "no region backs the access", address, width);
  }
  if (region->mmio) {
    if (address + (width - 1) > region->last()) {
      return Status::error(ErrorCode::kUnsupported, "access straddles the end of an MMIO region",
                           address, width);
    }
    // The handler may remove its own region (re-entrant call): hold it for the whole call.
    const std::shared_ptr<MmioHandler> handler = region->mmio;
    Result<uint64_t> value = handler->read(address - region->base, width);
    if (!value.ok()) {
      return Status::error(ErrorCode::kDeviceError, "MMIO handler refused the read", address,
                           width);
    }
    return truncate_to_width(value.value(), width);
  }
  std::byte bytes[8];
  if (Status status = read(address, std::span<std::byte>(bytes, width)); !status.ok()) {
    return status;
  }
  return load_little_endian(bytes, width);
}

Status GuestMemory::write_slow(uint64_t address, unsigned width, uint64_t value) {
  if (!valid_width(width)) {
    return Status::error(ErrorCode::kInvalidArgument, "access width must be 1, 2, 4 or 8", address,
                         width);
  }
  if (!last_byte(address, width)) {
    return Status::error(ErrorCode::kOverflow, "access wraps past 2^64", address, width);
  }
  const Region* region = find(address);
  if (region == nullptr) {
    return Status::error(ErrorCode::kUnmapped, "no region backs the access", address, width);
  }
  if (region->mmio) {
    if (address + (width - 1) > region->last()) {
      return Status::error(ErrorCode::kUnsupported, "access straddles the end of an MMIO region",
                           address, width);
    }
    const std::shared_ptr<MmioHandler> handler = region->mmio;  // as in read_slow
    if (!handler->write(address - region->base, width, truncate_to_width(value, width)).ok()) {
      return Status::error(ErrorCode::kDeviceError, "MMIO handler refused the write", address,
                           width);
    }
    return kOkStatus;
  }
  std::byte bytes[8];
  store_little_endian(bytes, width, value);
  return write(address, std::span<const std::byte>(bytes, width));
}

Result<uint64_t> GuestMemory::read_scalar(uint64_t address, unsigned width) const {
  switch (width) {
    case 1: {
      auto r = read<uint8_t>(address);
      return r.ok() ? Result<uint64_t>(r.value()) : r.status();
    }
    case 2: {
      auto r = read<uint16_t>(address);
      return r.ok() ? Result<uint64_t>(r.value()) : r.status();
    }
    case 4: {
      auto r = read<uint32_t>(address);
      return r.ok() ? Result<uint64_t>(r.value()) : r.status();
    }
    case 8:
      return read<uint64_t>(address);
    default:
      return read_slow(address, width);  // reports the bad width
  }
}

Status GuestMemory::write_scalar(uint64_t address, unsigned width, uint64_t value) {
  switch (width) {
    case 1:
      return write<uint8_t>(address, static_cast<uint8_t>(value));
    case 2:
      return write<uint16_t>(address, static_cast<uint16_t>(value));
    case 4:
      return write<uint32_t>(address, static_cast<uint32_t>(value));
    case 8:
      return write<uint64_t>(address, value);
    default:
      return write_slow(address, width, value);  // reports the bad width
  }
}

Status GuestMemory::read(uint64_t address, std::span<std::byte> out) const {
  if (const std::byte* cached = cached_ram_containing(address, out.size())) {
    std::memmove(out.data(), cached, out.size());  // `out` may be a host span of guest memory
    return kOkStatus;
  }
  if (out.empty()) return kOkStatus;
  const Region* region = nullptr;
  if (Status status = validate_ram_range(address, out.size(), &region); !status.ok()) {
    return status;
  }
  remember(*region);
  for (size_t done = 0; done < out.size(); ++region) {
    const uint64_t offset = address + done - region->base;
    const size_t chunk = std::min<uint64_t>(out.size() - done, region->size - offset);
    std::memmove(out.data() + done, region->host + offset, chunk);
    done += chunk;
  }
  return kOkStatus;
}

Status GuestMemory::write(uint64_t address, std::span<const std::byte> in) {
  if (std::byte* cached = cached_ram_containing(address, in.size())) {
    std::memmove(cached, in.data(), in.size());  // `in` may be a host span of guest memory
    note_written(address, in.size());
    return kOkStatus;
  }
  if (in.empty()) return kOkStatus;
  const Region* region = nullptr;
  if (Status status = validate_ram_range(address, in.size(), &region); !status.ok()) {
    return status;
  }
  remember(*region);
  // `in` may be a host span of this guest memory (a device's guest-to-guest copy). Within one
  // region memmove handles the overlap; across regions an earlier chunk could overwrite source
  // bytes a later chunk still needs, so an overlapping source is copied out first.
  std::vector<std::byte> copy;
  if (*last_byte(address, in.size()) > region->last() && overlaps_ram(in)) {
    copy.assign(in.begin(), in.end());
    in = copy;
  }
  for (size_t done = 0; done < in.size(); ++region) {
    const uint64_t offset = address + done - region->base;
    const size_t chunk = std::min<uint64_t>(in.size() - done, region->size - offset);
    std::memmove(region->host + offset, in.data() + done, chunk);
    if (region->dirty) region->dirty->mark(offset, chunk);
    done += chunk;
  }
  return kOkStatus;
}

bool GuestMemory::overlaps_ram(std::span<const std::byte> bytes) const {
  const auto* first = bytes.data();
  const auto* end = first + bytes.size();
  return std::any_of(regions_.begin(), regions_.end(), [&](const Region& r) {
    return r.host != nullptr && std::less<>()(first, r.host + r.size) && std::less<>()(r.host, end);
  });
}

Result<std::span<std::byte>> GuestMemory::host_span(uint64_t address, uint64_t size) const {
  if (size == 0) return std::span<std::byte>();
  const auto last = last_byte(address, size);
  if (!last) return Status::error(ErrorCode::kOverflow, "range wraps past 2^64", address, size);
  const Region* region = find(address);
  if (region == nullptr) {
    return Status::error(ErrorCode::kUnmapped, "no region backs the range", address, size);
  }
  if (region->host == nullptr) {
    return Status::error(ErrorCode::kUnsupported, "MMIO has no host memory", address, size);
  }
  if (*last > region->last()) {
    return Status::error(ErrorCode::kUnsupported, "range leaves its RAM region", address, size);
  }
  return std::span<std::byte>(region->host + (address - region->base), size);
}

Status GuestMemory::admit(uint64_t base, uint64_t size) const {
  const uint64_t last = base + (size - 1);  // REQUIRES: checked by the caller
  auto after = std::upper_bound(regions_.begin(), regions_.end(), base,
                                [](uint64_t a, const Region& r) { return a < r.base; });
  const bool hits_previous = after != regions_.begin() && std::prev(after)->last() >= base;
  const bool hits_next = after != regions_.end() && after->base <= last;
  if (hits_previous || hits_next) {
    return Status::error(ErrorCode::kConflict, "region overlaps an existing region", base, size);
  }
  if (regions_.size() >= limits_.max_regions) {
    return Status::error(ErrorCode::kOutOfMemory, "region table is full", base, size);
  }
  return kOkStatus;
}

Result<std::byte*> GuestMemory::atomic_location_slow(uint64_t address, unsigned width) const {
  const Region* region = find(address);
  if (region == nullptr) {
    return Status::error(ErrorCode::kUnmapped, "no region backs the atomic access", address, width);
  }
  if (region->host == nullptr) {
    return Status::error(ErrorCode::kUnsupported, "atomic access to MMIO", address, width);
  }
  remember(*region);
  // Aligned and inside a RAM region, whose size is a multiple of every width: no straddling.
  return region->host + (address - region->base);
}

std::optional<GuestMemory::RamWindow> GuestMemory::ram_window(uint64_t address) const {
  const Region* region = find(address);
  if (region == nullptr || region->host == nullptr) return std::nullopt;
  return RamWindow{region->base, region->size, region->host, region->dirty.get()};
}

void GuestMemory::insert(Region region) {
  auto at = std::upper_bound(regions_.begin(), regions_.end(), region.base,
                             [](uint64_t a, const Region& r) { return a < r.base; });
  regions_.insert(at, std::move(region));
  advance_generation();
}

Status GuestMemory::add_ram(uint64_t base, uint64_t size) {
  if (size == 0) return Status::error(ErrorCode::kInvalidArgument, "RAM size is zero", base, size);
  if (!is_aligned(base, kPageSize) || !is_aligned(size, kPageSize)) {
    return Status::error(ErrorCode::kInvalidArgument,
                         "RAM base and size must be multiples of 4 KiB", base, size);
  }
  if (!last_byte(base, size)) {
    return Status::error(ErrorCode::kOverflow, "region wraps past 2^64", base, size);
  }
  if (Status status = admit(base, size); !status.ok()) return status;
  if (size > limits_.max_ram_bytes - ram_bytes_) {
    return Status::error(ErrorCode::kOutOfMemory, "RAM budget exceeded", base, size);
  }
  Result<HostMapping> mapping = HostMapping::create(size, mapping_granule_);
  if (!mapping.ok()) {
    return Status::error(ErrorCode::kOutOfMemory, mapping.status().what(), base, size);
  }
  std::byte* host = mapping.value().data();
  insert(Region{base, size, host, std::move(mapping.value()), nullptr});
  ram_bytes_ += size;
  return kOkStatus;
}

Status GuestMemory::add_mmio(uint64_t base, uint64_t size, std::shared_ptr<MmioHandler> handler) {
  if (!handler) {
    return Status::error(ErrorCode::kInvalidArgument, "MMIO region needs a handler", base, size);
  }
  if (size == 0) return Status::error(ErrorCode::kInvalidArgument, "MMIO size is zero", base, size);
  if (!last_byte(base, size)) {
    return Status::error(ErrorCode::kOverflow, "region wraps past 2^64", base, size);
  }
  if (Status status = admit(base, size); !status.ok()) return status;
  insert(Region{base, size, nullptr, {}, std::move(handler)});
  return kOkStatus;
}

Status GuestMemory::remove(uint64_t base) {
  auto at = std::lower_bound(regions_.begin(), regions_.end(), base,
                             [](const Region& r, uint64_t a) { return r.base < a; });
  if (at == regions_.end() || at->base != base) {
    return Status::error(ErrorCode::kNotFound, "no region starts at this address", base, 0);
  }
  if (at->host != nullptr) ram_bytes_ -= at->size;
  regions_.erase(at);
  advance_generation();
  return kOkStatus;
}

Status GuestMemory::set_dirty_tracking(uint64_t base, bool on) {
  auto region = std::lower_bound(regions_.begin(), regions_.end(), base,
                                 [](const Region& r, uint64_t a) { return r.base < a; });
  if (region == regions_.end() || region->base != base) {
    return Status::error(ErrorCode::kNotFound, "no region starts at this address", base, 0);
  }
  if (region->host == nullptr) {
    return Status::error(ErrorCode::kUnsupported, "MMIO has no dirty pages", base, 0);
  }
  if (on == static_cast<bool>(region->dirty)) return kOkStatus;
  region->dirty = on ? std::make_unique<DirtyBitmap>(region->size) : nullptr;
  advance_generation();  // cached windows carry the bitmap pointer
  return kOkStatus;
}

Result<std::vector<uint64_t>> GuestMemory::take_dirty(uint64_t base) {
  const Region* region = find(base);
  if (region == nullptr || region->base != base) {
    return Status::error(ErrorCode::kNotFound, "no region starts at this address", base, 0);
  }
  if (region->host == nullptr) {
    return Status::error(ErrorCode::kUnsupported, "MMIO has no dirty pages", base, 0);
  }
  if (!region->dirty) {
    return Status::error(ErrorCode::kInvalidArgument, "dirty tracking is off for this region", base,
                         region->size);
  }
  return region->dirty->take();
}

Status GuestMemory::mark_dirty(uint64_t address, uint64_t size) {
  if (size == 0) return kOkStatus;
  const Region* region = nullptr;
  if (Status status = validate_ram_range(address, size, &region); !status.ok()) return status;
  for (uint64_t done = 0; done < size; ++region) {
    const uint64_t offset = address + done - region->base;
    const uint64_t chunk = std::min<uint64_t>(size - done, region->size - offset);
    if (region->dirty) region->dirty->mark(offset, chunk);
    done += chunk;
  }
  return kOkStatus;
}

std::vector<RegionInfo> GuestMemory::regions() const {
  std::vector<RegionInfo> out;
  out.reserve(regions_.size());
  for (const Region& r : regions_) {
    out.push_back({r.base, r.size, r.host != nullptr ? RegionKind::kRam : RegionKind::kMmio});
  }
  return out;
}

Status GuestMemory::check() const {
  uint64_t ram = 0;
  const ThreadWindow& window = thread_window_;
  const bool window_live = window.generation == generation();
  bool window_found = false;
  for (size_t i = 0; i < regions_.size(); ++i) {
    const Region& r = regions_[i];
    if (r.size == 0 || !last_byte(r.base, r.size)) {
      return Status::error(ErrorCode::kBrokenInvariant, "check: region is empty or wraps", r.base,
                           r.size);
    }
    if (i > 0 && regions_[i - 1].last() >= r.base) {
      return Status::error(ErrorCode::kBrokenInvariant, "check: regions unsorted or overlapping",
                           r.base, r.size);
    }
    const bool is_ram = r.host != nullptr;
    if (is_ram == static_cast<bool>(r.mmio)) {
      return Status::error(ErrorCode::kBrokenInvariant, "check: region is neither RAM nor MMIO",
                           r.base, r.size);
    }
    if (is_ram) {
      if (!is_aligned(r.base, kPageSize) || !is_aligned(r.size, kPageSize) ||
          r.mapping.data() != r.host || r.mapping.size() != r.size ||
          r.mapping.granule() != mapping_granule_) {
        return Status::error(ErrorCode::kBrokenInvariant,
                             "check: RAM region and its mapping disagree", r.base, r.size);
      }
      ram += r.size;
    }
    if (window_live && is_ram && r.base == window.base && r.size == window.size &&
        r.host == window.host && r.dirty.get() == window.dirty) {
      window_found = true;
    }
  }
  if (ram != ram_bytes_ || ram_bytes_ > limits_.max_ram_bytes ||
      regions_.size() > limits_.max_regions) {
    return Status::error(ErrorCode::kBrokenInvariant, "check: RAM accounting or limits broken",
                         ram_bytes_, ram);
  }
  if (window_live && !window_found) {
    return Status::error(ErrorCode::kBrokenInvariant,
                         "check: this thread's cached window is not a live RAM region", window.base,
                         window.size);
  }
  return kOkStatus;
}

}  // namespace vmmem::mem
