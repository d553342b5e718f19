// Pacer: chooses the nursery size so that minor pauses land near a target, and says when the
// old generation has grown enough for a major collection.
//
// A minor pause is about survived_bytes x copy cost, and survived bytes grow with the nursery
// (at the survival rate): so pause ~ nursery x (survival rate x copy cost), the cost per
// nursery byte. After each minor collection the pacer updates its estimates of the survival rate
// and of that cost (exponential averages of the measurements) and picks the nursery size whose
// predicted pause is the target, moving at most 2x per collection and staying within
// [min, max]. It has no clock: the heap measures pauses and passes them in, so tests feed it
// synthetic pauses.
//
// A major collection promotes every young object, so the first minor collection after it finds
// no aged survivors to promote and pauses far less than the steady state (a tenth of it in the
// proportional pacer bench): that minor is not a sample of the workload's cost. The pacer
// neither learns from it nor counts it for or against settling; acting on it would double the
// nursery and overshoot the target on the next collections.
//
// settled_after(): the 1-based index of the minor collection from which the last
// kSettleWindow sampled pauses all stayed within 20% of the target (0 while they have not).
// first_settled_after(): the same for the first such run, kept when a later pause leaves the
// band; in_band_after_settling() / sampled_after_settling(): how the sampled pauses after that
// run fared (one pause off by a page-fault storm resets settled_after, not these).
#pragma once

#include <cstdint>

namespace vmmem::gc {

struct PacerConfig {
  double pause_target_ms = 0;  // 0: off (nursery fixed)
  uint64_t initial_nursery = 0;
  uint64_t min_nursery = 0;
  uint64_t max_nursery = 0;
  double growth_factor = 2.0;
  uint64_t min_major_trigger = 0;
};

class Pacer {
 public:
  static constexpr uint32_t kSettleWindow = 3;

  explicit Pacer(const PacerConfig& config);

  // After a minor collection of a nursery of `nursery_bytes` that copied `survived_bytes`
  // (survivor + promoted) in `pause_ns`.
  void on_minor(uint64_t nursery_bytes, uint64_t survived_bytes, uint64_t pause_ns);
  // After a major collection that left `old_live_bytes` in the old generation; the next minor
  // collection is not sampled.
  void on_major(uint64_t old_live_bytes);

  uint64_t nursery_bytes() const { return nursery_; }
  bool major_due(uint64_t old_bytes) const { return old_bytes >= major_trigger_; }
  uint64_t major_trigger() const { return major_trigger_; }
  uint64_t settled_after() const { return settled_after_; }
  uint64_t first_settled_after() const { return first_settled_after_; }
  uint64_t sampled_after_settling() const { return sampled_after_settling_; }
  uint64_t in_band_after_settling() const { return in_band_after_settling_; }
  uint64_t minors_seen() const { return minors_; }
  double survival_rate() const { return survival_; }
  double ns_per_nursery_byte() const { return ns_per_byte_; }

 private:
  PacerConfig config_;
  uint64_t nursery_;
  uint64_t major_trigger_;
  double survival_ = -1;     // < 0: no estimate yet
  double ns_per_byte_ = -1;  // < 0: no estimate yet
  uint64_t minors_ = 0;
  uint32_t in_band_run_ = 0;
  bool after_major_ = false;  // the next minor follows a major collection: not sampled
  uint64_t settled_after_ = 0;
  uint64_t first_settled_after_ = 0;
  uint64_t sampled_after_settling_ = 0;
  uint64_t in_band_after_settling_ = 0;
};

}  // namespace vmmem::gc
