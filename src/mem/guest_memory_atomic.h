// The atomic accesses of GuestMemory (declared in guest_memory.h, which includes this file at
// its end): naturally aligned RAM scalars through std::atomic_ref, little-endian in guest
// memory whatever the host's byte order.
#pragma once

#include <atomic>

namespace vmmem::mem {

constexpr bool GuestMemory::order_allowed(AtomicKind kind, std::memory_order order) {
  switch (order) {
    case std::memory_order_relaxed:
    case std::memory_order_seq_cst:
      return true;
    case std::memory_order_consume:
    case std::memory_order_acquire:
      return kind != AtomicKind::kStore;
    case std::memory_order_release:
      return kind != AtomicKind::kLoad;
    case std::memory_order_acq_rel:
      return kind == AtomicKind::kReadModifyWrite;
  }
  return false;  // not a std::memory_order value
}

namespace detail {

// The validated order as one the atomic builtins accept for that kind of operation. The
// refused orders never get here, but gcc checks the order constant after inlining, on paths
// validation has already closed too; these keep every constant it can see valid.
constexpr std::memory_order load_order(std::memory_order order) {
  if (order == std::memory_order_relaxed) return std::memory_order_relaxed;
  if (order == std::memory_order_consume || order == std::memory_order_acquire)
    return std::memory_order_acquire;
  return std::memory_order_seq_cst;
}
constexpr std::memory_order store_order(std::memory_order order) {
  if (order == std::memory_order_relaxed) return std::memory_order_relaxed;
  if (order == std::memory_order_release) return std::memory_order_release;
  return std::memory_order_seq_cst;
}
constexpr std::memory_order read_modify_write_order(std::memory_order order) {
  switch (order) {
    case std::memory_order_relaxed:
      return std::memory_order_relaxed;
    case std::memory_order_consume:
    case std::memory_order_acquire:
      return std::memory_order_acquire;
    case std::memory_order_release:
      return std::memory_order_release;
    case std::memory_order_acq_rel:
      return std::memory_order_acq_rel;
    default:
      return std::memory_order_seq_cst;
  }
}

}  // namespace detail

template <GuestScalar T>
inline Result<T*> GuestMemory::atomic_location(uint64_t address, AtomicKind kind,
                                               std::memory_order order) const {
  if (!order_allowed(kind, order)) {
    return Status::error(ErrorCode::kInvalidArgument,
                         "memory order not valid for this atomic operation", address,
                         static_cast<uint64_t>(order));
  }
  if (address % sizeof(T) != 0) {
    return Status::error(ErrorCode::kInvalidArgument, "atomic access must be naturally aligned",
                         address, sizeof(T));
  }
  std::byte* host;
  const bool in_window = kind == AtomicKind::kLoad ? scalar_in_window<T>(address, &host)
                                                   : scalar_in_window<T, true>(address, &host);
  if (!in_window) {
    Result<std::byte*> slow = atomic_location_slow(address, sizeof(T), kind != AtomicKind::kLoad);
    if (!slow.ok()) return slow.status();
    host = slow.value();
  }
  // RAM bases are page-aligned and host mappings page-aligned, so host is aligned like address.
  return reinterpret_cast<T*>(host);
}

template <GuestScalar T>
inline Result<T> GuestMemory::load_atomic(uint64_t address, std::memory_order order) const {
  Result<T*> at = atomic_location<T>(address, AtomicKind::kLoad, order);
  if (!at.ok()) return at.status();
  return from_little_endian(std::atomic_ref<T>(*at.value()).load(detail::load_order(order)));
}

template <GuestScalar T>
inline Status GuestMemory::store_atomic(uint64_t address, T value, std::memory_order order) {
  Result<T*> at = atomic_location<T>(address, AtomicKind::kStore, order);
  if (!at.ok()) return at.status();
  std::atomic_ref<T>(*at.value()).store(from_little_endian(value), detail::store_order(order));
  note_written(address, sizeof(T));
  return kOkStatus;
}

template <GuestScalar T>
inline Result<T> GuestMemory::compare_exchange(uint64_t address, T expected, T desired,
                                               std::memory_order order) {
  Result<T*> at = atomic_location<T>(address, AtomicKind::kReadModifyWrite, order);
  if (!at.ok()) return at.status();
  T found = from_little_endian(expected);
  if (std::atomic_ref<T>(*at.value())
          .compare_exchange_strong(found, from_little_endian(desired),
                                   detail::read_modify_write_order(order))) {
    note_written(address, sizeof(T));
  }
  return from_little_endian(found);
}

template <GuestScalar T>
inline Result<T> GuestMemory::fetch_add(uint64_t address, T value, std::memory_order order) {
  Result<T*> at = atomic_location<T>(address, AtomicKind::kReadModifyWrite, order);
  if (!at.ok()) return at.status();
  std::atomic_ref<T> ref(*at.value());
  T old;
  if constexpr (std::endian::native == std::endian::little) {
    old = ref.fetch_add(value, detail::read_modify_write_order(order));
  } else {
    old = ref.load(std::memory_order_relaxed);
    while (!ref.compare_exchange_weak(
        old, from_little_endian(static_cast<T>(from_little_endian(old) + value)),
        detail::read_modify_write_order(order))) {
    }
  }
  note_written(address, sizeof(T));
  return from_little_endian(old);
}

template <GuestScalar T>
inline Result<T> GuestMemory::fetch_or(uint64_t address, T value, std::memory_order order) {
  Result<T*> at = atomic_location<T>(address, AtomicKind::kReadModifyWrite, order);
  if (!at.ok()) return at.status();
  // Byte order does not matter to a bitwise or.
  const T old = std::atomic_ref<T>(*at.value())
                    .fetch_or(from_little_endian(value), detail::read_modify_write_order(order));
  note_written(address, sizeof(T));
  return from_little_endian(old);
}

}  // namespace vmmem::mem
