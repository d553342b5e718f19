// outcome_kind: "Alloc: ok", "BadFree: conflict", ... for RC_TAG (see common/outcome_tag.h).
#pragma once

#include <string>

#include "scenario/alloc/ops.h"
#include "scenario/alloc/outcome.h"
#include "scenario/common/outcome_tag.h"

namespace vmmem::scenario::alloc {

inline std::string outcome_kind(const Op& op, const Outcome& outcome) {
  const std::string description = describe(op);
  return outcome_tag(op_name(description), outcome.code);
}

}  // namespace vmmem::scenario::alloc
