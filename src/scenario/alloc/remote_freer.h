// RemoteFreer: a thread that frees blocks handed to it, one at a time, while the handing thread
// waits — so a remote free (the block's segment belongs to another thread) happens at a
// definite point of a single-threaded op sequence and the model can judge it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "alloc/allocator.h"

namespace vmmem::scenario::alloc {

class RemoteFreer {
 public:
  RemoteFreer();
  ~RemoteFreer();
  RemoteFreer(const RemoteFreer&) = delete;
  RemoteFreer& operator=(const RemoteFreer&) = delete;

  // Frees `block` through `allocator` on the freer's thread and returns when it is done.
  void free(vmmem::alloc::Allocator& allocator, void* block);

 private:
  void serve();

  std::mutex mutex_;
  std::condition_variable changed_;
  vmmem::alloc::Allocator* allocator_ = nullptr;
  void* block_ = nullptr;
  bool pending_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vmmem::scenario::alloc
