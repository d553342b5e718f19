#include "scenario/mem/executor.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <type_traits>

#include "scenario/mem/model.h"
#include "scenario/mem/pattern.h"

namespace vmmem::scenario::mem {

Executor::Executor(GuestMemory& memory, bool record_device_calls)
    : memory_(memory),
      accessor_(memory),
      calls_(record_device_calls ? std::make_shared<DeviceLog>() : nullptr) {}

namespace {

// A temporary file, already unlinked, of `header` bytes of 0xa5 and then `bytes` zeros; -1 if
// the host refuses. The header is there so that an offset into the file that is off by the
// region's file offset reads (or punches) the wrong bytes visibly.
int temporary_file(uint64_t header, uint64_t bytes) {
  int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {  // a file system without O_TMPFILE
    char name[] = "/tmp/vmmem-ram-XXXXXX";
    fd = mkstemp(name);
    if (fd >= 0) unlink(name);
  }
  if (fd < 0) return -1;
  const std::vector<std::byte> filled(header, std::byte{0xa5});
  if (ftruncate(fd, static_cast<off_t>(header + bytes)) != 0 ||
      pwrite(fd, filled.data(), filled.size(), 0) != static_cast<ssize_t>(filled.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

Status Executor::add_backed_ram(const AddBackedRam& op) {
  using vmmem::mem::RamBacking;
  RamBacking backing;
  switch (op.backing) {
    case Backing::kAnonymousHuge:
      backing.huge_pages = true;
      break;
    case Backing::kMemfd:
    case Backing::kMemfdHuge:
      backing.kind = RamBacking::Kind::kMemfd;
      backing.huge_pages = op.backing == Backing::kMemfdHuge;
      break;
    case Backing::kSharedFile:
    case Backing::kPrivateFile:
    case Backing::kShortFile:
    case Backing::kCount: {
      // The region starts one host page into the file and the file is as long as the region in
      // whole host pages; a size the RAM budget refuses anyway gets a file of the budget's size
      // (add_ram never reaches the file then).
      const uint64_t granule =
          std::max(memory_.limits().host_page_size, vmmem::mem::HostMapping::system_page_size());
      const uint64_t size = std::min(op.size, memory_.limits().max_ram_bytes);
      uint64_t bytes = (size + granule - 1) / granule * granule;
      if (op.backing == Backing::kShortFile) bytes = bytes >= granule ? bytes - granule : 0;
      backing.kind = RamBacking::Kind::kFile;
      backing.fd = temporary_file(granule, bytes);
      backing.offset = granule;
      backing.shared = op.backing != Backing::kPrivateFile;
      break;
    }
  }
  const Status status = memory_.add_ram(op.base, op.size, backing);
  if (backing.fd >= 0) close(backing.fd);  // the mapping keeps its own reference
  return status;
}

Outcome Executor::read_shared(const ReadShared& op) {
  const Result<vmmem::mem::SharedRam> shared = memory_.shared_ram(op.address, op.length);
  if (!shared.ok() || op.length == 0) return {shared.status().code()};
  const std::span<std::byte> out = buffer_.resize(op.length);
  const ssize_t got =
      pread(shared.value().fd, out.data(), out.size(), static_cast<off_t>(shared.value().offset));
  if (got != static_cast<ssize_t>(out.size())) return {ErrorCode::kDeviceError};
  return {ErrorCode::kOk, 0, out};
}

Outcome Executor::write_shared(const WriteShared& op) {
  const Result<vmmem::mem::SharedRam> shared = memory_.shared_ram(op.address, op.length);
  if (!shared.ok() || op.length == 0) return {shared.status().code()};
  const std::span<std::byte> in = buffer_.resize(op.length);
  fill_pattern(op.pattern, in);
  const ssize_t put =
      pwrite(shared.value().fd, in.data(), in.size(), static_cast<off_t>(shared.value().offset));
  if (put != static_cast<ssize_t>(in.size())) return {ErrorCode::kDeviceError};
  return {ErrorCode::kOk};
}

Result<uint64_t> Executor::read_scalar(uint64_t address, unsigned width) {
  use_accessor_ = !use_accessor_;
  if (!use_accessor_) return memory_.read_scalar(address, width);
  auto widen = [](auto result) -> Result<uint64_t> {
    if (!result.ok()) return result.status();
    return result.value();
  };
  switch (width) {
    case 1:
      return widen(accessor_.read<uint8_t>(address));
    case 2:
      return widen(accessor_.read<uint16_t>(address));
    case 4:
      return widen(accessor_.read<uint32_t>(address));
    case 8:
      return accessor_.read<uint64_t>(address);
    default:
      return memory_.read_scalar(address, width);  // the accessor takes typed widths only
  }
}

Status Executor::write_scalar(uint64_t address, unsigned width, uint64_t value) {
  use_accessor_ = !use_accessor_;
  if (!use_accessor_) return memory_.write_scalar(address, width, value);
  switch (width) {
    case 1:
      return accessor_.write<uint8_t>(address, static_cast<uint8_t>(value));
    case 2:
      return accessor_.write<uint16_t>(address, static_cast<uint16_t>(value));
    case 4:
      return accessor_.write<uint32_t>(address, static_cast<uint32_t>(value));
    case 8:
      return accessor_.write<uint64_t>(address, value);
    default:
      return memory_.write_scalar(address, width, value);
  }
}

template <vmmem::mem::GuestScalar T>
Result<uint64_t> Executor::atomic_as(const Atomic& op) {
  const auto order = static_cast<std::memory_order>(op.order);
  const auto value = static_cast<T>(op.value);
  auto widen = [](Result<T> result) -> Result<uint64_t> {
    if (!result.ok()) return result.status();
    return result.value();
  };
  switch (op.kind) {
    case AtomicKind::kLoad:
      return widen(memory_.load_atomic<T>(op.address, order));
    case AtomicKind::kStore: {
      const Status status = memory_.store_atomic<T>(op.address, value, order);
      if (!status.ok()) return status;
      return uint64_t{0};
    }
    case AtomicKind::kCompareExchange:
      return widen(
          memory_.compare_exchange<T>(op.address, static_cast<T>(op.expected), value, order));
    case AtomicKind::kFetchAdd:
      return widen(memory_.fetch_add<T>(op.address, value, order));
    case AtomicKind::kFetchOr:
    case AtomicKind::kCount:
      break;
  }
  return widen(memory_.fetch_or<T>(op.address, value, order));
}

Result<uint64_t> Executor::atomic(const Atomic& op) {
  switch (op.width) {
    case 1:
      return atomic_as<uint8_t>(op);
    case 2:
      return atomic_as<uint16_t>(op);
    case 4:
      return atomic_as<uint32_t>(op);
    case 8:
      return atomic_as<uint64_t>(op);
    default:
      // The typed API cannot name a bad width; a runtime-width caller refuses it like this.
      return Status::error(ErrorCode::kInvalidArgument, "atomic width must be 1, 2, 4 or 8",
                           op.address, op.width);
  }
}

Outcome Executor::operator()(const Op& op) {
  if (calls_) calls_->clear();
  Outcome outcome = std::visit(
      [this](const auto& o) -> Outcome {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, AddRam>) {
          return {memory_.add_ram(o.base, o.size).code()};
        } else if constexpr (std::is_same_v<T, AddMmio>) {
          return {memory_
                      .add_mmio(o.base, o.size,
                                std::make_shared<Device>(memory_, o.base, o.size, calls_))
                      .code()};
        } else if constexpr (std::is_same_v<T, RemoveRegion>) {
          return {memory_.remove(o.base).code()};
        } else if constexpr (std::is_same_v<T, Read>) {
          const Result<uint64_t> value = read_scalar(o.address, o.width);
          return {value.status().code(), value.value_or(0)};
        } else if constexpr (std::is_same_v<T, Write>) {
          return {write_scalar(o.address, o.width, o.value).code()};
        } else if constexpr (std::is_same_v<T, ReadBulk>) {
          const std::span<std::byte> out = buffer_.resize(o.length);
          const Status status = memory_.read(o.address, out);
          if (!status.ok() || o.length == 0) return {status.code()};
          return {ErrorCode::kOk, 0, out};
        } else if constexpr (std::is_same_v<T, WriteBulk>) {
          const std::span<std::byte> in = buffer_.resize(o.length);
          fill_pattern(o.pattern, in);
          return {memory_.write(o.address, std::span<const std::byte>(in)).code()};
        } else if constexpr (std::is_same_v<T, HostSpan>) {
          const Result<std::span<std::byte>> view = memory_.host_span(o.address, o.length);
          return {view.status().code(), 0, view.value_or({})};
        } else if constexpr (std::is_same_v<T, Atomic>) {
          const Result<uint64_t> value = atomic(o);
          return {value.status().code(), value.value_or(0)};
        } else if constexpr (std::is_same_v<T, SetDirtyTracking>) {
          return {memory_.set_dirty_tracking(o.base, o.on).code()};
        } else if constexpr (std::is_same_v<T, TakeDirty>) {
          const Result<std::vector<uint64_t>> bitmap = memory_.take_dirty(o.base);
          if (!bitmap.ok()) return {bitmap.status().code()};
          const std::span<std::byte> out = buffer_.resize(8 * bitmap.value().size());
          for (size_t i = 0; i < bitmap.value().size(); ++i) {
            for (size_t b = 0; b < 8; ++b)
              out[8 * i + b] = static_cast<std::byte>(bitmap.value()[i] >> (8 * b));
          }
          return {ErrorCode::kOk, 0, out};
        } else if constexpr (std::is_same_v<T, MarkDirty>) {
          return {memory_.mark_dirty(o.address, o.length).code()};
        } else if constexpr (std::is_same_v<T, AddRom>) {
          const std::span<std::byte> contents = buffer_.resize(o.size);
          fill_pattern(o.pattern, contents);
          return {memory_.add_rom(o.base, std::span<const std::byte>(contents)).code()};
        } else if constexpr (std::is_same_v<T, Discard>) {
          return {memory_.discard(o.address, o.length).code()};
        } else if constexpr (std::is_same_v<T, AddBackedRam>) {
          return {add_backed_ram(o).code()};
        } else if constexpr (std::is_same_v<T, ReadShared>) {
          return read_shared(o);
        } else if constexpr (std::is_same_v<T, WriteShared>) {
          return write_shared(o);
        } else if constexpr (std::is_same_v<T, PinSpan>) {
          const size_t slot = o.slot % kPinSlots;
          pins_[slot] = {};
          pinned_[slot] = false;
          Result<vmmem::mem::PinnedSpan> pin = memory_.pin_span(o.address, o.length);
          if (!pin.ok()) return {pin.status().code()};
          pins_[slot] = std::move(pin.value());
          pinned_[slot] = true;
          return {ErrorCode::kOk};
        } else if constexpr (std::is_same_v<T, ReadPinned>) {
          const size_t slot = o.slot % kPinSlots;
          if (!pinned_[slot]) return {ErrorCode::kNotFound};
          return {ErrorCode::kOk, 0, pins_[slot].bytes};
        } else if constexpr (std::is_same_v<T, WritePinned>) {
          const size_t slot = o.slot % kPinSlots;
          if (!pinned_[slot]) return {ErrorCode::kNotFound};
          fill_pattern(o.pattern, pins_[slot].bytes);
          return {ErrorCode::kOk};
        } else if constexpr (std::is_same_v<T, Copy>) {
          const Result<std::span<std::byte>> source = memory_.host_span(o.from, o.length);
          if (!source.ok()) return {source.status().code()};
          return {memory_.write(o.to, std::span<const std::byte>(source.value())).code()};
        } else {
          return {memory_.check().code(),
                  region_fingerprint(memory_.regions(), memory_.ram_bytes())};
        }
      },
      op);
  if (calls_) outcome.device_calls = *calls_;
  return outcome;
}

void reuse_host_mappings() {
  vmmem::mem::HostMapping::set_reuse_limit(4 * kCheckedLimits.max_ram_bytes);
}

std::optional<std::string> verify(std::span<const Op> ops, GuestMemoryLimits limits,
                                  size_t checkpoint_every) {
  GuestMemory memory(limits);
  Model model(limits);
  Executor executor(memory, /*record_device_calls=*/true);
  ModelChecker<Model, GuestMemory> checker(model, memory, checkpoint_every);
  scenario::run(ops, executor, checker);
  checker.finish();
  return checker.failure();
}

}  // namespace vmmem::scenario::mem
