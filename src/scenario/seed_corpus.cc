#include "scenario/seed_corpus.h"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "scenario/alloc/codec.h"
#include "scenario/alloc/profiles.h"
#include "scenario/gc/codec.h"
#include "scenario/gc/profiles.h"
#include "scenario/mem/codec.h"
#include "scenario/mem/profiles.h"
#include "scenario/mmu/codec.h"
#include "scenario/mmu/profiles.h"
#include "scenario/shim/codec.h"
#include "scenario/shim/profiles.h"

namespace vmmem::scenario {
namespace {

// The mem profiles about region layout, seeded a second time on 64 KiB host pages.
constexpr std::string_view kLargeHostPageProfiles[] = {"region_churn", "edge_cases", "device_moves",
                                                       "balloon",      "hot_unplug", "vhost_user",
                                                       "dirty_seams"};

}  // namespace

std::vector<SeedFile> seed_corpus() {
  std::vector<SeedFile> files;
  for (const Profile<alloc::Op>& profile : alloc::profiles()) {
    Rng rng(kSeedRngSeed);
    const std::vector<alloc::Op> ops = profile.generate(rng, profile.seed_ops);
    files.push_back({"alloc", std::string(profile.name),
                     alloc::encode_input(alloc::seed_config(profile.name), ops)});
  }
  for (const Profile<mem::Op>& profile : mem::profiles()) {
    Rng rng(kSeedRngSeed);
    const std::vector<mem::Op> ops = profile.generate(rng, profile.seed_ops);
    // The frozen mem format takes the profiles it can express; mem_full takes all, and the
    // ones about regions again on 64 KiB host pages.
    if (std::ranges::all_of(ops, mem::in_decodable_domain)) {
      files.push_back({"mem", std::string(profile.name), mem::encode_ops(ops)});
    }
    files.push_back({"mem_full", std::string(profile.name), mem::encode_full_input({4096, ops})});
    if (std::ranges::find(kLargeHostPageProfiles, profile.name) !=
        std::end(kLargeHostPageProfiles)) {
      files.push_back(
          {"mem_full", std::string(profile.name) + "_64k", mem::encode_full_input({65536, ops})});
    }
  }
  for (const Profile<mmu::Op>& profile : mmu::profiles()) {
    Rng rng(kSeedRngSeed);
    const std::vector<mmu::Op> ops = profile.generate(rng, profile.seed_ops);
    files.push_back({"mmu", std::string(profile.name),
                     mmu::encode_input(mmu::profile_config(profile.name), ops)});
  }
  for (const Profile<shim::Op>& profile : shim::profiles()) {
    Rng rng(kSeedRngSeed);
    const std::vector<shim::Op> ops = profile.generate(rng, profile.seed_ops);
    files.push_back({"shim", std::string(profile.name),
                     shim::encode_input(shim::seed_config(profile.name), ops)});
  }
  for (const Profile<gc::Op>& profile : gc::profiles()) {
    Rng rng(kSeedRngSeed);
    const std::vector<gc::Op> ops = profile.generate(rng, profile.seed_ops);
    files.push_back(
        {"gc", std::string(profile.name), gc::encode_input(gc::seed_config(profile.name), ops)});
  }
  return files;
}

}  // namespace vmmem::scenario
