// ShootdownMailbox: how other threads ask a vCPU to flush its TLB. A requester posts a
// FlushRequest and gets a ticket; the owner applies queued requests before its next
// translation (or when it calls Mmu::service_shootdowns) and then marks their tickets done;
// wait(ticket) blocks the requester until then (wait_for gives up after a timeout: a requester
// need not hang on an owner that stopped translating).
//
// The owner's fast path asks no question at all: it looks its TLB entry up in the table the
// mailbox names. While the owner is caught up that is the owner's own main table; post() and
// mark_stale() (the Mmu calls it when guest memory's regions change) swap in a table of
// entries that deny every access, so the next access fails its compare, takes the slow path and
// catches up, and the owner names its own table again when it arms. The lookup, which needs a
// table base anyway, costs one load and no compare or branch of its own.
//
// Thread safety: post, mark_stale, wait and wait_for from any thread; arm, take and complete from
// the owner only.
//
// Invariants:
//   1. completed_ <= issued_; tickets are issued in order 1, 2, ... and completed in order.
//   2. table_ is the stale table whenever queue_ holds a request posted after the owner's last
//      arm(): post() stores it after queueing, and the owner arms before it takes the queue, so
//      a request is either taken by that take() or leaves the stale table behind for the next
//      access.
//   3. table_ is the owner's main table, the stale table or the closed table; the last two
//      hold kMaxMainEntries empty entries each (every compare word kDenied) and never change.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "mmu/tlb.h"

namespace vmmem::mmu {

struct FlushRequest {
  FlushKind kind = FlushKind::kAll;
  uint64_t va = 0;
  uint16_t asid = 0;
  uint64_t length = 0;  // range kinds only
};

class ShootdownMailbox {
 public:
  // Queues a request; the ticket to wait for.
  uint64_t post(const FlushRequest& request);
  // Blocks until the owner has applied every request up to `ticket`.
  void wait(uint64_t ticket);
  // Whether the owner applied every request up to `ticket` within `timeout`.
  bool wait_for(uint64_t ticket, std::chrono::nanoseconds timeout);

  // Owner side: the table the fast path looks entries up in (see above).
  const TlbEntry* fast_table() const { return table_.load(std::memory_order_acquire); }
  // Whether a request was posted, or mark_stale() called, since the last arm().
  bool stale() const { return fast_table() == stale_table(); }
  // Called before the owner catches up (invariant 2). The fast path then uses `main_table`, or
  // nothing when it is null (the table stays closed but not stale: the Mmu's hit-counting
  // mode).
  void arm(const TlbEntry* main_table) {
    table_.store(main_table != nullptr ? main_table : closed_table(), std::memory_order_seq_cst);
  }
  // Any thread: the owner must catch up before its next translation.
  void mark_stale() { table_.store(stale_table(), std::memory_order_seq_cst); }
  // Takes the queued requests and the last ticket among them.
  std::vector<FlushRequest> take(uint64_t* last_ticket);
  void complete(uint64_t ticket);

 private:
  // Two tables of empty entries side by side (invariant 3).
  static const TlbEntry kDeniedTables[2 * kMaxMainEntries];
  static const TlbEntry* stale_table() { return kDeniedTables; }
  static const TlbEntry* closed_table() { return kDeniedTables + kMaxMainEntries; }

  std::atomic<const TlbEntry*> table_{stale_table()};
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<FlushRequest> queue_;  // guarded by mutex_
  uint64_t issued_ = 0;              // guarded by mutex_
  uint64_t completed_ = 0;           // guarded by mutex_
};

}  // namespace vmmem::mmu
