// Executor: a whole guest for the mmu scenario — GuestMemory with RAM, a scratch region and a
// device, a FrameAllocator, one PageTableBuilder per address-space slot and the Mmu — that
// performs mmu ops and reports their Outcomes; the `execute` of scenario::run.
//
// In coherent mode (Config::coherent) it also does what correct software must after
// changing page tables: sfence.vma by address (and ASID, unless the leaf was global) after
// Unmap and Protect; a full flush after CorruptPte, after a store into page-table frames, and,
// once tables were corrupted (which can break the spec's rule that a global mapping is the
// same in every address space), after every store and every address-space switch. Under
// Svadu a global leaf written without A (or writable without D) breaks that rule too: the
// walk that sets the bit sets it in one address space's copy only, and a global TLB entry
// filled there would let the next space skip the update of its own copy; so once such a leaf
// was written, every address-space switch flushes.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mem/guest_memory.h"
#include "mmu/frame_allocator.h"
#include "mmu/mmu.h"
#include "mmu/page_table_builder.h"
#include "scenario/mmu/layout.h"
#include "scenario/mmu/ops.h"
#include "scenario/mmu/outcome.h"

namespace vmmem::scenario::mmu {

class Executor {
 public:
  // With record_addresses, Load and Store outcomes carry their physical addresses (one more
  // translation each, which the model needs and benches skip).
  explicit Executor(const Config& config, bool record_addresses = true);
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  Outcome operator()(const Op& op);

  vmmem::mmu::Mmu& mmu() { return mmu_; }
  mem::GuestMemory& memory() { return memory_; }
  vmmem::mmu::PageTableBuilder& space(unsigned slot) { return spaces_[slot]; }
  unsigned current_space() const { return space_; }

  // GuestMemory's, the frame allocator's and the MMU's invariant checks, and, while no table
  // was corrupted, the builder's: no table points to a frame the allocator has freed.
  Status check() const;

 private:
  vmmem::mmu::TranslationContext context() const;
  ErrorCode map(const Map& op);
  ErrorCode change_leaf(uint64_t va, std::optional<uint8_t> protect_flags);
  ErrorCode corrupt(const CorruptPte& op);
  // Notes a global leaf written with `flags`: under Svadu, walks may update its copies apart.
  void note_global_leaf(uint64_t flags);
  Outcome access(uint64_t va, unsigned size, Access access, std::optional<uint64_t> value);
  void flush_all() { mmu_.flush({vmmem::mmu::FlushKind::kAll}); }
  Outcome perform(const Op& op);
  ErrorCode toggle_scratch();
  Status check_no_freed_tables(uint64_t table, unsigned level) const;
  // With a remote flush posted and not yet seen done: whether its ticket completed exactly when
  // the owner translated (a requester in wait() neither returns early nor hangs). A mismatch
  // is kept for check().
  void check_posted_flush(const Op& op);
  // The pages the tracked regions' bitmaps hold, ascending; the bitmaps are cleared.
  std::vector<uint64_t> take_dirty_pages();

  Config config_;
  bool record_addresses_;
  mem::GuestMemory memory_;
  vmmem::mmu::FrameAllocator frames_;
  std::vector<vmmem::mmu::PageTableBuilder> spaces_;
  vmmem::mmu::Mmu mmu_;
  unsigned space_ = 0;
  Privilege privilege_ = Privilege::kSupervisor;
  bool sum_ = false;
  bool mxr_ = false;
  bool scratch_present_ = true;
  bool tables_corrupted_ = false;
  bool global_copies_may_differ_ = false;
  std::vector<uint64_t> batch_addresses_;
  uint64_t posted_ticket_ = 0;  // the last remote flush posted, until its ticket is seen done
  Status mailbox_status_ = kOkStatus;
};

// Runs ops on a fresh Executor, judging every outcome with the Model and calling check()
// every `checkpoint_every` ops and at the end. The failure report, or nullopt.
std::optional<std::string> verify(const Config& config, std::span<const Op> ops,
                                  size_t checkpoint_every = 16);

}  // namespace vmmem::scenario::mmu
