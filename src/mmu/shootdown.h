// ShootdownMailbox: how other threads ask a vCPU to flush its TLB. A requester posts a
// FlushRequest and gets a ticket; the owner applies queued requests before its next
// translation (or when it calls Mmu::service_shootdowns) and then marks their tickets done;
// wait(ticket) blocks the requester until then.
//
// The owner's fast path asks one question per access: is the mailbox still armed with the token
// it last gave (arm), i.e. nothing posted since? post() replaces the token with kPosted. The Mmu
// arms with guest memory's generation, so one load and one compare answer both "no shootdown
// queued" and "guest memory's regions unchanged".
//
// Thread safety: post and wait from any thread; arm, take and complete from the owner only.
//
// Invariants:
//   1. completed_ <= issued_; tickets are issued in order 1, 2, ... and completed in order.
//   2. token_ is kPosted whenever queue_ holds a request posted after the owner's last arm():
//      post() stores kPosted after queueing, and the owner arms before it takes the queue, so a
//      request is either taken by that take() or leaves kPosted behind for the next access.
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

  // Never a token the owner arms with (GuestMemory never issues generation 0).
  static constexpr uint64_t kPosted = 0;

  // Owner side: whether the mailbox still holds `token`, i.e. nothing was posted since
  // arm(token) (one load on the hot path).
  bool armed_with(uint64_t token) const { return token_.load(std::memory_order_acquire) == token; }
  // REQUIRES: token != kPosted. Call before take(): see invariant 2.
  void arm(uint64_t token) { token_.store(token, std::memory_order_seq_cst); }
  // Takes the queued requests and the last ticket among them.
  std::vector<FlushRequest> take(uint64_t* last_ticket);
  void complete(uint64_t ticket);

 private:
  std::atomic<uint64_t> token_{kPosted};
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<FlushRequest> queue_;  // guarded by mutex_
  uint64_t issued_ = 0;              // guarded by mutex_
  uint64_t completed_ = 0;           // guarded by mutex_
};

}  // namespace vmmem::mmu
