// Outcome: what one gc op did on the real collector. The model predicts every field, so the
// two are compared whole (operator==), except `detail`, which only explains a failure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "support/status.h"

namespace vmmem::scenario::gc {

// One object reachable from the roots, as the executor read it back from the heap.
struct ObjectView {
  uint64_t id;
  uint8_t shape;
  uint64_t len;                // element count of an array shape, else 0
  uint64_t digest;             // of the payload after the id (payload.h)
  std::vector<uint64_t> refs;  // the id each reference slot leads to, 0 for null
  friend bool operator==(const ObjectView&, const ObjectView&) = default;
};

struct Outcome {
  ErrorCode code = ErrorCode::kOk;
  uint64_t id = 0;      // New: the new object's id; Load: the id loaded (0: null)
  uint64_t digest = 0;  // ReadBytes: PayloadDigest of the bytes read
  // Minor, Major and Verify: the ids the roots hold, in root order, and every object reachable
  // from them, by id. After Major, also the bytes the whole heap holds in objects: exactly the
  // reachable objects' sizes, since nothing unreachable may survive it.
  bool observed = false;
  std::vector<uint64_t> roots;
  std::vector<ObjectView> graph;
  uint64_t heap_bytes = 0;
  std::string detail;  // the verifier's complaint, when it had one

  friend bool operator==(const Outcome& a, const Outcome& b) {
    return a.code == b.code && a.id == b.id && a.digest == b.digest && a.observed == b.observed &&
           a.roots == b.roots && a.graph == b.graph && a.heap_bytes == b.heap_bytes;
  }
};

std::string describe(const Outcome& outcome);

}  // namespace vmmem::scenario::gc
