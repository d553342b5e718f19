// RapidCheck properties of the C allocation surface (shim/c_api.h), on the shim scenario's ops:
//   - the fuzz input format round-trips, and every byte string decodes into the domain;
//   - every profile agrees with the Model for any seed;
//   - generated op sequences agree with the Model op by op (stateful, shrinking), with
//     Allocator::check() after every op, in plain and hardened mode;
//   - calls the C API refuses, and bad pointers it reports, change nothing.
// Sizes, counts, alignments and slots come from fixed ranges with fixed weights, so every path
// stays reachable at every RapidCheck size; the op-sequence properties print what every op did
// and fail when a path they exist to check was never reached.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <iostream>
#include <ostream>
#include <tuple>

#include "check_until_reached.h"
#include "scenario/common/outcome_distribution.h"
#include "scenario/shim/codec.h"
#include "scenario/shim/executor.h"
#include "scenario/shim/model.h"
#include "scenario/shim/outcome_kind.h"
#include "scenario/shim/profiles.h"

namespace vmmem::scenario::shim {

void showValue(const Op& op, std::ostream& os) {
  os << describe(op);
}

namespace {

const uint64_t kTop = ~uint64_t{0};

// edges: the weight of sizes no allocator can give (of about 27 in all).
rc::Gen<uint64_t> gen_size(int edges = 2) {
  return rc::gen::weightedOneOf<uint64_t>({
      {8, rc::gen::elementOf(std::vector<uint64_t>{0, 8, 16, 24, 64})},
      {12, rc::gen::inRange<uint64_t>(0, 1025)},
      {4, rc::gen::inRange<uint64_t>(1025, 1u << 20)},
      {1, rc::gen::inRange<uint64_t>(4u << 20, 9u << 20)},
      {edges, rc::gen::elementOf(std::vector<uint64_t>{kTop, kTop - 4095, (uint64_t{1} << 46) + 1,
                                                       uint64_t{1} << 32})},
  });
}

rc::Gen<uint64_t> gen_count() {
  return rc::gen::weightedOneOf<uint64_t>({
      {10, rc::gen::inRange<uint64_t>(0, 64)},
      {1, rc::gen::elementOf(std::vector<uint64_t>{uint64_t{1} << 32, kTop, (kTop >> 1) + 1})},
  });
}

rc::Gen<uint64_t> gen_alignment() {
  return rc::gen::weightedOneOf<uint64_t>({
      {10, rc::gen::map(rc::gen::inRange<unsigned>(0, 22),
                        [](unsigned shift) { return uint64_t{1} << shift; })},
      {3, rc::gen::elementOf(
              std::vector<uint64_t>{0, 3, 12, 24, 100, (1u << 21) + 1, uint64_t{1} << 63, kTop})},
  });
}

rc::Gen<uint16_t> gen_slot() {
  return rc::gen::inRange<uint16_t>(0, 64);
}

template <class T>
rc::Gen<Op> as_op(rc::Gen<T> gen) {
  return rc::gen::map(std::move(gen), [](T value) { return Op{value}; });
}

rc::Gen<Op> gen_allocate() {
  return rc::gen::mapcat(
      rc::gen::inRange<uint8_t>(0, static_cast<uint8_t>(AllocCall::kCount)), [](uint8_t c) {
        const auto call = static_cast<AllocCall>(c);
        rc::Gen<uint64_t> extra = call == AllocCall::kCalloc ? gen_count()
                                  : call == AllocCall::kPosixMemalign ||
                                          call == AllocCall::kAlignedAlloc ||
                                          call == AllocCall::kMemalign
                                      ? gen_alignment()
                                      : rc::gen::just<uint64_t>(0);
        // pvalloc fails only on the edge sizes: they come more often for it.
        return as_op(rc::gen::construct<Allocate>(
            rc::gen::just(call), gen_size(call == AllocCall::kPvalloc ? 12 : 2), extra));
      });
}

rc::Gen<Op> gen_realloc() {
  return rc::gen::mapcat(rc::gen::inRange<uint8_t>(0, 4), [](uint8_t flags) {
    const bool null_pointer = (flags & 1) != 0, array = (flags & 2) != 0;
    return as_op(rc::gen::construct<Realloc>(
        null_pointer ? rc::gen::just<uint16_t>(0) : gen_slot(), rc::gen::just(null_pointer),
        rc::gen::just(array), gen_size(), array ? gen_count() : rc::gen::just<uint64_t>(0)));
  });
}

// bad_pointers: the weight of BadPointer ops (of about 30 in all).
rc::Gen<Op> gen_op(int bad_pointers = 2) {
  return rc::gen::weightedOneOf<Op>({
      {12, gen_allocate()},
      {4, gen_realloc()},
      {6, as_op(rc::gen::construct<Free>(gen_slot(), rc::gen::just(false)))},
      {1, rc::gen::just(Op{Free{0, true}})},
      {3, as_op(rc::gen::construct<Fill>(gen_slot(), rc::gen::arbitrary<uint8_t>()))},
      {1, as_op(rc::gen::construct<UsableSize>(gen_slot()))},
      {1, rc::gen::just(Op{Trim{}})},
      {1, rc::gen::just(Op{Check{}})},
      {bad_pointers,
       as_op(rc::gen::construct<BadPointer>(
           rc::gen::map(rc::gen::inRange<uint8_t>(0, static_cast<uint8_t>(BadPointerKind::kCount)),
                        [](uint8_t k) { return static_cast<BadPointerKind>(k); }),
           rc::gen::map(rc::gen::inRange<uint8_t>(0, static_cast<uint8_t>(BadPointerUse::kCount)),
                        [](uint8_t u) { return static_cast<BadPointerUse>(u); }),
           gen_slot()))},
  });
}

RC_GTEST_PROP(ShimCodec, DecodeInvertsEncode, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op());
  for (const Op& op : ops)
    RC_PRE(in_decodable_domain(op));  // raw sizes above kLargestTried are not in the format
  const Config config{*rc::gen::arbitrary<bool>()};
  const Input input = decode_input(encode_input(config, ops));
  RC_ASSERT(input.ops == ops);
  RC_ASSERT(input.config == config);
}

RC_GTEST_PROP(ShimCodec, EveryByteStringDecodesIntoTheDomain, (const std::vector<uint8_t>& bytes)) {
  for (const Op& op : decode_input(bytes).ops)
    RC_ASSERT(in_decodable_domain(op));
}

RC_GTEST_PROP(ShimModel, ProfilesAgreeWithTheModelForAnySeed, (uint64_t seed)) {
  const Profile<Op>& profile = *rc::gen::elementOf(profiles());
  RC_TAG(profile.name);
  Rng rng(seed);
  const auto failure = verify(seed_config(profile.name), profile.generate(rng, 96));
  if (failure) RC_FAIL(*failure);
}

// Tags name the call and the result, not the slot: BadPointer's slot is cut off.
std::string tag_of(const Op& op, const Outcome& outcome) {
  std::string tag = outcome_kind(op, outcome);
  if (const size_t slot = tag.find(", slot="); slot != std::string::npos)
    tag.erase(slot, tag.find(':', slot) - slot);
  return tag;
}

// Small blocks next to other small blocks: an 8-byte block is only 8-aligned, so an aligned
// call for a few bytes must not be served as a plain one.
RC_GTEST_PROP(ShimModel, AlignedCallsAlignBlocksOfAFewBytes, ()) {
  std::vector<Op> ops;
  const size_t neighbours = *rc::gen::inRange<size_t>(0, 4);
  for (size_t i = 0; i < neighbours; ++i)
    ops.push_back(Allocate{AllocCall::kMalloc, *rc::gen::inRange<uint64_t>(0, 17), 0});
  const auto call =
      *rc::gen::element(AllocCall::kPosixMemalign, AllocCall::kAlignedAlloc, AllocCall::kMemalign);
  const uint64_t alignment = uint64_t{1} << *rc::gen::inRange<unsigned>(0, 7);
  ops.push_back(Allocate{call, *rc::gen::inRange<uint64_t>(0, 33), alignment});
  const auto failure = verify(Config{}, ops);
  if (failure) RC_FAIL(*failure);
}

TEST(ShimModel, RefusedCallsAndBadPointersChangeNothing) {
  OutcomeDistribution seen;
  const std::vector<std::string> required = {
      "calloc: ENOMEM", "posix_memalign: EINVAL", "aligned_alloc: EINVAL",
      "malloc: ENOMEM", "pvalloc: ENOMEM",        "bad pointer kind=static, use=free: reported"};
  const bool passed =
      vmmem::properties::check_until_reached("refusals change nothing", seen, required, [&seen] {
        const auto ops = *rc::gen::container<std::vector<Op>>(gen_op(/*bad_pointers=*/8));
        Executor executor(Config{.hardened = true});
        auto snapshot = [&executor] {
          const vmmem::alloc::Stats stats = executor.allocator().stats();
          return std::make_tuple(stats.live, stats.os.maps, stats.committed_bytes);
        };
        for (const Op& op : ops) {
          const auto before = snapshot();
          const Outcome outcome = executor.execute(op);
          const bool refusal = !outcome.skipped && !outcome.block &&
                               (std::holds_alternative<BadPointer>(op) ||
                                (std::holds_alternative<Allocate>(op) && outcome.error != 0));
          if (!refusal) continue;
          seen.add(tag_of(op, outcome));
          RC_ASSERT(snapshot() == before);
          RC_ASSERT(executor.check().ok());
        }
      });
  EXPECT_TRUE(passed);
  std::cout << "refusals checked:\n" << seen.table();
  vmmem::properties::expect_reached(seen, required);
}

// The stateful property. The model judges (the allocator picks addresses), so the RapidCheck
// state is only what the generators need; the system holds the executor, the judge and the
// distribution of outcomes.
struct Counts {};

struct System {
  System(const Config& config, OutcomeDistribution& seen)
      : executor(config), model(config, executor.page_size()), seen(seen) {}
  Executor executor;
  Model model;
  OutcomeDistribution& seen;
};

struct ApplyOp : rc::state::Command<Counts, System> {
  Op op = *gen_op();

