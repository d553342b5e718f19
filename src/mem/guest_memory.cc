#include "mem/guest_memory.h"

#include <algorithm>
#include <functional>
#include <utility>

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

// The table version the calling thread holds (ThreadWindow::table). One per copy of the
// library: a copy only ever points the window at tables its own holder keeps, and generations
// are unique across copies, so a window set by one copy is never taken as current by another.
// At thread (and process) exit the holder is destroyed before static GuestMemory objects are;
// their destructors must not release it again (that released the table twice), so the holder
// leaves a trivially destructible flag behind, which stays readable.
thread_local constinit bool thread_hold_gone = false;
struct ThreadTableHold {
  std::shared_ptr<const RegionTable> table;
  ~ThreadTableHold() {
    table.reset();
    thread_hold_gone = true;
  }
};
thread_local ThreadTableHold thread_hold;

}  // namespace

uint64_t GuestMemory::fresh_generation() {
  return generation_counter_.fetch_add(1, std::memory_order_relaxed);
}

GuestMemory::GuestMemory(GuestMemoryLimits limits)
    : limits_(limits),
      mapping_granule_(std::max(limits.host_page_size, HostMapping::system_page_size())),
      table_(std::make_shared<const RegionTable>(RegionTable{this, fresh_generation()})),
      generation_(table_->generation) {
  VMM_CHECK(std::has_single_bit(mapping_granule_), "host page size must be a power of two");
}

GuestMemory::~GuestMemory() {
  // The destroying thread lets go of this memory's table now; other threads do at their next
  // access or exit (or release_thread_cache()).
  if (!thread_hold_gone && thread_hold.table && thread_hold.table->owner == this)
    release_thread_cache();
}

