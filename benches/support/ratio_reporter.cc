#include "support/ratio_reporter.h"

#include <algorithm>
#include <string_view>

namespace vmmem::bench {
namespace {

struct Target {
  std::string ours;
  std::string peer;
  double max_ratio;
};

std::multimap<std::string, Target>& targets() {
  static std::multimap<std::string, Target> registry;
  return registry;
}

bool is_ours(const std::string& impl) {
  const std::string prefix = kOurImpl;
  return impl == prefix || impl.starts_with(prefix + "_");
}

std::string verdict(const std::string& bench_case, const std::string& ours, const std::string& peer,
                    double ratio) {
  auto [first, last] = targets().equal_range(bench_case);
  for (auto it = first; it != last; ++it) {
    if (it->second.ours != ours || it->second.peer != peer) continue;
    char text[48];
    std::snprintf(text, sizeof text, "<= %.2fx %s", it->second.max_ratio,
                  ratio <= it->second.max_ratio ? "met" : "MISSED");
    return text;
  }
  return "";
}

}  // namespace

void set_ratio_target(const std::string& bench_case, const std::string& ours,
                      const std::string& peer, double max_ratio) {
  targets().insert({bench_case, Target{ours, peer, max_ratio}});
}

void add_ratio_targets_to_context() {
  for (const auto& [bench_case, target] : targets()) {
    char value[32];
    std::snprintf(value, sizeof value, "%.2f", target.max_ratio);
    benchmark::AddCustomContext(
        "ratio_target " + bench_case + " " + target.ours + "/" + target.peer, value);
  }
}

bool NaturalOrder::operator()(const std::string& a, const std::string& b) const {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      // Compare the two digit runs as numbers: the shorter run (sans leading zeros) is smaller.
      const size_t a_start = i, b_start = j;
      while (i < a.size() && is_digit(a[i]))
        ++i;
      while (j < b.size() && is_digit(b[j]))
        ++j;
      const std::string_view x = std::string_view(a).substr(a_start, i - a_start);
      const std::string_view y = std::string_view(b).substr(b_start, j - b_start);
      const std::string_view x_digits = x.substr(std::min(x.find_first_not_of('0'), x.size()));
      const std::string_view y_digits = y.substr(std::min(y.find_first_not_of('0'), y.size()));
      if (x_digits.size() != y_digits.size()) return x_digits.size() < y_digits.size();
      if (x_digits != y_digits) return x_digits < y_digits;
      if (x.size() != y.size()) return x.size() < y.size();
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (run.error_occurred) continue;
    // With repetitions, the mean stands for the case; otherwise the single iteration run does.
    const bool is_mean = run.run_type == Run::RT_Aggregate && run.aggregate_name == "mean";
    if (run.run_type == Run::RT_Aggregate && !is_mean) continue;
    const std::string& name = run.run_name.function_name;
    const size_t slash = name.rfind('/');
    if (slash == std::string::npos) continue;
    // Thread counts belong to the case: ours on 8 threads is compared with the peer on 8.
    std::string bench_case = name.substr(0, slash);
    if (!run.run_name.threads.empty()) bench_case += "/" + run.run_name.threads;
    const double seconds =
        run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
    seconds_[bench_case][name.substr(slash + 1)] = seconds;
  }
}

size_t RatioReporter::print_ratios(std::FILE* out) const {
  size_t rows = 0;
  for (const auto& [bench_case, impls] : seconds_) {
    for (const auto& [ours, our_seconds] : impls) {
      if (!is_ours(ours)) continue;
      for (const auto& [peer, peer_seconds] : impls) {
        if (is_ours(peer)) continue;
        if (rows++ == 0) {
          std::fprintf(out, "\n%-48s %-16s %-8s %12s %12s %8s  %s\n", "case", "ours", "peer",
                       "ours ns", "peer ns", "ratio", "target");
        }
        const double ratio = our_seconds / peer_seconds;
        std::fprintf(out, "%-48s %-16s %-8s %12.2f %12.2f %7.2fx  %s\n", bench_case.c_str(),
                     ours.c_str(), peer.c_str(), our_seconds * 1e9, peer_seconds * 1e9, ratio,
                     verdict(bench_case, ours, peer, ratio).c_str());
      }
    }
  }
  return rows;
}

}  // namespace vmmem::bench
