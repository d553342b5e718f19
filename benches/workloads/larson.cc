// Larson-style server: THREADS threads each own an array of live blocks and replace random
// ones; every round the threads exit and new threads take over the arrays of others, so most
// frees are of blocks that a thread which no longer exists allocated.
//   larson [THREADS=4] [ROUNDS=10] [STEPS_PER_ROUND=100000] [LIVE=2000]
#include <cstring>
#include <thread>
#include <vector>

#include "workload_common.h"

int main(int argc, char** argv) {
  using namespace vmmem::workloads;
  const uint64_t threads = count_arg(argc, argv, 1, 4);
  const uint64_t rounds = count_arg(argc, argv, 2, 10);
  const uint64_t steps = count_arg(argc, argv, 3, 100000);
  const uint64_t live = count_arg(argc, argv, 4, 2000);
  std::vector<std::vector<char*>> arrays(threads, std::vector<char*>(live, nullptr));
  std::vector<uint64_t> checksums(threads, 0);
  for (uint64_t round = 0; round < rounds; ++round) {
    std::vector<std::thread> workers;
    for (uint64_t t = 0; t < threads; ++t) {
      // Thread t of this round works on the array thread t+round used before.
      std::vector<char*>& array = arrays[(t + round) % threads];
      workers.emplace_back([&array, &checksums, t, round, steps, live] {
        Random random(round * 1000 + t + 1);
        uint64_t checksum = 0;
        for (uint64_t step = 0; step < steps; ++step) {
          const size_t slot = random.below(live);
          if (array[slot] != nullptr) {
            checksum += static_cast<unsigned char>(array[slot][0]);
            std::free(array[slot]);
          }
          const size_t size = 16 + random.below(112) * 8;  // 16..904 bytes, as in larson
          char* block = static_cast<char*>(std::malloc(size));
          block[0] = static_cast<char>(size);
          array[slot] = block;
        }
        checksums[t] += checksum;
      });
    }
    for (auto& worker : workers)
      worker.join();
  }
  uint64_t checksum = 0;
  for (auto& array : arrays) {
    for (char* block : array)
      std::free(block);
  }
  for (uint64_t c : checksums)
    checksum += c;
  std::printf("larson checksum %llu\n", static_cast<unsigned long long>(checksum));
  return 0;
}
