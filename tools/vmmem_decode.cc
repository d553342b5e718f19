// Prints the ops a fuzz input decodes to, one per line, and what the model predicts for each:
// the first thing to read when a regression input needs explaining.
// Usage: vmmem_decode TARGET FILE...   (TARGET: mem)
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "scenario/mem/codec.h"
#include "scenario/mem/executor.h"
#include "scenario/mem/model.h"

namespace {

int decode_mem(const std::vector<uint8_t>& bytes) {
  using namespace vmmem::scenario::mem;
  Model model(kCheckedLimits);
  size_t index = 0;
  for (const Op& op : decode_ops(bytes)) {
    std::printf("%4zu  %-60s -> %s\n", index++, describe(op).c_str(),
                describe(model.apply(op)).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::strcmp(argv[1], "mem") != 0) {
    std::fprintf(stderr, "usage: vmmem_decode mem FILE...\n");
    return 2;
  }
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "vmmem_decode: cannot read %s\n", argv[i]);
      return 2;
    }
    std::printf("%s:\n", argv[i]);
    decode_mem({std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()});
  }
  return 0;
}
