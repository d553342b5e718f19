#include "scenario/mmu/executor.h"

#include <array>
#include <bit>
#include <memory>
#include <span>
#include <type_traits>

#include "mem/mmio.h"
#include "scenario/common/model_checker.h"
#include "scenario/common/runner.h"
#include "scenario/mmu/model.h"
#include "support/check.h"

namespace vmmem::scenario::mmu {
namespace {

using vmmem::mmu::FlushRequest;
using vmmem::mmu::MmuConfig;
using vmmem::mmu::PageTableBuilder;
namespace pte = vmmem::mmu::pte;

struct Device : mem::MmioHandler {
  Result<uint64_t> read(uint64_t offset, unsigned size) override {
    return device_value(offset, size);
  }
  Status write(uint64_t /*offset*/, unsigned /*size*/, uint64_t /*value*/) override {
    return kOkStatus;
  }
};

MmuConfig mmu_config(const Config& config) {
  MmuConfig out;
  out.ad_policy = config.ad_policy;
  out.prefetch_depth = config.prefetch_depth;
  if (config.small_tlb) out.tlb = {.main_entries = 16, .victim_entries = 2};
  out.tlb.range_flush_limit = range_flush_limit(config);
  return out;
}

Mode table_mode(const Config& config) {
  return config.mode == Mode::kBare ? Mode::kSv39 : config.mode;
}

bool in_frames(uint64_t pa) {
  return pa - kFrameBase < kFrameBytes;
}

}  // namespace

Executor::Executor(const Config& config, bool record_addresses)
    : config_(config),
      record_addresses_(record_addresses),
      frames_(memory_, kFrameBase, kFrameBytes),
      mmu_(memory_, mmu_config(config)) {
  VMM_CHECK(memory_.add_ram(kRamBase, kRamSize).ok(), "scenario RAM");
  VMM_CHECK(memory_.add_ram(kScratchBase, kScratchSize).ok(), "scenario scratch RAM");
  VMM_CHECK(memory_.add_mmio(kDeviceBase, kDeviceSize, std::make_shared<Device>()).ok(),
            "scenario device");
  for (unsigned slot = 0; slot < kSpaces; ++slot) {
    spaces_.emplace_back(memory_, frames_, table_mode(config), frames_.allocate().value());
  }
  if (config.dirty_tracking) {
    VMM_CHECK(memory_.set_dirty_tracking(kRamBase, true).ok() &&
                  memory_.set_dirty_tracking(kScratchBase, true).ok(),
              "scenario dirty tracking");
  }
  mmu_.set_context(context());
}

ErrorCode Executor::toggle_scratch() {
  const bool tracking = config_.dirty_tracking;
  if (scratch_present_) {
    if (tracking) VMM_CHECK(memory_.set_dirty_tracking(kRamBase, false).ok(), "RAM tracking off");
    const Status status = memory_.remove(kScratchBase);
    if (status.ok()) scratch_present_ = false;
    return status.code();
  }
  const Status status = memory_.add_ram(kScratchBase, kScratchSize);
  if (!status.ok()) return status.code();
  scratch_present_ = true;
  if (tracking) {
    VMM_CHECK(memory_.set_dirty_tracking(kScratchBase, true).ok() &&
                  memory_.set_dirty_tracking(kRamBase, true).ok(),
              "tracking on again");
  }
  return ErrorCode::kOk;
}

std::vector<uint64_t> Executor::take_dirty_pages() {
  std::vector<uint64_t> pages;
  for (const uint64_t base : {kRamBase, kScratchBase}) {
    const Result<std::vector<uint64_t>> words = memory_.take_dirty(base);
    if (!words.ok()) continue;  // tracking off, or the scratch region is gone
    for (size_t w = 0; w < words.value().size(); ++w) {
      for (uint64_t bits = words.value()[w]; bits != 0; bits &= bits - 1) {
        pages.push_back(base + (w * 64 + static_cast<unsigned>(std::countr_zero(bits))) * 4096);
      }
    }
  }
  return pages;
}

vmmem::mmu::TranslationContext Executor::context() const {
  // The way a hart's csrw satp sets it: through the register's value.
  const vmmem::mmu::Satp satp{config_.mode, kSpaceAsids[space_], spaces_[space_].root_ppn()};
  const auto decoded = vmmem::mmu::Satp::from_raw(satp.raw());
  VMM_CHECK(decoded == satp, "satp does not survive encoding and decoding");
  return {decoded, privilege_, sum_, mxr_};
}

ErrorCode Executor::map(const Map& op) {
  if ((op.flags & pte::kGlobal) == 0)
    return spaces_[space_].map(op.va, op.pa, op.size, op.flags).code();
  // A global page goes into every address space, or into none.
  uint64_t tables = 0;
  for (PageTableBuilder& space : spaces_) {
    const Result<unsigned> plan = space.plan_map(op.va, op.pa, op.size, op.flags);
    if (!plan.ok()) return plan.status().code();
    tables += plan.value();
  }
  if (tables > frames_.available()) return ErrorCode::kOutOfMemory;
  // Address spaces share no tables unless CorruptPte made them; then a map into one can
  // change what the next finds, and the first refusal ends the op (earlier spaces keep the
  // page).
  note_global_leaf(op.flags);
  for (PageTableBuilder& space : spaces_) {
    if (const Status status = space.map(op.va, op.pa, op.size, op.flags); !status.ok()) {
      return status.code();
    }
  }
  return ErrorCode::kOk;
}

void Executor::note_global_leaf(uint64_t flags) {
  const bool settable =
      (flags & pte::kAccessed) == 0 || ((flags & pte::kWrite) != 0 && (flags & pte::kDirty) == 0);
  if (config_.ad_policy == AdPolicy::kUpdate && settable) global_copies_may_differ_ = true;
}

ErrorCode Executor::change_leaf(uint64_t va, std::optional<uint8_t> protect_flags) {
  // The current space's builder judges a protect (the flags, then the leaf), so its refusals
  // are what the model checks; G stays, so the leaf found first still tells a global page.
  const Result<vmmem::mmu::LeafLocation> leaf = spaces_[space_].find_leaf(va);
  if (protect_flags) {
    if (const Status s = spaces_[space_].protect(va, *protect_flags); !s.ok()) return s.code();
  } else if (!leaf.ok()) {
    return leaf.status().code();
  }
  const bool global = (leaf.value().entry & pte::kGlobal) != 0;
  if (global && protect_flags) note_global_leaf(*protect_flags);
  for (unsigned slot = 0; slot < kSpaces; ++slot) {
    if (slot != space_ && !global) continue;
    PageTableBuilder& space = spaces_[slot];
    if (!protect_flags) {
      (void)space.unmap(va);
    } else if (slot != space_) {
      (void)space.protect(va, *protect_flags);
    }
  }
  if (config_.coherent) {
    mmu_.flush(global ? FlushRequest{FlushKind::kAddress, va}
                      : FlushRequest{FlushKind::kAddressAsid, va, kSpaceAsids[space_]});
  }
  return ErrorCode::kOk;
}

ErrorCode Executor::corrupt(const CorruptPte& op) {
  const Result<uint64_t> address = spaces_[space_].pte_address(op.va, op.level);
  if (!address.ok()) return address.status().code();
  // Through GuestMemory's atomic access, which marks the page dirty like any guest store.
  const Result<uint64_t> old =
      memory_.load_atomic<uint64_t>(address.value(), std::memory_order_acquire);
  if (!old.ok()) return ErrorCode::kUnmapped;
  VMM_CHECK(
      memory_
          .store_atomic<uint64_t>(address.value(), old.value() ^ op.bits, std::memory_order_release)
          .ok(),
      "a PTE just read refused a store");
  tables_corrupted_ = true;
  if (config_.coherent) flush_all();
  return ErrorCode::kOk;
}

Outcome Executor::access(uint64_t va, unsigned size, Access kind, std::optional<uint64_t> value) {
  Outcome outcome;
  outcome.fault =
      value ? mmu_.store_scalar(va, size, *value) : mmu_.load_scalar(va, size, &outcome.value);
  outcome.cause = vmmem::mmu::exception_cause(outcome.fault, kind);
  if (!record_addresses_) return outcome;
  if (outcome.fault == Fault::kNone || outcome.fault == Fault::kPhysicalAccessFault) {
    outcome.pa = mmu_.translate(va, kind).pa;
    outcome.pa_last = mmu_.translate(va + (size - 1), kind).pa;
    if (value && config_.coherent && outcome.fault == Fault::kNone &&
        (tables_corrupted_ || in_frames(outcome.pa) || in_frames(outcome.pa_last))) {
      tables_corrupted_ = true;
      flush_all();
    }
  }
  return outcome;
}

Outcome Executor::operator()(const Op& op) {
  Outcome outcome = perform(op);
  if (posted_ticket_ != 0) check_posted_flush(op);
  if (config_.dirty_tracking && record_addresses_) outcome.dirty_pages = take_dirty_pages();
  return outcome;
}

void Executor::check_posted_flush(const Op& op) {
  // Every translation of the owner (a load or store translates; so does a batch that is not
  // empty) first applies what was posted and completes its ticket; nothing else does.
  const bool translated = std::holds_alternative<Translate>(op) ||
                          std::holds_alternative<Load>(op) || std::holds_alternative<Store>(op) ||
                          (std::holds_alternative<Batch>(op) && std::get<Batch>(op).count != 0);
  const bool just_posted = std::holds_alternative<Flush>(op);
  const bool done = mmu_.shootdown().wait_for(posted_ticket_, std::chrono::nanoseconds{0});
  if (done != (translated && !just_posted) && mailbox_status_.ok()) {
    mailbox_status_ =
        Status::error(ErrorCode::kBrokenInvariant,
                      done ? "shootdown: a posted flush completed before the owner translated"
                           : "shootdown: a translation left a posted flush pending");
  }
  if (done) posted_ticket_ = 0;
}

Outcome Executor::perform(const Op& op) {
  return std::visit(
      [this](const auto& o) -> Outcome {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Map>) {
          return {map(o)};
        } else if constexpr (std::is_same_v<T, Unmap>) {
          return {change_leaf(o.va, std::nullopt)};
        } else if constexpr (std::is_same_v<T, Protect>) {
          return {change_leaf(o.va, o.flags)};
        } else if constexpr (std::is_same_v<T, SetAsid>) {
          space_ = o.space % kSpaces;
          mmu_.set_context(context());
          if (config_.coherent && (tables_corrupted_ || global_copies_may_differ_)) flush_all();
          return {};
        } else if constexpr (std::is_same_v<T, SetPrivilege>) {
          privilege_ = o.privilege;
          sum_ = o.sum;
          mxr_ = o.mxr;
          mmu_.set_context(context());
          return {};
        } else if constexpr (std::is_same_v<T, Translate>) {
          const Translation t = mmu_.translate(o.va, o.access);
          return {ErrorCode::kOk, t.fault, vmmem::mmu::exception_cause(t.fault, o.access), t.pa};
        } else if constexpr (std::is_same_v<T, Load>) {
          return access(o.va, o.size, Access::kLoad, std::nullopt);
        } else if constexpr (std::is_same_v<T, Store>) {
          return access(o.va, o.size, Access::kStore, o.value);
        } else if constexpr (std::is_same_v<T, Flush>) {
          const FlushRequest request{o.kind, o.va, o.asid, o.length};
          if (config_.remote_flushes) {
            posted_ticket_ = mmu_.shootdown().post(request);  // applied at the next translation
            return {};
          }
          const uint64_t fallbacks = mmu_.counters().range_fallbacks;
          mmu_.flush(request);
          Outcome outcome;
          outcome.fell_back = mmu_.counters().range_fallbacks != fallbacks;
          return outcome;
        } else if constexpr (std::is_same_v<T, Batch>) {
          batch_addresses_.resize(o.count);
          for (unsigned i = 0; i < o.count; ++i)
            batch_addresses_[i] = o.va + static_cast<uint64_t>(int64_t{o.stride} * i);
          Outcome outcome;
          outcome.batch_size = o.count;
          mmu_.translate_batch(batch_addresses_, o.access, outcome.batch);
          return outcome;
        } else if constexpr (std::is_same_v<T, CorruptPte>) {
          return {corrupt(o)};
        } else {
          return {toggle_scratch()};
        }
      },
      op);
}

