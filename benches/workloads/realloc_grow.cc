// Growing buffers: BUFFERS buffers grow by small appends through realloc, as string builders
// and vectors without reserve do, up to a size drawn between 1 KiB and MAX_KIB; then they are
// freed and the next generation starts.
//   realloc_grow [GENERATIONS=5] [BUFFERS=200] [MAX_KIB=512]
#include <cstring>
#include <vector>

#include "workload_common.h"

int main(int argc, char** argv) {
  using namespace vmmem::workloads;
  const uint64_t generations = count_arg(argc, argv, 1, 5);
  const uint64_t buffers = count_arg(argc, argv, 2, 200);
  const uint64_t max_kib = count_arg(argc, argv, 3, 512);
  Random random(3);
  uint64_t checksum = 0;
  for (uint64_t g = 0; g < generations; ++g) {
    std::vector<char*> data(buffers, nullptr);
    std::vector<size_t> sizes(buffers, 0);
    std::vector<size_t> targets(buffers);
    for (auto& target : targets)
      target = 1024 + random.below(max_kib * 1024);
    bool growing = true;
    while (growing) {
      growing = false;
      for (uint64_t b = 0; b < buffers; ++b) {
        if (sizes[b] >= targets[b]) continue;
        growing = true;
        const size_t grown = sizes[b] + 64 + random.below(4096);
        char* moved = static_cast<char*>(std::realloc(data[b], grown));
        std::memset(moved + sizes[b], static_cast<int>(grown & 0xff), grown - sizes[b]);
        data[b] = moved;
        sizes[b] = grown;
      }
    }
    for (uint64_t b = 0; b < buffers; ++b) {
      checksum += static_cast<unsigned char>(data[b][sizes[b] / 2]);
      std::free(data[b]);
    }
  }
  std::printf("realloc_grow checksum %llu\n", static_cast<unsigned long long>(checksum));
  return 0;
}
