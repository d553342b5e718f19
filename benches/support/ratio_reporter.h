// RatioReporter: the console reporter plus, at the end, a table of vmmem against its peers.
//
// Naming convention: a benchmark named "<case>/<impl>" is implementation <impl> of <case>;
// impls named "vmmem" or "vmmem_<variant>" are ours and every other impl of the same case is
// a peer. For each of our impls and each peer of a case, the table gives time(ours) /
// time(peer) from this same run: 1.00 is parity, below 1 is faster. set_ratio_target() attaches the
// ratio a case is expected to stay within; the table says whether this run met it. It reports,
// never fails: speed is for people to judge, not for tests to assert.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace vmmem::bench {

inline constexpr const char* kOurImpl = "vmmem";

// Expect time(ours) / time(peer) <= max_ratio for `bench_case` ("mem/read_u64/strided")
// and our impl `ours` ("vmmem").
void set_ratio_target(const std::string& bench_case, const std::string& ours,
                      const std::string& peer, double max_ratio);

// Adds every ratio target to Google Benchmark's context (JSON "context", key
// "ratio_target <case> <ours>/<peer>", value the maximum ratio), so reports made from the JSON
// can say whether a run met them. Call before RunSpecifiedBenchmarks.
void add_ratio_targets_to_context();

// Orders names with their numbers by value, so "threads:2" comes before "threads:16" and
// "bulk_read/4096" before "bulk_read/65536".
struct NaturalOrder {
  bool operator()(const std::string& a, const std::string& b) const;
};

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;

  // Prints the ratio table; returns the number of cases with a peer.
  size_t print_ratios(std::FILE* out) const;

 private:
  // case -> impl -> seconds per iteration
  std::map<std::string, std::map<std::string, double>, NaturalOrder> seconds_;
};

}  // namespace vmmem::bench
