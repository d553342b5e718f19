#include "gc/pacer.h"

#include <algorithm>
#include <cmath>

namespace vmmem::gc {

namespace {
// Weight of the newest measurement in the running estimates.
constexpr double kSmoothing = 0.5;
// The most the nursery changes in one step, either way.
constexpr double kMaxStep = 2.0;
constexpr double kBand = 0.2;
}  // namespace

Pacer::Pacer(const PacerConfig& config)
    : config_(config), nursery_(config.initial_nursery), major_trigger_(config.min_major_trigger) {}

void Pacer::on_minor(uint64_t nursery_bytes, uint64_t survived_bytes, uint64_t pause_ns) {
  ++minors_;
  if (config_.pause_target_ms <= 0 || nursery_bytes == 0) return;
  if (after_major_) {
    after_major_ = false;
    return;
  }
  const double target_ns = config_.pause_target_ms * 1e6;
  const double pause = static_cast<double>(pause_ns);

  const bool in_band = std::fabs(pause - target_ns) <= kBand * target_ns;
  if (first_settled_after_ != 0) {
    ++sampled_after_settling_;
    if (in_band) ++in_band_after_settling_;
  }
  in_band_run_ = in_band ? in_band_run_ + 1 : 0;
  if (in_band_run_ >= kSettleWindow) {
    if (settled_after_ == 0) settled_after_ = minors_ - kSettleWindow + 1;
    if (first_settled_after_ == 0) first_settled_after_ = settled_after_;
  } else if (!in_band) {
    settled_after_ = 0;
  }

  // The pause is modeled as proportional to the nursery: pause = nursery * cost, where cost
  // (ns per nursery byte) folds survival rate and copy rate together.
  const double survival = static_cast<double>(survived_bytes) / static_cast<double>(nursery_bytes);
  survival_ = survival_ < 0 ? survival : kSmoothing * survival + (1 - kSmoothing) * survival_;
  const double per_byte = pause / static_cast<double>(nursery_bytes);
  ns_per_byte_ =
      ns_per_byte_ < 0 ? per_byte : kSmoothing * per_byte + (1 - kSmoothing) * ns_per_byte_;
  if (ns_per_byte_ <= 0) {
    nursery_ = std::min<uint64_t>(config_.max_nursery, static_cast<uint64_t>(nursery_ * kMaxStep));
    return;
  }
  double wanted = target_ns / ns_per_byte_;
  const double current = static_cast<double>(nursery_);
  wanted = std::clamp(wanted, current / kMaxStep, current * kMaxStep);
  wanted = std::clamp(wanted, static_cast<double>(config_.min_nursery),
                      static_cast<double>(config_.max_nursery));
  // Nursery sizes are whole allocation buffers.
  nursery_ = (static_cast<uint64_t>(wanted) + 4095) & ~uint64_t{4095};
  nursery_ = std::clamp(nursery_, config_.min_nursery, config_.max_nursery);
}

void Pacer::on_major(uint64_t old_live_bytes) {
  const double next = static_cast<double>(old_live_bytes) * config_.growth_factor;
  major_trigger_ = std::max(config_.min_major_trigger, static_cast<uint64_t>(next));
  after_major_ = true;
}

}  // namespace vmmem::gc
