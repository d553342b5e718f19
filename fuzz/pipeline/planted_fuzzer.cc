// A fuzz target that exists only to test the fuzzing pipeline itself (./suite fuzz: workers,
// triage, deduplication, minimization, storage, replay). It has two planted defects that
// libFuzzer finds within seconds with the planted.dict dictionary:
//   - an input that contains "BUG!" reads one byte past a heap buffer (an ASan crash);
//   - an input that contains "HANG" never returns (a timeout).
// Every other input passes, so the only minimal reproducers are exactly "BUG!" and "HANG", and
// from longer seeds the fuzzer finds longer ones that minimization has to cut down.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace {

[[gnu::noinline]] uint8_t read_past_end(const uint8_t* data, size_t size) {
  auto copy = std::make_unique<uint8_t[]>(size);
  std::memcpy(copy.get(), data, size);
  volatile const uint8_t* bytes = copy.get();
  return bytes[size];  // the planted bug: one past the end
}

[[gnu::noinline]] void spin_forever() {
  for (volatile uint64_t i = 0;; i = i + 1) {
  }
}

bool contains(const uint8_t* data, size_t size, const char (&word)[5]) {
  for (size_t i = 0; i + 4 <= size; ++i) {
    if (std::memcmp(data + i, word, 4) == 0) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (contains(data, size, "BUG!")) return read_past_end(data, size);
  if (contains(data, size, "HANG")) spin_forever();
  return 0;
}
