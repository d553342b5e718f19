// main() for fuzz targets built without libFuzzer: runs every file named on the command line,
// and every file inside every directory named, through LLVMFuzzerTestOneInput. Arguments that
// start with '-' are libFuzzer flags and are ignored, except -timeout=N, which ends the replay
// with exit status 70 (libFuzzer's) when one input runs longer than N seconds, so one command
// line works for both builds. A failing input aborts inside the target, so reaching the end
// means all passed.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Optional, as in libFuzzer: a target that defines it gets it called once before any input.
extern "C" [[gnu::weak]] int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

// The input being replayed, for the timeout message (written before its alarm is armed).
char current_input[4096];

void on_timeout(int) {
  // Only async-signal-safe calls here.
  constexpr char kPrefix[] = "replay: timeout: this input ran past -timeout: ";
  (void)!write(STDERR_FILENO, kPrefix, sizeof kPrefix - 1);
  (void)!write(STDERR_FILENO, current_input, strnlen(current_input, sizeof current_input));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(70);
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> inputs;
  unsigned timeout_seconds = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("-timeout=")) timeout_seconds = std::atoi(arg.c_str() + 9);
    if (arg.starts_with("-")) continue;
    std::error_code error;
    if (fs::is_directory(arg, error)) {
      for (const auto& entry : fs::directory_iterator(arg)) {
        if (entry.is_regular_file()) inputs.push_back(entry.path());
      }
    } else if (fs::is_regular_file(arg, error)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: no such file or directory: %s\n", arg.c_str());
      return 2;
    }
  }
  std::sort(inputs.begin(), inputs.end());
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  if (timeout_seconds > 0) std::signal(SIGALRM, on_timeout);
  for (const fs::path& input : inputs) {
    std::fprintf(stderr, "replay: %s\n", input.c_str());
    const std::vector<uint8_t> bytes = read_file(input);
    std::snprintf(current_input, sizeof current_input, "%s", input.c_str());
    alarm(timeout_seconds);
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    alarm(0);
  }
  std::printf("replay: %zu inputs passed\n", inputs.size());
  return 0;
}
