// PageQueue: an intrusive doubly-linked list of pages (through Page::next / Page::prev), used
// for a heap's per-class queues, its full list, its large-block list and its free-span bins.
// A page is on at most one queue at a time; the owner thread alone touches a queue.
#pragma once

#include <cstddef>

#include "alloc/page.h"

namespace vmmem::alloc {

struct PageQueue {
  Page* first = nullptr;
  Page* last = nullptr;

  bool empty() const { return first == nullptr; }

  void push_front(Page* page) {
    page->prev = nullptr;
    page->next = first;
    if (first != nullptr) first->prev = page;
    first = page;
    if (last == nullptr) last = page;
  }

  void push_back(Page* page) {
    page->next = nullptr;
    page->prev = last;
    if (last != nullptr) last->next = page;
    last = page;
    if (first == nullptr) first = page;
  }

  void remove(Page* page) {
    if (page->prev != nullptr)
      page->prev->next = page->next;
    else
      first = page->next;
    if (page->next != nullptr)
      page->next->prev = page->prev;
    else
      last = page->prev;
    page->next = page->prev = nullptr;
  }

  size_t size() const {
    size_t n = 0;
    for (const Page* p = first; p != nullptr; p = p->next)
      ++n;
    return n;
  }
};

}  // namespace vmmem::alloc
