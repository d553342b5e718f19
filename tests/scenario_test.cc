// The scenario machinery itself: profiles are reproducible and encodable, the committed seed
// corpus matches the profiles, and the ModelChecker reports a divergence in words.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "scenario/mem/codec.h"
#include "scenario/mem/executor.h"
#include "scenario/mem/model.h"
#include "scenario/mem/profiles.h"
#include "scenario/seed_corpus.h"

#ifndef VMMEM_CORPUS_DIR
#error "VMMEM_CORPUS_DIR must name the corpus/ folder"
#endif

namespace vmmem::scenario {
namespace {

TEST(Profiles, AreReproducibleEncodableAndAgreeWithTheModel) {
  for (const Profile<mem::Op>& profile : mem::profiles()) {
    SCOPED_TRACE(std::string(profile.name));
    Rng a(3), b(3);
    const std::vector<mem::Op> ops = profile.generate(a, 400);
    EXPECT_EQ(ops, profile.generate(b, 400));
    if (std::ranges::all_of(ops, mem::in_decodable_domain)) {
      EXPECT_EQ(mem::decode_ops(mem::encode_ops(ops)), ops);
    }
    EXPECT_EQ(mem::decode_full_input(mem::encode_full_input({16384, ops})).ops, ops);
    for (const uint64_t host_page : {4096, 65536}) {
      mem::GuestMemoryLimits limits = mem::kCheckedLimits;
      limits.host_page_size = host_page;
      const auto failure = mem::verify(ops, limits);
      EXPECT_FALSE(failure.has_value()) << *failure;
    }
  }
}

TEST(SeedCorpus, CommittedSeedsMatchTheProfiles) {
  for (const SeedFile& seed : seed_corpus()) {
    const auto path = std::filesystem::path(VMMEM_CORPUS_DIR) / seed.target / "seed" / seed.name;
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << path << " is missing; run ./suite seed";
    const std::vector<uint8_t> committed{std::istreambuf_iterator<char>(in),
                                         std::istreambuf_iterator<char>()};
    EXPECT_EQ(committed, seed.bytes) << path << " is stale; run ./suite seed";
  }
}

// A system that lies: it reports every read as zero.
struct LyingExecutor {
  mem::Executor inner;
  mem::Outcome operator()(const mem::Op& op) {
    mem::Outcome outcome = inner(op);
    if (std::holds_alternative<mem::Read>(op)) outcome.value = 0;
    return outcome;
  }
};

TEST(ModelChecker, ReportsTheFirstDivergenceInWords) {
  mem::GuestMemory memory;
  mem::Model model(memory.limits());
  LyingExecutor executor{mem::Executor(memory, true)};
  ModelChecker<mem::Model, mem::GuestMemory> checker(model, memory, 1);
  const std::vector<mem::Op> ops = {mem::AddRam{0x1000, 0x1000}, mem::Write{0x1000, 8, 0xabcd},
                                    mem::Read{0x1000, 8}, mem::Read{0x1000, 8}};
  EXPECT_EQ(run(std::span<const mem::Op>(ops), executor, checker), 2u);
  ASSERT_TRUE(checker.failure().has_value());
  EXPECT_EQ(*checker.failure(),
            "op 2: Read{address=0x1000, width=8}\n"
            "  model predicted: {ok, value=0xabcd}\n"
            "  subsystem did:   {ok}");
}

}  // namespace
}  // namespace vmmem::scenario