void GuestMemory::notify_generation_listeners() {
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

void GuestMemory::release_thread_cache() {
  thread_window_ = ThreadWindow{};
  if (!thread_hold_gone) thread_hold.table.reset();
}

std::shared_ptr<const RegionTable> GuestMemory::load_table() const {
  std::lock_guard lock(table_mutex_);
  return table_;
}

const RegionTable& GuestMemory::thread_table() const {
  ThreadWindow& window = thread_window_;
  if (window.table_generation != generation() || window.table == nullptr) {
    std::shared_ptr<const RegionTable> table = load_table();
    window = ThreadWindow{0, 0, 0, nullptr, nullptr, 0, table->generation, table.get()};
    thread_hold.table = std::move(table);  // may release the previous one: window is reset
  }
  return *window.table;
}

void GuestMemory::publish(RegionTable next) {
  next.owner = this;
  next.generation = fresh_generation();
  const uint64_t generation = next.generation;
  auto table = std::make_shared<const RegionTable>(std::move(next));
  std::shared_ptr<const RegionTable> previous;
  {
    std::lock_guard lock(table_mutex_);
    previous = std::exchange(table_, std::move(table));
  }
  generation_.store(generation, std::memory_order_release);
  notify_generation_listeners();
  // `previous` is released here, outside the lock, unless a reader still holds it.
}

Status GuestMemory::validate_ram_range(const RegionTable& table, uint64_t address, uint64_t size,
                                       const Region** first, bool for_write) const {
  const auto last = last_byte(address, size);
  if (!last) return Status::error(ErrorCode::kOverflow, "access wraps past 2^64", address, size);
  const Region* region = table.find(address);
  *first = region;
  for (;;) {
    if (region == nullptr) {
      return Status::error(ErrorCode::kUnmapped, "no region backs part of the access", address,
                           size);
    }
    if (region->host == nullptr) {
      return Status::error(ErrorCode::kUnsupported, "RAM access runs into an MMIO region", address,
                           size);
    }
    if (for_write && region->read_only) {
      return Status::error(ErrorCode::kReadOnly, "write to ROM", address, size);
    }
    if (*last <= region->last()) return kOkStatus;
    region = table.adjacent_after(region);  // *last > region->last(): no wrap
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
  const Region* region = thread_table().find(address);
  if (region == nullptr) {
    return Status::error(ErrorCode::kUnmapped, "no region backs the access", address, width);
  }
  if (region->mmio) {
    if (address + (width - 1) > region->last()) {
      return Status::error(ErrorCode::kUnsupported, "access straddles the end of an MMIO region",
                           address, width);
    }
    // The handler may change the table (re-entrant call) and its accesses may make this thread
    // let go of the table `region` is in: hold the handler, and touch `region` no more.
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
  const Region* region = thread_table().find(address);
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
  if (const std::byte* cached = cached_ram_containing<false>(address, out.size())) {
    std::memmove(out.data(), cached, out.size());  // `out` may be a host span of guest memory
    return kOkStatus;
  }
  if (out.empty()) return kOkStatus;
  const RegionTable& table = thread_table();
  const Region* region = nullptr;
  if (Status status = validate_ram_range(table, address, out.size(), &region, false);
      !status.ok()) {
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
  if (std::byte* cached = cached_ram_containing<true>(address, in.size())) {
    std::memmove(cached, in.data(), in.size());  // `in` may be a host span of guest memory
    note_written(address, in.size());
    return kOkStatus;
  }
  if (in.empty()) return kOkStatus;
  const RegionTable& table = thread_table();
  const Region* region = nullptr;
  if (Status status = validate_ram_range(table, address, in.size(), &region, true); !status.ok()) {
    return status;
  }
  remember(*region);
  // `in` may be a host span of this guest memory (a device's guest-to-guest copy). Within one
  // region memmove handles the overlap; across regions an earlier chunk could overwrite source
  // bytes a later chunk still needs, so an overlapping source is copied out first.
  std::vector<std::byte> copy;
  if (*last_byte(address, in.size()) > region->last() && overlaps_ram(table, in)) {
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

Status GuestMemory::discard(uint64_t address, uint64_t size) {
  if (!is_aligned(address, kPageSize) || !is_aligned(size, kPageSize)) {
    return Status::error(ErrorCode::kInvalidArgument, "discard must cover whole 4 KiB pages",
                         address, size);
  }
  if (size == 0) return kOkStatus;
  const RegionTable& table = thread_table();
  const Region* region = nullptr;
  if (Status status = validate_ram_range(table, address, size, &region, true); !status.ok()) {
    return status;
  }
  for (uint64_t done = 0; done < size; ++region) {
    const uint64_t offset = address + done - region->base;
    const uint64_t chunk = std::min<uint64_t>(size - done, region->size - offset);
    region->mapping->zero(offset, chunk);
    if (region->dirty) region->dirty->mark(offset, chunk);
    done += chunk;
  }
  return kOkStatus;
}

bool GuestMemory::overlaps_ram(const RegionTable& table, std::span<const std::byte> bytes) {
  const auto* first = bytes.data();
  const auto* end = first + bytes.size();
  return std::any_of(table.regions.begin(), table.regions.end(), [&](const Region& r) {
    return r.host != nullptr && std::less<>()(first, r.host + r.size) && std::less<>()(r.host, end);
  });
}

namespace {

// host_span's rules on one table version: the region holding the whole nonempty range.
Result<const Region*> span_region(const RegionTable& table, uint64_t address, uint64_t size) {
  const auto last = last_byte(address, size);
  if (!last) return Status::error(ErrorCode::kOverflow, "range wraps past 2^64", address, size);
  const Region* region = table.find(address);
  if (region == nullptr) {
    return Status::error(ErrorCode::kUnmapped, "no region backs the range", address, size);
  }
  if (region->host == nullptr) {
    return Status::error(ErrorCode::kUnsupported, "MMIO has no host memory", address, size);
  }
  if (*last > region->last()) {
    return Status::error(ErrorCode::kUnsupported, "range leaves its RAM region", address, size);
  }
  if (region->read_only) {
    return Status::error(ErrorCode::kReadOnly, "ROM has no (writable) host span", address, size);
  }
  return region;
}

std::span<std::byte> span_in(const Region& region, uint64_t address, uint64_t size) {
  return std::span<std::byte>(region.host + (address - region.base), size);
}

std::optional<RamWindow> window_of(const Region* region, uint64_t generation,
                                   std::shared_ptr<const void> hold) {
  if (region == nullptr || region->host == nullptr) return std::nullopt;
  return RamWindow{region->base, region->size,    region->host,     region->dirty.get(),
                   generation,   std::move(hold), region->read_only};
}

RegionKind kind_of(const Region& r) {
  if (r.host == nullptr) return RegionKind::kMmio;
  return r.read_only ? RegionKind::kRom : RegionKind::kRam;
}

std::vector<RegionInfo> infos_of(const RegionTable& table) {
  std::vector<RegionInfo> out;
  out.reserve(table.regions.size());
  for (const Region& r : table.regions) {
    out.push_back({r.base, r.size, kind_of(r)});
  }
  return out;
}

}  // namespace

Result<std::span<std::byte>> GuestMemory::host_span(uint64_t address, uint64_t size) const {
  if (size == 0) return std::span<std::byte>();
  Result<const Region*> region = span_region(thread_table(), address, size);
  if (!region.ok()) return region.status();
  return span_in(*region.value(), address, size);
}

Result<PinnedSpan> GuestMemory::pin_span(uint64_t address, uint64_t size) const {
  if (size == 0) return PinnedSpan{};
  Result<const Region*> region = span_region(thread_table(), address, size);
  if (!region.ok()) return region.status();
  return PinnedSpan{span_in(*region.value(), address, size), region.value()->mapping};
}

Result<SharedRam> GuestMemory::shared_ram(uint64_t address, uint64_t size) const {
  if (size == 0) return SharedRam{};
  Result<const Region*> region = span_region(thread_table(), address, size);
  if (!region.ok()) return region.status();
  const HostMapping& mapping = *region.value()->mapping;
  if (mapping.fd() < 0) {
    return Status::error(ErrorCode::kUnsupported, "RAM is not shared (no file behind it)", address,
                         size);
  }
  return SharedRam{mapping.fd(), mapping.file_offset() + (address - region.value()->base),
                   region.value()->mapping};
}

Status GuestMemory::admit(const RegionTable& table, uint64_t base, uint64_t size) const {
  const uint64_t last = base + (size - 1);  // REQUIRES: checked by the caller
  const auto& regions = table.regions;
  auto after = std::upper_bound(regions.begin(), regions.end(), base,
                                [](uint64_t a, const Region& r) { return a < r.base; });
  const bool hits_previous = after != regions.begin() && std::prev(after)->last() >= base;
  const bool hits_next = after != regions.end() && after->base <= last;
  if (hits_previous || hits_next) {
    return Status::error(ErrorCode::kConflict, "region overlaps an existing region", base, size);
  }
  if (regions.size() >= limits_.max_regions) {
    return Status::error(ErrorCode::kOutOfMemory, "region table is full", base, size);
  }
  return kOkStatus;
}

Result<std::byte*> GuestMemory::atomic_location_slow(uint64_t address, unsigned width,
                                                     bool for_write) const {
  const Region* region = thread_table().find(address);
  if (region == nullptr) {
    return Status::error(ErrorCode::kUnmapped, "no region backs the atomic access", address, width);
  }
  if (region->host == nullptr) {
    return Status::error(ErrorCode::kUnsupported, "atomic access to MMIO", address, width);
  }
  if (for_write && region->read_only) {
    return Status::error(ErrorCode::kReadOnly, "atomic write to ROM", address, width);
  }
  remember(*region);
  // Aligned and inside a RAM region, whose size is a multiple of every width: no straddling.
  return region->host + (address - region->base);
}

std::optional<RamWindow> GuestMemory::ram_window(uint64_t address) const {
  const RegionTable& table = thread_table();
  return window_of(table.find(address), table.generation, thread_hold.table);
}

MemorySnapshot GuestMemory::snapshot() const {
  return MemorySnapshot(load_table());
}

std::optional<RamWindow> MemorySnapshot::ram_window(uint64_t address) const {
  if (!table_) return std::nullopt;
  return window_of(table_->find(address), table_->generation, table_);
}

Result<std::span<std::byte>> MemorySnapshot::host_span(uint64_t address, uint64_t size) const {
  if (size == 0) return std::span<std::byte>();
  if (!table_) return Status::error(ErrorCode::kUnmapped, "empty snapshot", address, size);
  Result<const Region*> region = span_region(*table_, address, size);
  if (!region.ok()) return region.status();
  return span_in(*region.value(), address, size);
}

std::vector<RegionInfo> MemorySnapshot::regions() const {
  return table_ ? infos_of(*table_) : std::vector<RegionInfo>{};
}

Status GuestMemory::insert(uint64_t base, uint64_t size, Region region) {
  // REQUIRES: writer_mutex_ held; base and size checked for wrapping.
  const RegionTable& now = *table_;
  if (Status status = admit(now, base, size); !status.ok()) return status;
  if (region.host != nullptr && size > limits_.max_ram_bytes - now.ram_bytes) {
    return Status::error(ErrorCode::kOutOfMemory, "RAM budget exceeded", base, size);
  }
  RegionTable next{nullptr, 0, now.ram_bytes, now.regions};
  if (region.host != nullptr) next.ram_bytes += size;
  auto at = std::upper_bound(next.regions.begin(), next.regions.end(), base,
                             [](uint64_t a, const Region& r) { return a < r.base; });
  next.regions.insert(at, std::move(region));
  publish(std::move(next));
  return kOkStatus;
}

Status GuestMemory::add_ram(uint64_t base, uint64_t size) {
  return add_host_backed(base, size, {}, /*read_only=*/false, RamBacking{});
}

Status GuestMemory::add_ram(uint64_t base, uint64_t size, const RamBacking& backing) {
  return add_host_backed(base, size, {}, /*read_only=*/false, backing);
}

Status GuestMemory::add_rom(uint64_t base, std::span<const std::byte> contents) {
  return add_host_backed(base, contents.size(), contents, /*read_only=*/true, RamBacking{});
}

Status GuestMemory::add_host_backed(uint64_t base, uint64_t size,
                                    std::span<const std::byte> contents, bool read_only,
                                    const RamBacking& backing) {
  if (size == 0) return Status::error(ErrorCode::kInvalidArgument, "RAM size is zero", base, size);
  if (!is_aligned(base, kPageSize) || !is_aligned(size, kPageSize)) {
    return Status::error(ErrorCode::kInvalidArgument,
                         "RAM base and size must be multiples of 4 KiB", base, size);
  }
  if (!last_byte(base, size)) {
    return Status::error(ErrorCode::kOverflow, "region wraps past 2^64", base, size);
  }
  std::lock_guard lock(writer_mutex_);
  // Checked before mapping, so a refused request maps nothing; insert() checks again.
  if (Status status = admit(*table_, base, size); !status.ok()) return status;
  if (size > limits_.max_ram_bytes - table_->ram_bytes) {
    return Status::error(ErrorCode::kOutOfMemory, "RAM budget exceeded", base, size);
  }
  Result<HostMapping> mapping = HostMapping::create(size, mapping_granule_, backing);
  if (!mapping.ok()) {
    return Status::error(mapping.status().code(), mapping.status().what(), base, size);
  }
  if (read_only) {
    std::memcpy(mapping.value().data(), contents.data(), contents.size());
    if (Status status = mapping.value().protect_read_only(); !status.ok()) {
      return Status::error(ErrorCode::kOutOfMemory, status.what(), base, size);
    }
  }
  auto shared = std::make_shared<const HostMapping>(std::move(mapping.value()));
  std::byte* host = shared->data();
  return insert(base, size,
                Region{base, size, host, std::move(shared), nullptr, nullptr, read_only});
}

Status GuestMemory::add_mmio(uint64_t base, uint64_t size, std::shared_ptr<MmioHandler> handler) {
  if (!handler) {
    return Status::error(ErrorCode::kInvalidArgument, "MMIO region needs a handler", base, size);
  }
  if (size == 0) return Status::error(ErrorCode::kInvalidArgument, "MMIO size is zero", base, size);
  if (!last_byte(base, size)) {
    return Status::error(ErrorCode::kOverflow, "region wraps past 2^64", base, size);
  }
  std::lock_guard lock(writer_mutex_);
  return insert(base, size, Region{base, size, nullptr, nullptr, std::move(handler), nullptr});
}

Status GuestMemory::remove(uint64_t base) {
  std::lock_guard lock(writer_mutex_);
  const RegionTable& now = *table_;
  const Region* region = now.starting_at(base);
  if (region == nullptr) {
    return Status::error(ErrorCode::kNotFound, "no region starts at this address", base, 0);
  }
  RegionTable next{nullptr, 0, now.ram_bytes, now.regions};
  if (region->host != nullptr) next.ram_bytes -= region->size;
  next.regions.erase(next.regions.begin() + (region - now.regions.data()));
  publish(std::move(next));
  return kOkStatus;
}

Status GuestMemory::set_dirty_tracking(uint64_t base, bool on) {
  std::lock_guard lock(writer_mutex_);
  const RegionTable& now = *table_;
  const Region* region = now.starting_at(base);
  if (region == nullptr) {
    return Status::error(ErrorCode::kNotFound, "no region starts at this address", base, 0);
  }
  if (region->host == nullptr || region->read_only) {
    return Status::error(ErrorCode::kUnsupported, "MMIO and ROM have no dirty pages", base, 0);
  }
  if (on == static_cast<bool>(region->dirty)) return kOkStatus;
  RegionTable next{nullptr, 0, now.ram_bytes, now.regions};
  Region& changed = next.regions[static_cast<size_t>(region - now.regions.data())];
  changed.dirty = on ? std::make_shared<DirtyBitmap>(region->size) : nullptr;
  publish(std::move(next));  // cached windows carry the bitmap pointer
  return kOkStatus;
}

Result<std::vector<uint64_t>> GuestMemory::take_dirty(uint64_t base) {
  const Region* region = thread_table().starting_at(base);
  if (region == nullptr) {
    return Status::error(ErrorCode::kNotFound, "no region starts at this address", base, 0);
  }
  if (region->host == nullptr || region->read_only) {
    return Status::error(ErrorCode::kUnsupported, "MMIO and ROM have no dirty pages", base, 0);
  }
  if (!region->dirty) {
    return Status::error(ErrorCode::kInvalidArgument, "dirty tracking is off for this region", base,
                         region->size);
  }
  return region->dirty->take();
}

Status GuestMemory::mark_dirty(uint64_t address, uint64_t size) {
  if (size == 0) return kOkStatus;
  const RegionTable& table = thread_table();
  const Region* region = nullptr;
  if (Status status = validate_ram_range(table, address, size, &region, true); !status.ok()) {
    return status;
  }
  for (uint64_t done = 0; done < size; ++region) {
    const uint64_t offset = address + done - region->base;
    const uint64_t chunk = std::min<uint64_t>(size - done, region->size - offset);
    if (region->dirty) region->dirty->mark(offset, chunk);
    done += chunk;
  }
  return kOkStatus;
}

std::vector<RegionInfo> GuestMemory::regions() const {
  return infos_of(thread_table());
}

uint64_t GuestMemory::ram_bytes() const {
  return thread_table().ram_bytes;
}

Status GuestMemory::check() const {
  const RegionTable& table = thread_table();
  const std::vector<Region>& regions = table.regions;
  uint64_t ram = 0;
  const ThreadWindow& window = thread_window_;
  const bool window_live = window.generation != 0 && window.generation == generation();
  bool window_found = false;
  for (size_t i = 0; i < regions.size(); ++i) {
    const Region& r = regions[i];
    if (r.size == 0 || !last_byte(r.base, r.size)) {
      return Status::error(ErrorCode::kBrokenInvariant, "check: region is empty or wraps", r.base,
                           r.size);
    }
    if (i > 0 && regions[i - 1].last() >= r.base) {
      return Status::error(ErrorCode::kBrokenInvariant, "check: regions unsorted or overlapping",
                           r.base, r.size);
    }
    const bool is_ram = r.host != nullptr;
    if (is_ram == static_cast<bool>(r.mmio) || is_ram != static_cast<bool>(r.mapping) ||
        (r.read_only && (!is_ram || r.dirty))) {
      return Status::error(ErrorCode::kBrokenInvariant, "check: region is neither RAM nor MMIO",
                           r.base, r.size);
    }
    if (is_ram) {
      if (!is_aligned(r.base, kPageSize) || !is_aligned(r.size, kPageSize) ||
          r.mapping->data() != r.host || r.mapping->size() != r.size ||
          r.mapping->granule() != mapping_granule_) {
        return Status::error(ErrorCode::kBrokenInvariant,
                             "check: RAM region and its mapping disagree", r.base, r.size);
      }
      ram += r.size;
    }
    if (window_live && is_ram && r.base == window.base && r.size == window.size &&
        r.host == window.host && r.dirty.get() == window.dirty &&
        (window.write_generation == 0) == r.read_only) {
      window_found = true;
    }
  }
  if (ram != table.ram_bytes || table.ram_bytes > limits_.max_ram_bytes ||
      regions.size() > limits_.max_regions) {
    return Status::error(ErrorCode::kBrokenInvariant, "check: RAM accounting or limits broken",
                         table.ram_bytes, ram);
  }
  if (window_live && (!window_found || window.table != &table)) {
    return Status::error(ErrorCode::kBrokenInvariant,
                         "check: this thread's cached window is not a live RAM region", window.base,
                         window.size);
  }
  return kOkStatus;
}

}  // namespace vmmem::mem
