// Writes the seed corpus: corpus/<target>/seed/<profile> = encode(profile ops) for every
// profile of every scenario, from a fixed seed, so the fuzzers start from exactly the
// workloads the benches time. Usage: vmmem_seeds --out CORPUS_DIR [--check]
// With --check nothing is written; it exits 1 if any committed seed differs.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "scenario/seed_corpus.h"

int main(int argc, char** argv) {
  std::string out;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if (std::strcmp(argv[i], "--check") == 0) {
      check = true;
    } else {
      std::fprintf(stderr, "usage: vmmem_seeds --out CORPUS_DIR [--check]\n");
      return 2;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "usage: vmmem_seeds --out CORPUS_DIR [--check]\n");
    return 2;
  }
  int differing = 0;
  for (const auto& [target, name, bytes] : vmmem::scenario::seed_corpus()) {
    const std::filesystem::path path = std::filesystem::path(out) / target / "seed" / name;
    if (check) {
      std::ifstream in(path, std::ios::binary);
      const std::vector<uint8_t> committed{std::istreambuf_iterator<char>(in),
                                           std::istreambuf_iterator<char>()};
      if (committed != bytes) {
        std::fprintf(stderr, "vmmem_seeds: %s is stale; run ./suite seed\n", path.c_str());
        ++differing;
      }
      continue;
    }
    std::filesystem::create_directories(path.parent_path());
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
  }
  return differing == 0 ? 0 : 1;
}
