#include "scenario/alloc/remote_freer.h"

namespace vmmem::scenario::alloc {

RemoteFreer::RemoteFreer() : thread_([this] { serve(); }) {}

RemoteFreer::~RemoteFreer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void RemoteFreer::free(vmmem::alloc::Allocator& allocator, void* block) {
  std::unique_lock lock(mutex_);
  allocator_ = &allocator;
  block_ = block;
  pending_ = true;
  changed_.notify_all();
  changed_.wait(lock, [this] { return !pending_; });
}

void RemoteFreer::serve() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return pending_ || stopping_; });
    if (stopping_) return;
    allocator_->deallocate(block_);
    pending_ = false;
    changed_.notify_all();
  }
}

}  // namespace vmmem::scenario::alloc
