#include "scenario/common/reusable_bytes.h"

#include <algorithm>
#include <utility>

namespace vmmem::scenario {
namespace {

// Enough for every buffer one executor and one model hold at once.
constexpr size_t kPoolLimit = 8;

std::vector<std::vector<std::byte>>& thread_pool() {
  thread_local std::vector<std::vector<std::byte>> pool;
  return pool;
}

}  // namespace

ReusableBytes::ReusableBytes() {
  auto& pool = thread_pool();
  if (!pool.empty()) {
    storage_ = std::move(pool.back());
    pool.pop_back();
  }
}

ReusableBytes::~ReusableBytes() {
  auto& pool = thread_pool();
  if (pool.size() < kPoolLimit && !storage_.empty()) pool.push_back(std::move(storage_));
}

ReusableBytes::ReusableBytes(const ReusableBytes& other) : ReusableBytes() {
  *this = other;
}

ReusableBytes& ReusableBytes::operator=(const ReusableBytes& other) {
  if (this != &other) std::ranges::copy(other.view(), resize(other.size_).begin());
  return *this;
}

std::span<std::byte> ReusableBytes::resize(size_t size) {
  if (storage_.size() < size) storage_.resize(size);
  size_ = size;
  return view();
}

}  // namespace vmmem::scenario
