#include "shim/shim_options.h"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace vmmem::shim {
namespace {

constexpr const char* kAccepted = "hardened, stats, purge=eager|delayed|never, purge_delay=N";

bool equals(const char* word, size_t length, const char* name) {
  return std::strlen(name) == length && std::memcmp(word, name, length) == 0;
}

bool parse_count(const char* text, size_t length, uint32_t* out) {
  if (length == 0 || length > 9) return false;
  uint32_t value = 0;
  for (size_t i = 0; i < length; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + static_cast<uint32_t>(text[i] - '0');
  }
  *out = value;
  return true;
}

bool parse_word(const char* word, size_t length, ShimOptions* options) {
  if (equals(word, length, "hardened")) {
    options->hardened = true;
    return true;
  }
  if (equals(word, length, "stats")) {
    options->stats = true;
    return true;
  }
  const char* equals_sign = static_cast<const char*>(std::memchr(word, '=', length));
  if (equals_sign == nullptr) return false;
  const size_t name_length = static_cast<size_t>(equals_sign - word);
  const char* value = equals_sign + 1;
  const size_t value_length = length - name_length - 1;
  if (equals(word, name_length, "purge")) {
    if (equals(value, value_length, "eager")) {
      options->purge = alloc::PurgePolicy::kEager;
    } else if (equals(value, value_length, "delayed")) {
      options->purge = alloc::PurgePolicy::kDelayed;
    } else if (equals(value, value_length, "never")) {
      options->purge = alloc::PurgePolicy::kNever;
    } else {
      return false;
    }
    return true;
  }
  if (equals(word, name_length, "purge_delay"))
    return parse_count(value, value_length, &options->purge_delay);
  return false;
}

}  // namespace

bool parse_shim_options(const char* text, ShimOptions* options, char* error, size_t error_size) {
  if (error_size > 0) error[0] = '\0';
  *options = ShimOptions{};
  if (text == nullptr) return true;
  for (const char* word = text;;) {
    const char* end = std::strchr(word, ',');
    const size_t length = end != nullptr ? static_cast<size_t>(end - word) : std::strlen(word);
    if (length > 0 && !parse_word(word, length, options)) {
      std::snprintf(error, error_size, "%s: bad option '%.*s' in \"%s\" (accepted: %s)",
                    kOptionsVariable, static_cast<int>(length), word, text, kAccepted);
      return false;
    }
    if (end == nullptr) return true;
    word = end + 1;
  }
}

uint64_t purge_clock_milliseconds() {
  // The coarse clock is a vDSO read of the last tick (1-4 ms resolution), plenty for a delay of
  // milliseconds and cheaper than the precise one.
  timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

alloc::Options allocator_options(const ShimOptions& options) {
  alloc::Options result;
  result.purge_clock = purge_clock_milliseconds;
  result.hardened = options.hardened;
  result.purge = options.purge;
  result.purge_delay = options.purge_delay;
  return result;
}

}  // namespace vmmem::shim
