// outcome_tag: the label properties attach to each op they ran (RC_TAG), "Alloc: ok" or
// "Free: not found", so a RapidCheck run prints how often every success and error path was
// reached and a generator that stops reaching one shows at once.
#pragma once

#include <string>
#include <string_view>

#include "support/status.h"

namespace vmmem::scenario {

inline std::string outcome_tag(std::string_view op_name, ErrorCode code) {
  std::string tag(op_name);
  tag += ": ";
  tag += to_string(code);
  return tag;
}

// The op's name from its description: "Alloc{size=8, ...}" -> "Alloc".
inline std::string_view op_name(std::string_view description) {
  return description.substr(0, description.find('{'));
}

}  // namespace vmmem::scenario
