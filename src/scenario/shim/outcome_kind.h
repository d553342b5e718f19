// outcome_kind: "calloc: ENOMEM", "realloc: freed", "bad freed pointer to free: reported", ...
// for the outcome distributions of the properties (see common/outcome_tag.h).
#pragma once

#include <errno.h>

#include <string>

#include "scenario/common/outcome_tag.h"
#include "scenario/shim/ops.h"
#include "scenario/shim/outcome.h"

namespace vmmem::scenario::shim {

inline std::string outcome_kind(const Op& op, const Outcome& outcome) {
  const std::string description = describe(op);
  std::string name(op_name(description));
  if (std::holds_alternative<Allocate>(op)) {
    const std::string call = description.substr(description.find('=') + 1);
    name = call.substr(0, call.find(','));
  } else if (const auto* realloc = std::get_if<Realloc>(&op)) {
    name = realloc->array ? "reallocarray" : "realloc";
    if (realloc->null_pointer) name += "(null)";
  } else if (std::holds_alternative<BadPointer>(op)) {
    const std::string fields = description.substr(description.find('{') + 1);
    name = "bad pointer " + fields.substr(0, fields.find('}'));
    if (outcome.skipped) return name + ": skipped";
    return name + (outcome.reports != 0 ? ": reported" : ": refused");
  }
  if (outcome.skipped) return name + ": skipped";
  if (std::holds_alternative<Allocate>(op) || std::holds_alternative<Realloc>(op)) {
    if (outcome.block) return name + ": ok";
    if (outcome.error == ENOMEM) return name + ": ENOMEM";
    if (outcome.error == EINVAL) return name + ": EINVAL";
    return name + (outcome.error == 0 ? ": freed" : ": error");
  }
  return name + ": ok";
}

}  // namespace vmmem::scenario::shim
