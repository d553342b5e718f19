#include <algorithm>
#include <cstdio>

#include "gc/stats.h"
#include "gc/stats_recorder.h"

namespace vmmem::gc {

PauseSummary summarize_pauses(std::vector<uint64_t> pauses_ns) {
  PauseSummary summary;
  if (pauses_ns.empty()) return summary;
  std::sort(pauses_ns.begin(), pauses_ns.end());
  summary.count = pauses_ns.size();
  for (uint64_t pause : pauses_ns)
    summary.total_ns += pause;
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  auto rank = [&](uint64_t percent) {
    const uint64_t n = pauses_ns.size();
    const uint64_t index = (percent * n + 99) / 100;
    return pauses_ns[index == 0 ? 0 : index - 1];
  };
  summary.p50_ns = rank(50);
  summary.p99_ns = rank(99);
  summary.max_ns = pauses_ns.back();
  return summary;
}

void StatsRecorder::record(const CollectionStats& stats) {
  ++collections_;
  (stats.kind == CollectionKind::kMinor ? minor_pauses_ : major_pauses_).push_back(stats.pause_ns);
  if (history_ == 0) return;
  if (recent_.size() == history_) recent_.pop_front();
  recent_.push_back(stats);
}

void StatsRecorder::fill(HeapStats* out) const {
  out->minor = summarize_pauses(minor_pauses_);
  out->major = summarize_pauses(major_pauses_);
  out->recent.assign(recent_.begin(), recent_.end());
}

namespace {
void append(std::string* out, const char* format, auto... values) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, format, values...);
  out->append(buffer);
}
void append_summary(std::string* out, const char* name, const PauseSummary& s) {
  append(out,
         "\"%s\":{\"count\":%llu,\"total_ns\":%llu,\"p50_ns\":%llu,\"p99_ns\":%llu,"
         "\"max_ns\":%llu}",
         name, static_cast<unsigned long long>(s.count),
         static_cast<unsigned long long>(s.total_ns), static_cast<unsigned long long>(s.p50_ns),
         static_cast<unsigned long long>(s.p99_ns), static_cast<unsigned long long>(s.max_ns));
}
}  // namespace

std::string HeapStats::to_json() const {
  using ull = unsigned long long;
  std::string out = "{";
  append(&out,
         "\"allocated_bytes\":%llu,\"young_bytes\":%llu,\"old_bytes\":%llu,"
         "\"large_bytes\":%llu,\"nursery_bytes\":%llu,\"pacer_settled_after\":%llu,"
         "\"pacer_first_settled_after\":%llu,\"pacer_sampled_after_settling\":%llu,"
         "\"pacer_in_band_after_settling\":%llu,",
         static_cast<ull>(allocated_bytes), static_cast<ull>(young_bytes),
         static_cast<ull>(old_bytes), static_cast<ull>(large_bytes),
         static_cast<ull>(nursery_bytes), static_cast<ull>(pacer_settled_after),
         static_cast<ull>(pacer_first_settled_after),
         static_cast<ull>(pacer_sampled_after_settling),
         static_cast<ull>(pacer_in_band_after_settling));
  append_summary(&out, "minor", minor);
  out += ",";
  append_summary(&out, "major", major);
  out += ",\"collections\":[";
  for (size_t i = 0; i < recent.size(); ++i) {
    const CollectionStats& c = recent[i];
    append(&out,
           "%s{\"index\":%llu,\"kind\":\"%s\",\"pause_ns\":%llu,\"allocated_bytes\":%llu,"
           "\"survived_bytes\":%llu,\"promoted_bytes\":%llu,\"reclaimed_bytes\":%llu,",
           i == 0 ? "" : ",", static_cast<ull>(c.index),
           c.kind == CollectionKind::kMinor ? "minor" : "major", static_cast<ull>(c.pause_ns),
           static_cast<ull>(c.allocated_bytes), static_cast<ull>(c.survived_bytes),
           static_cast<ull>(c.promoted_bytes), static_cast<ull>(c.reclaimed_bytes));
    append(&out,
           "\"cards_scanned\":%llu,\"objects_marked\":%llu,\"nursery_bytes\":%llu,"
           "\"old_bytes_after\":%llu}",
           static_cast<ull>(c.cards_scanned), static_cast<ull>(c.objects_marked),
           static_cast<ull>(c.nursery_bytes), static_cast<ull>(c.old_bytes_after));
  }
  out += "]}";
  return out;
}

}  // namespace vmmem::gc
