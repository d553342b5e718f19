// Executor: performs mem ops on a real GuestMemory and reports their Outcomes; the `execute`
// of scenario::run for this subsystem.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mem/guest_memory.h"
#include "mem/memory_accessor.h"
#include "scenario/common/model_checker.h"
#include "scenario/common/reusable_bytes.h"
#include "scenario/common/runner.h"
#include "scenario/mem/device.h"
#include "scenario/mem/ops.h"
#include "scenario/mem/outcome.h"

namespace vmmem::scenario::mem {

using vmmem::mem::GuestMemory;
using vmmem::mem::GuestMemoryLimits;

// Scalar ops alternate between GuestMemory itself and a MemoryAccessor on it, so the model
// checks both access paths.
class Executor {
 public:
  // With record_device_calls, outcomes list the device calls each op caused (needed to
  // compare with the model); benches turn it off.
  Executor(GuestMemory& memory, bool record_device_calls);

  // The outcome's views stay valid until the next call.
  Outcome operator()(const Op& op);

 private:
  Result<uint64_t> read_scalar(uint64_t address, unsigned width);
  Status write_scalar(uint64_t address, unsigned width, uint64_t value);
  Result<uint64_t> atomic(const Atomic& op);
  // AddBackedRam: builds the backing (temporary files for the file kinds) and adds the RAM.
  Status add_backed_ram(const AddBackedRam& op);
  // ReadShared and WriteShared: through the file shared_ram names, as another process would.
  Outcome read_shared(const ReadShared& op);
  Outcome write_shared(const WriteShared& op);
  template <vmmem::mem::GuestScalar T>
  Result<uint64_t> atomic_as(const Atomic& op);

  GuestMemory& memory_;
  vmmem::mem::MemoryAccessor accessor_;
  bool use_accessor_ = false;         // flips on every scalar op
  std::shared_ptr<DeviceLog> calls_;  // null when not recording
  ReusableBytes buffer_;              // bulk data
  std::array<vmmem::mem::PinnedSpan, kPinSlots> pins_;
  std::array<bool, kPinSlots> pinned_{};  // whether a PinSpan filled the slot
};

// The limits fuzz targets and properties run under: small enough that budget and
// table-full errors are reachable.
inline constexpr GuestMemoryLimits kCheckedLimits{.max_ram_bytes = 64ull << 20, .max_regions = 16};

// For a process that runs verify() over and over (fuzz targets, property tests): released
// anonymous RAM mappings are kept for the next input instead of mapped and faulted in afresh
// (HostMapping invariant 5). The pool holds up to four times the RAM budget of kCheckedLimits.
void reuse_host_mappings();

// Runs ops on a fresh GuestMemory under `limits`, comparing every outcome with the Model and
// calling check() every `checkpoint_every` ops and at the end. Returns the failure report, or
// nullopt when the subsystem and the model agree throughout.
std::optional<std::string> verify(std::span<const Op> ops,
                                  GuestMemoryLimits limits = kCheckedLimits,
                                  size_t checkpoint_every = 16);

}  // namespace vmmem::scenario::mem
