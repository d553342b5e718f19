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

std::string Status::message() const {
  if (ok()) return "ok";
  char operands[80];
  std::snprintf(operands, sizeof operands, " (address 0x%" PRIx64 ", size %" PRIu64 ")", address_,
                size_);
  std::string text(to_string(code_));
  text += ": ";
  text += what_ != nullptr ? what_ : "(no description)";
  text += operands;
  return text;
}

}  // namespace vmmem
