// outcome_kind: "New: ok", "Store: invalid argument", ... for RC_TAG (see common/outcome_tag.h).
// A New refused for its shape or size is told apart from one refused for another reason, so the
// distribution shows each bad-input path.
#pragma once

#include <string>

#include "scenario/common/outcome_tag.h"
#include "scenario/gc/ops.h"
#include "scenario/gc/outcome.h"

namespace vmmem::scenario::gc {

inline std::string outcome_kind(const Op& op, const Outcome& outcome) {
  const std::string description = describe(op);
  std::string tag = outcome_tag(op_name(description), outcome.code);
  if (const auto* made = std::get_if<New>(&op);
      made != nullptr && made->shape < kShapeCount && outcome.code == ErrorCode::kOk)
    tag += is_array(made->shape) ? " (array)" : " (fixed)";
  return tag;
}

}  // namespace vmmem::scenario::gc