  void run(const Counts& counts, System& system) const override { apply(op, counts, system); }
  void show(std::ostream& os) const override { os << describe(op); }

  static void apply(const Op& op, const Counts&, System& system) {
    if (auto complaint = system.model.before(op)) RC_FAIL(*complaint);
    const Outcome outcome = system.executor.execute(op);
    system.seen.add(tag_of(op, outcome));
    if (auto complaint = system.model.judge(op, outcome)) RC_FAIL(*complaint);
    const Status status = system.executor.check();
    RC_ASSERT(status.ok());
  }
};

struct ApplyOpManyBadPointers : rc::state::Command<Counts, System> {
  Op op = *gen_op(/*bad_pointers=*/8);

  void run(const Counts& counts, System& system) const override {
    ApplyOp::apply(op, counts, system);
  }
  void show(std::ostream& os) const override { os << describe(op); }
};

template <class Command>
void check_against_the_model(const Config& config, std::initializer_list<const char*> required) {
  OutcomeDistribution seen;
  const std::vector<std::string> required_tags(required.begin(), required.end());
  // The rarer refusals (memalign's EINVAL: a non-power-of-two alignment on one call kind of
  // nine) come up a few times in a run of 100 sequences and were missed in 3 runs of 100.
  // Up to three runs gather them; a path no run reaches fails below.
  const bool passed = vmmem::properties::check_until_reached(
      "the C API behaves like the model", seen, required_tags, [&] {
        System system(config, seen);
        rc::state::check(Counts{}, system, rc::state::gen::execOneOfWithArgs<Command>());
      });
  ASSERT_TRUE(passed);
  std::cout << "outcomes of " << seen.total() << " ops:\n" << seen.table();
  vmmem::properties::expect_reached(seen, required_tags);
  const size_t mallocs = seen.count("malloc: ok") + seen.count("malloc: ENOMEM");
  EXPECT_GT(seen.count("malloc: ok") * 4, mallocs)
      << "malloc mostly fails: the success path is barely checked";
}

TEST(ShimModel, CApiBehavesLikeTheModel) {
  check_against_the_model<ApplyOp>(Config{}, {"malloc: ok",
                                              "malloc: ENOMEM",
                                              "calloc: ok",
                                              "calloc: ENOMEM",
                                              "posix_memalign: ok",
                                              "posix_memalign: EINVAL",
                                              "posix_memalign: ENOMEM",
                                              "aligned_alloc: ok",
                                              "aligned_alloc: EINVAL",
                                              "memalign: ok",
                                              "memalign: EINVAL",
                                              "valloc: ok",
                                              "pvalloc: ok",
                                              "pvalloc: ENOMEM",
                                              "realloc: ok",
                                              "realloc: freed",
                                              "realloc: ENOMEM",
                                              "realloc(null): ok",
                                              "reallocarray: ok",
                                              "reallocarray: ENOMEM",
                                              "Free: ok",
                                              "Fill: ok",
                                              "UsableSize: ok",
                                              "Trim: ok",
                                              "bad pointer kind=libc, use=realloc: reported"});
}

TEST(ShimModel, HardenedCApiBehavesLikeTheModel) {
  check_against_the_model<ApplyOpManyBadPointers>(
      Config{.hardened = true},
      {"malloc: ok", "Free: ok", "bad pointer kind=static, use=free: reported",
       "bad pointer kind=interior, use=free: reported",
       "bad pointer kind=freed, use=free: reported",
       "bad pointer kind=freed, use=realloc: reported",
       "bad pointer kind=interior, use=malloc_usable_size: refused", "Check: ok"});
}

}  // namespace
}  // namespace vmmem::scenario::shim
