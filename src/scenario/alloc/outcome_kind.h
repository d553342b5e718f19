// outcome_kind: "Alloc: ok", "BadFree: conflict", ... for RC_TAG (see common/outcome_tag.h). A
// reallocation that kept a block says whether it stayed in place or moved: "Realloc: ok, moved";
// a free of a block whose segment its heap had given up says so (the freeing thread adopts it).
#pragma once

#include <string>

#include "scenario/alloc/ops.h"
#include "scenario/alloc/outcome.h"
#include "scenario/common/outcome_tag.h"

namespace vmmem::scenario::alloc {

inline std::string outcome_kind(const Op& op, const Outcome& outcome) {
  const std::string description = describe(op);
  std::string tag = outcome_tag(op_name(description), outcome.code);
  if (std::holds_alternative<Realloc>(op) && outcome.code == ErrorCode::kOk && outcome.address != 0)
    tag += outcome.moved ? ", moved" : ", in place";
  if (std::holds_alternative<Free>(op) && outcome.code == ErrorCode::kOk && outcome.abandoned)
    tag += ", of an abandoned segment";
  return tag;
}

}  // namespace vmmem::scenario::alloc
