#include "support/ratio_reporter.h"

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
          std::fprintf(out, "\n%-40s %-16s %-8s %12s %12s %8s  %s\n", "case", "ours", "peer",
                       "ours ns", "peer ns", "ratio", "target");
        }
        const double ratio = our_seconds / peer_seconds;
        std::fprintf(out, "%-40s %-16s %-8s %12.2f %12.2f %7.2fx  %s\n", bench_case.c_str(),
                     ours.c_str(), peer.c_str(), our_seconds * 1e9, peer_seconds * 1e9, ratio,
                     verdict(bench_case, ours, peer, ratio).c_str());
      }
    }
  }
  return rows;
}

}  // namespace vmmem::bench
