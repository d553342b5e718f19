#include "scenario/seed_corpus.h"

#include "scenario/mem/codec.h"
#include "scenario/mem/profiles.h"

namespace vmmem::scenario {

std::vector<SeedFile> seed_corpus() {
  std::vector<SeedFile> files;
  for (const Profile<mem::Op>& profile : mem::profiles()) {
    Rng rng(kSeedRngSeed);
    const std::vector<mem::Op> ops = profile.generate(rng, profile.seed_ops);
    files.push_back({"mem", std::string(profile.name), mem::encode_ops(ops)});
  }
  return files;
}

}  // namespace vmmem::scenario
