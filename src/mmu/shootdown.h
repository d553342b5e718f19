// ShootdownMailbox: how other threads ask a vCPU to flush its TLB. A requester posts a
// FlushRequest and gets a ticket; the owner applies queued requests before its next
// translation (or when it calls Mmu::service_shootdowns) and then marks their tickets done;
// wait(ticket) blocks the requester until then.
//
// The owner's fast path asks one question per access: is the mailbox still armed, i.e. has
// nothing been posted (and nothing else made the owner's TLB stale) since the owner last caught
// up? post() and mark_stale() (the Mmu calls it when guest memory's regions change) leave the
// state kStale; the owner arms again after it caught up.
//
// Thread safety: post, mark_stale and wait from any thread; arm, take and complete from the owner
// only.
//
// Invariants:
//   1. completed_ <= issued_; tickets are issued in order 1, 2, ... and completed in order.
//   2. state_ is kStale whenever queue_ holds a request posted after the owner's last arm():
//      post() stores kStale after queueing, and the owner arms before it takes the queue, so a
//      request is either taken by that take() or leaves kStale behind for the next access.
#pragma once

#include <atomic>
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

  // Owner side: whether the TLB may be used without catching up (one load and a compare with
  // a constant on the hot path).
  bool armed() const { return state_.load(std::memory_order_acquire) == kArmed; }
  // Whether a request was posted, or mark_stale() called, since the last arm().
  bool stale() const { return state_.load(std::memory_order_acquire) == kStale; }
  // Called before the owner catches up (invariant 2). fast = false leaves the fast path closed
  // but the state not stale (the Mmu's hit-counting mode).
  void arm(bool fast) { state_.store(fast ? kArmed : kClosed, std::memory_order_seq_cst); }
  // Any thread: the owner must catch up before its next translation.
  void mark_stale() { state_.store(kStale, std::memory_order_seq_cst); }
  // Takes the queued requests and the last ticket among them.
  std::vector<FlushRequest> take(uint64_t* last_ticket);
  void complete(uint64_t ticket);

 private:
  enum State : uint8_t { kStale, kArmed, kClosed };
  std::atomic<uint8_t> state_{kStale};
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<FlushRequest> queue_;  // guarded by mutex_
  uint64_t issued_ = 0;              // guarded by mutex_
  uint64_t completed_ = 0;           // guarded by mutex_
};

}  // namespace vmmem::mmu
