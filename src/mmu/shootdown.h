// ShootdownMailbox: how other threads ask a vCPU to flush its TLB. A requester posts a
// FlushRequest and gets a ticket; the owner applies queued requests before its next
// translation (or when it calls Mmu::service_shootdowns) and then marks their tickets done;
// wait(ticket) blocks the requester until then.
//
// Thread safety: post and wait from any thread; take and complete from the owner only.
//
// Invariants:
//   1. completed_ <= issued_; tickets are issued in order 1, 2, ... and completed in order.
//   2. pending_ is true whenever queue_ is non-empty (it may briefly stay true after the owner
//      took the queue; the owner then finds nothing to do).
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

  // Owner side: whether anything may be queued (one relaxed-cost load on the hot path).
  bool pending() const { return pending_.load(std::memory_order_acquire); }
  // Takes the queued requests and the last ticket among them.
  std::vector<FlushRequest> take(uint64_t* last_ticket);
  void complete(uint64_t ticket);

 private:
  std::atomic<bool> pending_{false};
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<FlushRequest> queue_;  // guarded by mutex_
  uint64_t issued_ = 0;              // guarded by mutex_
  uint64_t completed_ = 0;           // guarded by mutex_
};

}  // namespace vmmem::mmu
