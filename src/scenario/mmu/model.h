// Model: the judge of the mmu scenario. It keeps its own image of guest RAM (a map of 8-byte
// words), its own page-table editing (the builder's documented rules, written again) and the
// reference walker (reference_walker.h), and judges each outcome of the real MMU:
//   - builder ops, context changes and flushes: the exact error code;
//   - coherent mode: every translation, load and store equals the reference walk of the
//     current tables, faults included;
//   - relaxed mode: a fault must be the reference's (faults are never cached); a successful
//     translation that differs from the reference is accepted only if some earlier state of
//     the tables gave exactly that translation (in the current address space, or a global one
//     in another) and that state was still current after the last flush covering the entry
//     (sfence.vma's rules: ASID flushes keep globals, address flushes take every entry whose
//     leaf covers the address). Earlier states come from an undo log of every word the
//     scenario changed, tagged with the op that changed it;
//   - under Config::dirty_tracking, after every op: the dirty pages are exactly the tracked
//     pages written since the last op (every guest store, PTE write, A/D update and zeroed
//     table frame, whether or not the bytes changed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scenario/mmu/layout.h"
#include "scenario/mmu/ops.h"
#include "scenario/mmu/outcome.h"
#include "scenario/mmu/reference_walker.h"

namespace vmmem::scenario::mmu {

class Model {
 public:
  explicit Model(const Config& config);

  // A complaint when `actual` is not what the MMU may do for op; updates the model either way.
  std::optional<std::string> judge(const Op& op, const Outcome& actual);

 private:
  static constexpr int64_t kNow = INT64_MAX;  // the version "the current tables"

  struct FlushRecord {
    int64_t epoch;
    FlushKind kind;
    uint64_t va;
    uint16_t asid;
    uint64_t length;
  };

  bool is_ram(uint64_t pa, int64_t version = kNow) const;
  bool scratch_present_at(int64_t version) const;
  std::optional<uint64_t> word_at(uint64_t address, int64_t version) const;
  uint64_t word(uint64_t address) const;
  // Every write goes through set_word, which marks the page when its region is tracked.
  void set_word(uint64_t address, uint64_t value);
  bool tracked(uint64_t pa) const;
  std::optional<std::string> judge_dirty(const Outcome& actual);
  void zero_words(uint64_t base, uint64_t size);
  uint8_t byte(uint64_t pa) const;
  void set_byte(uint64_t pa, uint8_t value);

  // Page-table editing in address space `slot`, as the builder documents it.
  ErrorCode plan_map(unsigned slot, const Map& op, unsigned* missing) const;
  void do_map(unsigned slot, const Map& op);
  ErrorCode map(const Map& op);
  // The leaf's PTE address or the error.
  ErrorCode find_leaf(unsigned slot, uint64_t va, uint64_t* address) const;
  ErrorCode change_leaf(uint64_t va, std::optional<uint8_t> protect_flags);
  ErrorCode corrupt(const CorruptPte& op);
  ErrorCode toggle_scratch();
  // Table frames as the FrameAllocator documents them: the most recently freed first, then
  // the next never-used one.
  uint64_t allocate_frame();
  uint64_t frames_left() const;
  // After an unmap in `slot`: frees the tables on va's walk that it left all zeros, from the
  // leaf's table up (never the root, only frames handed out and not freed), clearing their
  // pointers, as the builder documents.
  void reclaim_tables(unsigned slot, uint64_t va);

  ReferenceResult walk(unsigned slot, uint64_t va, Access access, int64_t version);
  // Whether a successful translation of va to pa is one the TLB may still hold.
  bool stale_allowed(uint64_t va, Access access, uint64_t pa);
  // Whether a Flush applied now is a range flush over more pages than the TLB's range limit,
  // which flushes everything (or the whole ASID) instead.
  bool falls_back(const Flush& op) const;
  // The exception code the outcome carries, against the spec's table (written again here).
  static std::optional<std::string> judge_cause(const Outcome& actual, Access access);
  std::optional<std::string> judge_translation(uint64_t va, Access access,
                                               const Translation& actual);
  std::optional<std::string> judge_access(uint64_t va, unsigned size, Access access,
                                          std::optional<uint64_t> value, const Outcome& actual);
  // The last flush at or before now that covers an entry for [leaf_base, leaf_base + size)
  // filled under asid with global flag `global`; -1 when none.
  int64_t last_covering_flush(uint64_t leaf_base, uint64_t size, uint16_t asid, bool global) const;

  Config config_;
  Mode table_mode_;
  std::map<uint64_t, uint64_t> words_;  // 8-byte aligned address -> value; absent reads 0
  // Per word, the values it held before each change: (epoch of the change, old value).
  std::map<uint64_t, std::vector<std::pair<int64_t, uint64_t>>> history_;
  std::vector<int64_t> change_epochs_;  // ascending, distinct: when any word or region changed
  std::vector<FlushRecord> flushes_;
  std::vector<std::pair<int64_t, bool>> scratch_toggles_;  // epoch, present afterwards
  std::vector<uint64_t> roots_;
  uint64_t next_frame_ = kFrameBase;
  std::vector<uint64_t> free_frames_;
  int64_t epoch_ = 0;
  unsigned space_ = 0;
  Privilege privilege_ = Privilege::kSupervisor;
  bool sum_ = false;
  bool mxr_ = false;
  bool scratch_present_ = true;
  std::set<uint64_t> dirty_;  // tracked pages written during the current op
};

}  // namespace vmmem::scenario::mmu
