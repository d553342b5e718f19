// MarkStack: the major collection's work list of marked objects whose slots are still to be
// traced. Explicit, so a million-long list is traced without recursion. One per collector
// thread: a parallel marker gives each thread its own and lets idle ones steal the bottom
// half of a busy one's (the segment API below keeps that possible).
#pragma once

#include <vector>

#include "gc/object.h"

namespace vmmem::gc {

class MarkStack {
 public:
  void push(Object* object) { items_.push_back(object); }
  // The most recently pushed object. REQUIRES: !empty().
  Object* pop() {
    Object* object = items_.back();
    items_.pop_back();
    return object;
  }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  // Largest depth reached (statistics).
  size_t capacity() const { return items_.capacity(); }

 private:
  std::vector<Object*> items_;
};

}  // namespace vmmem::gc
