// main() of every bench binary: Google Benchmark's flags, the console output, and the ratio
// table of vmmem against the peers measured in the same run.
#include <benchmark/benchmark.h>

#include <cstdio>

#include "support/ratio_reporter.h"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  vmmem::bench::add_ratio_targets_to_context();
  vmmem::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios(stdout);
  benchmark::Shutdown();
  return 0;
}