Status Executor::check() const {
  if (!mailbox_status_.ok()) return mailbox_status_;
  if (Status s = memory_.check(); !s.ok()) return s;
  if (Status s = frames_.check(); !s.ok()) return s;
  if (!tables_corrupted_) {
    for (const PageTableBuilder& space : spaces_) {
      const unsigned top = vmmem::mmu::levels(space.mode());
      if (Status s = check_no_freed_tables(space.root(), top - 1); !s.ok()) return s;
    }
  }
  return mmu_.check();
}

VMM_NO_FUZZ_TRACING Status Executor::check_no_freed_tables(uint64_t table, unsigned level) const {
  // The whole table in one checked read (a table outside RAM has nothing to check).
  std::array<uint64_t, 512> entries;
  if (!memory_.read(table, std::as_writable_bytes(std::span(entries))).ok()) return kOkStatus;
  for (uint64_t i = 0; i < entries.size(); ++i) {
    const uint64_t entry = vmmem::mmu::PteMemory::load(&entries[i]);
    if ((entry & pte::kValid) == 0 || pte::is_leaf(entry)) continue;
    const uint64_t next = pte::ppn(entry) << vmmem::mmu::kPageShift;
    if (frames_.owns(next) && !frames_.in_use(next)) {
      return Status::error(ErrorCode::kBrokenInvariant, "page tables point to a freed frame",
                           table + 8 * i, next);
    }
    if (level > 0) {
      if (Status s = check_no_freed_tables(next, level - 1); !s.ok()) return s;
    }
  }
  return kOkStatus;
}

std::optional<std::string> verify(const Config& config, std::span<const Op> ops,
                                  size_t checkpoint_every) {
  Executor executor(config);
  Model model(config);
  ModelChecker<Model, Executor> checker(model, executor, checkpoint_every);
  scenario::run(ops, executor, checker);
  checker.finish();
  return checker.failure();
}

}  // namespace vmmem::scenario::mmu
