// Hot-plug under running readers (label concurrency; run under the tsan preset it also proves
// the table handoff free of data races): reader threads and a DMA writer through pinned spans
// keep working while a writer adds and removes the regions under them (scenario/mem/hotplug_storm.h
// lists what every read is checked against).
#include <gtest/gtest.h>

#include <iostream>

#include "scenario/mem/hotplug_storm.h"

namespace vmmem::scenario::mem {
namespace {

TEST(HotPlugStorm, EveryReadSeesARegionThatWasMappedDuringIt) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const StormReport report = run_storm(StormPlan{.seed = seed,
                                                   .readers = 3,
                                                   .slots = 4,
                                                   .table_changes = 400,
                                                   .reads_per_reader = 4000,
                                                   .dma = true});
    EXPECT_FALSE(report.violation) << *report.violation;
    EXPECT_GT(report.reads_ok, 0u);
    std::cout << "seed " << seed << ": " << report.reads_ok << " reads found a region, "
              << report.reads_unmapped << " none, " << report.dma_writes << " DMA writes\n";
  }
}

TEST(HotPlugStorm, OneSlotChurningUnderManyReaders) {
  const StormReport report = run_storm(StormPlan{
      .seed = 7, .readers = 4, .slots = 1, .table_changes = 600, .reads_per_reader = 3000});
  EXPECT_FALSE(report.violation) << *report.violation;
  EXPECT_GT(report.reads_ok, 0u);
}

}  // namespace
}  // namespace vmmem::scenario::mem
