// Producer/consumer: PAIRS producers allocate blocks and pass them in batches to PAIRS
// consumers, which free them; every free is cross-thread. Prints the blocks per second.
//   xthread [PAIRS=2] [BLOCKS_PER_PRODUCER=3000000]
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "workload_common.h"

namespace {

constexpr size_t kBatch = 512;

struct Channel {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::vector<char*>> batches;
  bool closed = false;
  // Bounded so producers cannot run ahead and turn this into a memory test.
  static constexpr size_t kMaxQueued = 16;
  std::condition_variable room;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace vmmem::workloads;
  const uint64_t pairs = count_arg(argc, argv, 1, 2);
  const uint64_t blocks = count_arg(argc, argv, 2, 3000000);
  std::vector<Channel> channels(pairs);
  std::vector<uint64_t> checksums(pairs, 0);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (uint64_t p = 0; p < pairs; ++p) {
    threads.emplace_back([&channel = channels[p], p, blocks] {
      Random random(p + 1);
      std::vector<char*> batch;
      batch.reserve(kBatch);
      for (uint64_t i = 0; i < blocks; ++i) {
        const size_t size = 8 + random.below(8) * 8 + (random.below(16) == 0 ? 1000 : 0);
        char* block = static_cast<char*>(std::malloc(size));
        block[0] = static_cast<char>(i);
        batch.push_back(block);
        if (batch.size() == kBatch || i + 1 == blocks) {
          std::unique_lock lock(channel.mutex);
          channel.room.wait(lock, [&] { return channel.batches.size() < Channel::kMaxQueued; });
          channel.batches.push_back(std::move(batch));
          channel.ready.notify_one();
          batch = {};
          batch.reserve(kBatch);
        }
      }
      std::lock_guard lock(channel.mutex);
      channel.closed = true;
      channel.ready.notify_one();
    });
    threads.emplace_back([&channel = channels[p], &checksum = checksums[p]] {
      for (;;) {
        std::vector<char*> batch;
        {
          std::unique_lock lock(channel.mutex);
          channel.ready.wait(lock, [&] { return !channel.batches.empty() || channel.closed; });
          if (channel.batches.empty()) return;
          batch = std::move(channel.batches.front());
          channel.batches.pop_front();
          channel.room.notify_one();
        }
        for (char* block : batch) {
          checksum += static_cast<unsigned char>(block[0]);
          std::free(block);
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t checksum = 0;
  for (uint64_t c : checksums)
    checksum += c;
  std::printf("xthread checksum %llu\n", static_cast<unsigned long long>(checksum));
  std::fprintf(stderr, "xthread blocks/s %.0f\n", static_cast<double>(pairs * blocks) / seconds);
  return 0;
}
