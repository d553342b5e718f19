#include "support/status.h"

#include <cinttypes>
#include <cstdio>

namespace vmmem {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kOverflow:
      return "overflow";
    case ErrorCode::kUnmapped:
      return "unmapped";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kDeviceError:
      return "device error";
    case ErrorCode::kOutOfMemory:
      return "out of memory";
    case ErrorCode::kBrokenInvariant:
      return "broken invariant";
    case ErrorCode::kReadOnly:
      return "read only";
  }
  return "unknown error code";
}

size_t Status::format(char* out, size_t capacity) const {
  const int length =
      ok() ? std::snprintf(out, capacity, "ok")
           : std::snprintf(out, capacity, "%.*s: %s (address 0x%" PRIx64 ", size %" PRIu64 ")",
                           static_cast<int>(to_string(code_).size()), to_string(code_).data(),
                           what_ != nullptr ? what_ : "(no description)", address_, size_);
  return length < 0 ? 0 : static_cast<size_t>(length);
}

}  // namespace vmmem
