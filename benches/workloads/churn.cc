// Single-thread churn of mixed sizes: a working set of live blocks where each step frees a
// random one and allocates another of a random size, touching both ends of it.
//   churn [STEPS=2000000] [LIVE=20000]
#include <cstring>
#include <vector>

#include "workload_common.h"

int main(int argc, char** argv) {
  using namespace vmmem::workloads;
  const uint64_t steps = count_arg(argc, argv, 1, 2000000);
  const uint64_t live = count_arg(argc, argv, 2, 20000);
  Random random(1);
  std::vector<char*> slots(live, nullptr);
  std::vector<size_t> sizes(live, 0);
  uint64_t checksum = 0;
  for (uint64_t step = 0; step < steps; ++step) {
    const size_t slot = random.below(live);
    if (slots[slot] != nullptr) {
      checksum += static_cast<unsigned char>(slots[slot][sizes[slot] - 1]);
      std::free(slots[slot]);
    }
    const size_t size = mixed_size(random);
    char* block = static_cast<char*>(std::malloc(size));
    block[0] = static_cast<char>(step);
    block[size - 1] = static_cast<char>(size);
    slots[slot] = block;
    sizes[slot] = size;
  }
  for (char* block : slots)
    std::free(block);
  std::printf("churn checksum %llu\n", static_cast<unsigned long long>(checksum));
  return 0;
}
