// outcome_kind: "AddRam: ok", "Read: ok (device)", "WriteBulk: unmapped", ... for RC_TAG and
// OutcomeDistribution (see common/outcome_tag.h). An op that reached an MMIO device is marked,
// so the RAM and device paths of the same op count apart.
#pragma once

#include <string>

#include "scenario/common/outcome_tag.h"
#include "scenario/mem/ops.h"
#include "scenario/mem/outcome.h"

namespace vmmem::scenario::mem {

inline std::string outcome_kind(const Op& op, const Outcome& outcome) {
  const std::string description = describe(op);
  std::string tag = outcome_tag(op_name(description), outcome.code);
  if (!outcome.device_calls.empty()) tag += " (device)";
  return tag;
}

}  // namespace vmmem::scenario::mem
