// False sharing check (cache-scratch): the main thread allocates one small object per thread
// and hands it over; each thread frees it, allocates one of the same size, and writes to it
// many times. An allocator that places the objects of different threads in one cache line
// makes the threads fight over that line.
//   cache_scratch [THREADS=4] [REPEATS=200] [WRITES=20000] [SIZE=8]
#include <thread>
#include <vector>

#include "workload_common.h"

int main(int argc, char** argv) {
  using namespace vmmem::workloads;
  const uint64_t threads = count_arg(argc, argv, 1, 4);
  const uint64_t repeats = count_arg(argc, argv, 2, 200);
  const uint64_t writes = count_arg(argc, argv, 3, 20000);
  const uint64_t size = count_arg(argc, argv, 4, 8);
  std::vector<char*> handed(threads);
  for (auto& block : handed)
    block = static_cast<char*>(std::malloc(size));
  std::vector<uint64_t> checksums(threads, 0);
  std::vector<std::thread> workers;
  for (uint64_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::free(handed[t]);
      uint64_t checksum = 0;
      for (uint64_t r = 0; r < repeats; ++r) {
        volatile char* block = static_cast<char*>(std::malloc(size));
        for (uint64_t b = 0; b < size; ++b)
          block[b] = 0;
        for (uint64_t w = 0; w < writes; ++w) {
          for (uint64_t b = 0; b < size; ++b)
            block[b] = static_cast<char>(block[b] + 1);
        }
        checksum += static_cast<unsigned char>(block[0]);
        std::free(const_cast<char*>(block));
      }
      checksums[t] = checksum;
    });
  }
  for (auto& worker : workers)
    worker.join();
  uint64_t checksum = 0;
  for (uint64_t c : checksums)
    checksum += c;
  std::printf("cache_scratch checksum %llu\n", static_cast<unsigned long long>(checksum));
  return 0;
}
