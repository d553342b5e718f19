// Prints the ops a fuzz input decodes to, one per line, and what happens to each: the first
// thing to read when a regression input needs explaining.
//   mem, mem_full: what the model predicts for each op (mem_full: the host page size first);
//   alloc: the configuration, then what the allocator did and what the model says of it;
//   mmu:   the configuration, then what the MMU did and what the model says of it;
//   shim:  the configuration, then what the C allocation API did and what the model says of it.
// Usage: vmmem_decode TARGET FILE...   (TARGET: mem, mem_full, alloc, mmu, shim)
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "scenario/alloc/codec.h"
#include "scenario/alloc/executor.h"
#include "scenario/alloc/model.h"
#include "scenario/mem/codec.h"
#include "scenario/mem/executor.h"
#include "scenario/mem/model.h"
#include "scenario/mmu/codec.h"
#include "scenario/mmu/executor.h"
#include "scenario/mmu/model.h"
#include "scenario/shim/codec.h"
#include "scenario/shim/executor.h"
#include "scenario/shim/model.h"

namespace {

int decode_mem(const std::vector<uint8_t>& bytes, bool full) {
  using namespace vmmem::scenario::mem;
  Model model(kCheckedLimits);
  size_t index = 0;
  std::vector<Op> ops;
  if (full) {
    FullInput input = decode_full_input(bytes);
    std::printf("  host pages of %llu bytes\n",
                static_cast<unsigned long long>(input.host_page_size));
    ops = std::move(input.ops);
  } else {
    ops = decode_ops(bytes);
  }
  for (const Op& op : ops) {
    std::printf("%4zu  %-60s -> %s\n", index++, describe(op).c_str(),
                describe(model.apply(op)).c_str());
  }
  return 0;
}

// Performs the ops on the real subsystem and prints each outcome with the model's objection, if
// any; returns 1 at the first objection (or complaint before an op, for models that judge ops
// before they run), else 0.
template <class Op, class Executor, class Model>
int print_judged_run(const std::vector<Op>& ops, Executor& executor, Model& model) {
  size_t index = 0;
  for (const Op& op : ops) {
    if constexpr (requires { model.before(op); }) {
      if (auto complaint = model.before(op)) {
        std::printf("%4zu  %-60s before: %s\n", index, describe(op).c_str(), complaint->c_str());
        return 1;
      }
    }
    const auto outcome = executor(op);
    const auto complaint = model.judge(op, outcome);
    std::printf("%4zu  %-60s -> %s%s%s\n", index++, describe(op).c_str(), describe(outcome).c_str(),
                complaint ? "\n      MODEL OBJECTS: " : "", complaint ? complaint->c_str() : "");
    if (complaint) return 1;
  }
  return 0;
}

int decode_alloc(const std::vector<uint8_t>& bytes) {
  using namespace vmmem::scenario::alloc;
  const Input input = decode_input(bytes);
  std::printf("config: %s, purge %s\n", input.config.hardened ? "hardened" : "plain",
              input.config.purge == vmmem::alloc::PurgePolicy::kEager   ? "eager"
              : input.config.purge == vmmem::alloc::PurgePolicy::kNever ? "never"
                                                                        : "delayed");
  Executor executor(input.config);
  Model model(input.config.hardened);
  return print_judged_run(input.ops, executor, model);
}

int decode_mmu(const std::vector<uint8_t>& bytes) {
  using namespace vmmem::scenario::mmu;
  const Input input = decode_input(bytes);
  const Config& c = input.config;
  std::printf("config: %s, %s, %s, %s TLB, prefetch %u%s%s\n",
              c.mode == Mode::kSv48   ? "Sv48"
              : c.mode == Mode::kBare ? "Bare"
                                      : "Sv39",
              c.ad_policy == AdPolicy::kUpdate ? "Svadu" : "Svade",
              c.coherent ? "coherent" : "relaxed", c.small_tlb ? "small" : "default",
              c.prefetch_depth, c.dirty_tracking ? ", dirty tracking" : "",
              c.remote_flushes ? ", flushes as shootdowns" : "");
  Executor executor(c);
  Model model(c);
  return print_judged_run(input.ops, executor, model);
}

int decode_shim(const std::vector<uint8_t>& bytes) {
  using namespace vmmem::scenario::shim;
  const Input input = decode_input(bytes);
  std::printf("config: %s\n", input.config.hardened ? "hardened" : "plain");
  Executor executor(input.config);
  Model model(input.config, executor.page_size());
  return print_judged_run(input.ops, executor, model);
}

}  // namespace

int main(int argc, char** argv) {
  const bool mem = argc >= 3 && std::strcmp(argv[1], "mem") == 0;
  const bool mem_full = argc >= 3 && std::strcmp(argv[1], "mem_full") == 0;
  const bool alloc = argc >= 3 && std::strcmp(argv[1], "alloc") == 0;
  const bool mmu = argc >= 3 && std::strcmp(argv[1], "mmu") == 0;
  const bool shim = argc >= 3 && std::strcmp(argv[1], "shim") == 0;
  if (!mem && !mem_full && !alloc && !mmu && !shim) {
    std::fprintf(stderr, "usage: vmmem_decode mem|mem_full|alloc|mmu|shim FILE...\n");
    return 2;
  }
  int status = 0;
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "vmmem_decode: cannot read %s\n", argv[i]);
      return 2;
    }
    std::printf("%s:\n", argv[i]);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                     std::istreambuf_iterator<char>()};
    status |= alloc  ? decode_alloc(bytes)
              : mmu  ? decode_mmu(bytes)
              : shim ? decode_shim(bytes)
                     : decode_mem(bytes, mem_full);
  }
  return status;
}
