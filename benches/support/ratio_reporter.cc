#include "support/ratio_reporter.h"

namespace vmmem::bench {
namespace {

struct Target {
  std::string peer;
  double max_ratio;
};

std::multimap<std::string, Target>& targets() {
  static std::multimap<std::string, Target> registry;
  return registry;
}

}  // namespace

void set_ratio_target(const std::string& bench_case, const std::string& peer, double max_ratio) {
  targets().insert({bench_case, Target{peer, max_ratio}});
}

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (run.error_occurred) continue;
    // With repetitions, the mean stands for the case; otherwise the single iteration run does.
    const bool is_mean = run.run_type == Run::RT_Aggregate && run.aggregate_name == "mean";
    if (run.run_type == Run::RT_Aggregate && !is_mean) continue;
    std::string name = run.run_name.function_name;
    if (is_mean && name.empty()) continue;
    const size_t slash = name.rfind('/');
    if (slash == std::string::npos) continue;
    const double seconds =
        run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
    seconds_[name.substr(0, slash)][name.substr(slash + 1)] = seconds;
  }
}

size_t RatioReporter::print_ratios(std::FILE* out) const {
  size_t cases = 0;
  bool header = false;
  for (const auto& [bench_case, impls] : seconds_) {
    auto ours = impls.find(kOurImpl);
    if (ours == impls.end()) continue;
    for (const auto& [impl, seconds] : impls) {
      if (impl == kOurImpl) continue;
      if (!header) {
        std::fprintf(out, "\n%-44s %-10s %12s %12s %8s  %s\n", "case", "peer", "vmmem ns",
                     "peer ns", "ratio", "target");
        header = true;
      }
      const double ratio = ours->second / seconds;
      std::string verdict;
      auto [first, last] = targets().equal_range(bench_case);
      for (auto it = first; it != last; ++it) {
        if (it->second.peer != impl) continue;
        char text[48];
        std::snprintf(text, sizeof text, "<= %.2fx %s", it->second.max_ratio,
                      ratio <= it->second.max_ratio ? "met" : "MISSED");
        verdict = text;
      }
      std::fprintf(out, "%-44s %-10s %12.2f %12.2f %7.2fx  %s\n", bench_case.c_str(),
                   impl.c_str(), ours->second * 1e9, seconds * 1e9, ratio, verdict.c_str());
      ++cases;
    }
  }
  return cases;
}

}  // namespace vmmem::bench
