// Status and Result<T>: how every public vmmem function reports bad input.
//
// A Status is trivially copyable and allocation-free, so returning one costs nothing on a hot
// path. It carries an ErrorCode (what kind of failure, the part a model predicts), a static
// description of what was wrong, and the two operands that make it concrete: the address and
// the size of the request that failed. message() renders all of it for people.
//
// Invariants:
//   1. ok() <=> code() == ErrorCode::kOk; an ok Status has no description and zero operands.
//   2. A Result<T> holds a value exactly when its status is ok.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "support/check.h"

namespace vmmem {

enum class ErrorCode : uint8_t {
  kOk = 0,
  kInvalidArgument,  // malformed request: zero or misaligned size, unsupported access width
  kOverflow,         // address arithmetic would wrap past 2^64
  kUnmapped,         // no region backs (part of) the address range
  kConflict,         // the request collides with existing state, e.g. overlapping regions
  kNotFound,         // the named object (region, slot) does not exist
  kUnsupported,      // a valid request this subsystem refuses, e.g. bulk access to MMIO
  kDeviceError,      // a device callback refused the access
  kOutOfMemory,      // a configured budget or the host ran out of memory
  kBrokenInvariant,  // check() found internal state that contradicts a documented invariant
  kReadOnly,         // a write to something that may only be read, e.g. guest ROM
};

std::string_view to_string(ErrorCode code);

class [[nodiscard]] Status {
 public:
  constexpr Status() = default;

  // REQUIRES: code != kOk; `what` has static storage duration.
  static constexpr Status error(ErrorCode code, const char* what, uint64_t address = 0,
                                uint64_t size = 0) {
    return Status(code, what, address, size);
  }

  constexpr bool ok() const { return code_ == ErrorCode::kOk; }
  constexpr ErrorCode code() const { return code_; }
  constexpr const char* what() const { return what_; }
  constexpr uint64_t address() const { return address_; }
  constexpr uint64_t size() const { return size_; }

  // "unmapped: no region backs the access (address 0x1000, size 8)"; "ok" when ok.
  std::string message() const {
    char text[kMessageCapacity];
    format(text, sizeof text);
    return text;
  }
  // message() without a heap allocation, for code that may not allocate (the allocator's own
  // reports): written into `out` as snprintf writes, so cut short to fit `capacity` bytes
  // (kMessageCapacity always fits). Returns the length of the whole message.
  size_t format(char* out, size_t capacity) const;
  static constexpr size_t kMessageCapacity = 256;

  friend constexpr bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.address_ == b.address_ && a.size_ == b.size_;
  }

 private:
  constexpr Status(ErrorCode code, const char* what, uint64_t address, uint64_t size)
      : code_(code), what_(what), address_(address), size_(size) {}

  ErrorCode code_ = ErrorCode::kOk;
  const char* what_ = nullptr;
  uint64_t address_ = 0;
  uint64_t size_ = 0;
};

inline constexpr Status kOkStatus{};

// A value or the Status that explains why there is none. T must be default-constructible.
template <class T>
class [[nodiscard]] Result {
 public:
  constexpr Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  constexpr Result(Status status) : status_(status) {      // NOLINT: implicit by design
    VMM_CHECK(!status.ok(), "a Result built from a Status needs an error");
  }

  constexpr bool ok() const { return status_.ok(); }
  constexpr const Status& status() const { return status_; }

  // REQUIRES: ok().
  constexpr const T& value() const& {
    VMM_CHECK(ok(), "value() of a failed Result");
    return value_;
  }
  constexpr T& value() & {
    VMM_CHECK(ok(), "value() of a failed Result");
    return value_;
  }
  // Moves the value out of a temporary, so a move-only T (a unique_ptr) can be taken with
  // create(...).value().
  constexpr T&& value() && {
    VMM_CHECK(ok(), "value() of a failed Result");
    return std::move(value_);
  }
  constexpr T value_or(T fallback) const { return ok() ? value_ : fallback; }

 private:
  T value_{};
  Status status_{};
};

}  // namespace vmmem
