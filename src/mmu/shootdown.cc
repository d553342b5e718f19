#include "mmu/shootdown.h"

namespace vmmem::mmu {

constinit const TlbEntry ShootdownMailbox::kDeniedTables[2 * kMaxMainEntries] = {};

uint64_t ShootdownMailbox::post(const FlushRequest& request) {
  std::lock_guard lock(mutex_);
  queue_.push_back(request);
  mark_stale();
  return ++issued_;
}

void ShootdownMailbox::wait(uint64_t ticket) {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return completed_ >= ticket; });
}

bool ShootdownMailbox::wait_for(uint64_t ticket, std::chrono::nanoseconds timeout) {
  std::unique_lock lock(mutex_);
  return done_.wait_for(lock, timeout, [&] { return completed_ >= ticket; });
}

std::vector<FlushRequest> ShootdownMailbox::take(uint64_t* last_ticket) {
  std::lock_guard lock(mutex_);
  std::vector<FlushRequest> taken;
  taken.swap(queue_);
  *last_ticket = issued_;
  return taken;
}

void ShootdownMailbox::complete(uint64_t ticket) {
  {
    std::lock_guard lock(mutex_);
    if (ticket > completed_) completed_ = ticket;
  }
  done_.notify_all();
}

}  // namespace vmmem::mmu
