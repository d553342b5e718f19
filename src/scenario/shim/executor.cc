#include "scenario/shim/executor.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "scenario/common/model_checker.h"
#include "scenario/common/runner.h"
#include "scenario/shim/model.h"
#include "shim/c_api.h"

namespace vmmem::scenario::shim {

namespace c_api = vmmem::shim::c_api;

namespace {

vmmem::alloc::Options allocator_options(const Config& config, uint64_t* reports) {
  vmmem::alloc::Options options;
  options.hardened = config.hardened;
  options.report = [](const Status&, void* context) { ++*static_cast<uint64_t*>(context); };
  options.report_context = reports;
  return options;
}

}  // namespace

Executor::Executor(const Config& config)
    : config_(config),
      page_size_(static_cast<uint64_t>(sysconf(_SC_PAGESIZE))),
      allocator_(allocator_options(config, &reports_)),
      libc_block_(std::malloc(64)) {
  allocator_.os().set_map_limit(2 * kLargestTried);
  // The first allocation binds the thread's heap (mapping its first segment); done here, so
  // that every op, the first included, finds the allocator set up.
  allocator_.deallocate(allocator_.allocate(1));
}

Executor::~Executor() {
  for (const Live& block : live_)
    allocator_.deallocate(block.pointer);
  std::free(libc_block_);
}

Outcome Executor::execute(const Op& op) {
  return std::visit([this](const auto& o) { return execute(o); }, op);
}

Outcome Executor::returned(void* block, Outcome outcome) {
  outcome.block = block != nullptr;
  outcome.address = reinterpret_cast<uint64_t>(block);
  if (block != nullptr) outcome.usable = c_api::malloc_usable_size(allocator_, block);
  return outcome;
}

Outcome Executor::execute(const Allocate& op) {
  Outcome outcome;
  const uint64_t size = op.size, extra = op.extra;
  const uint64_t reports = reports_;
  errno = 0;
  void* block = nullptr;
  switch (op.call) {
    case AllocCall::kMalloc:
      block = c_api::malloc(allocator_, size);
      break;
    case AllocCall::kCalloc:
      block = c_api::calloc(allocator_, extra, size);
      break;
    case AllocCall::kPosixMemalign: {
      void* out = &static_object_;
      errno = 12345;
      outcome.error = c_api::posix_memalign(allocator_, &out, extra, size);
      outcome.errno_untouched = errno == 12345 && (outcome.error == 0 || out == &static_object_);
      if (outcome.error == 0) block = out;
      break;
    }
    case AllocCall::kAlignedAlloc:
      block = c_api::aligned_alloc(allocator_, extra, size);
      break;
    case AllocCall::kMemalign:
      block = c_api::memalign(allocator_, extra, size);
      break;
    case AllocCall::kValloc:
      block = c_api::valloc(allocator_, size, page_size_);
      break;
    case AllocCall::kPvalloc:
      block = c_api::pvalloc(allocator_, size, page_size_);
      break;
    case AllocCall::kCount:
      break;
  }
  if (op.call != AllocCall::kPosixMemalign) outcome.error = errno;
  outcome.reports = reports_ - reports;
  outcome = returned(block, outcome);
  if (block != nullptr) live_.push_back({block, outcome.usable});
  return outcome;
}

Outcome Executor::execute(const Realloc& op) {
  Outcome outcome;
  if (!op.null_pointer && live_.empty()) {
    outcome.skipped = true;
    return outcome;
  }
  const size_t index = op.null_pointer ? 0 : pick(op.slot, live_.size());
  void* p = op.null_pointer ? nullptr : live_[index].pointer;
  const uint64_t reports = reports_;
  auto report = [this](const Status&) { ++reports_; };
  errno = 0;
  void* block = op.array ? c_api::reallocarray(allocator_, p, op.count, op.size, report)
                         : c_api::realloc(allocator_, p, op.size, report);
  outcome.error = errno;
  outcome.reports = reports_ - reports;
  outcome = returned(block, outcome);
  if (p == nullptr) {
    if (block != nullptr) live_.push_back({block, outcome.usable});
  } else if (block != nullptr) {
    if (block != p) freed_.push_back(p);
    live_[index] = {block, outcome.usable};
  } else if (outcome.error == 0) {  // realloc(p, 0): p is freed
    freed_.push_back(p);
    remove(index);
  }
  return outcome;
}

Outcome Executor::execute(const Free& op) {
  Outcome outcome;
  const uint64_t reports = reports_;
  if (op.null_pointer) {
    c_api::free(allocator_, nullptr);
  } else if (live_.empty()) {
    outcome.skipped = true;
  } else {
    const size_t index = pick(op.slot, live_.size());
    void* p = live_[index].pointer;
    c_api::free(allocator_, p);
    freed_.push_back(p);
    remove(index);
    outcome.block = true;
    outcome.address = reinterpret_cast<uint64_t>(p);
  }
  outcome.reports = reports_ - reports;
  return outcome;
}

Outcome Executor::execute(const Fill& op) {
  Outcome outcome;
  if (live_.empty()) {
    outcome.skipped = true;
    return outcome;
  }
  const Live& block = live_[pick(op.slot, live_.size())];
  // The usable bytes up to kFillLimit: what the model then expects to find.
  std::memset(block.pointer, op.byte, block.usable < kFillLimit ? block.usable : kFillLimit);
  outcome.address = reinterpret_cast<uint64_t>(block.pointer);
  return outcome;
}

Outcome Executor::execute(const UsableSize& op) {
  Outcome outcome;
  if (live_.empty()) {
    outcome.skipped = true;
    return outcome;
  }
  const Live& block = live_[pick(op.slot, live_.size())];
  outcome.address = reinterpret_cast<uint64_t>(block.pointer);
  outcome.usable = c_api::malloc_usable_size(allocator_, block.pointer);
  return outcome;
}

Outcome Executor::execute(const Trim&) {
  Outcome outcome;
  outcome.error = c_api::malloc_trim(allocator_) == 1 ? 0 : -1;
  return outcome;
}

std::optional<void*> Executor::freed_not_live() const {
  for (size_t i = freed_.size(); i-- > 0;) {
    const auto address = reinterpret_cast<uint64_t>(freed_[i]);
    bool covered = false;
    for (const Live& block : live_) {
      const auto start = reinterpret_cast<uint64_t>(block.pointer);
      covered =
          covered || (address >= start && address - start < std::max<uint64_t>(block.usable, 1));
    }
    if (!covered) return freed_[i];
  }
  return std::nullopt;
}

Outcome Executor::execute(const BadPointer& op) {
  Outcome outcome;
  void* p = nullptr;
  switch (op.kind) {
    case BadPointerKind::kStatic:
      p = &static_object_;
      break;
    case BadPointerKind::kLibc:
      p = libc_block_;
      break;
    case BadPointerKind::kInterior:
      if (!live_.empty() && (config_.hardened || op.use != BadPointerUse::kFree))
        p = static_cast<char*>(live_[pick(op.slot, live_.size())].pointer) + 1;
      break;
    case BadPointerKind::kFreed:
      if (config_.hardened) p = freed_not_live().value_or(nullptr);
      break;
    case BadPointerKind::kCount:
      break;
  }
  if (p == nullptr) {
    outcome.skipped = true;
    return outcome;
  }
  outcome.address = reinterpret_cast<uint64_t>(p);
  const uint64_t reports = reports_;
  errno = 0;
  switch (op.use) {
    case BadPointerUse::kFree:
      c_api::free(allocator_, p);
      break;
    case BadPointerUse::kRealloc: {
      void* block = c_api::realloc(allocator_, p, 64, [this](const Status&) { ++reports_; });
      outcome.block = block != nullptr;
      if (block != nullptr) live_.push_back({block, c_api::malloc_usable_size(allocator_, block)});
      break;
    }
    case BadPointerUse::kUsableSize:
      outcome.usable = c_api::malloc_usable_size(allocator_, p);
      break;
    case BadPointerUse::kCount:
      break;
  }
  outcome.error = errno;
  outcome.reports = reports_ - reports;
  return outcome;
}

Outcome Executor::execute(const Check&) {
  Outcome outcome;
  outcome.stats_live_blocks = allocator_.stats().live.blocks;
  return outcome;
}

void Executor::remove(size_t index) {
  live_[index] = live_.back();
  live_.pop_back();
}

std::optional<std::string> verify(const Config& config, std::span<const Op> ops,
                                  size_t checkpoint_every) {
  Executor executor(config);
  Model model(config, executor.page_size());
  ModelChecker checker(model, executor, checkpoint_every);
  run(
      ops, [&](const Op& op) { return executor.execute(op); }, checker);
  checker.finish();
  return checker.failure();
}

}  // namespace vmmem::scenario::shim
