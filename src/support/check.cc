#include "support/check.h"

#include <cstdio>
#include <cstdlib>

namespace vmmem::detail {

void check_failed(const char* file, int line, const char* condition, const char* message) {
  std::fprintf(stderr, "%s:%d: VMM_CHECK(%s) failed: %s\n", file, line, condition, message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace vmmem::detail
