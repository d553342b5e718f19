// RapidCheck properties of the collector, on the gc scenario's ops:
//   - the fuzz input format round-trips, and every byte string decodes into the domain;
//   - every profile agrees with the Model for any seed and any configuration;
//   - generated op sequences agree with the Model op by op (stateful, shrinking): after every
//     GC the roots, the reachable graph by id, every edge and payload equal the model's, the
//     heap holds exactly the reachable bytes after a major GC, and Heap::verify() passes after
//     every GC op and every eighth op — under the default configuration and under a stressed one (a
//     GC every allocation, promotion after one survival, a small nursery).
// Generators keep every path reachable at every RapidCheck size: shapes, lengths and slots come
// from fixed ranges with fixed weights. The stateful properties count what every op did
// (OutcomeDistribution), print the table, and fail when a path they exist to check was never
// reached or GCs mostly fail.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <iostream>
#include <ostream>

#include "check_until_reached.h"
#include "scenario/common/outcome_distribution.h"
#include "scenario/gc/codec.h"
#include "scenario/gc/executor.h"
#include "scenario/gc/model.h"
#include "scenario/gc/outcome_kind.h"
#include "scenario/gc/profiles.h"

namespace vmmem::scenario::gc {

void showValue(const Op& op, std::ostream& os) {
  os << describe(op);
}

void showValue(const Config& config, std::ostream& os) {
  os << "Config{promotion_age=" << +config.promotion_age << ", gc_every=" << +config.gc_every
     << ", paced_nursery=" << config.paced_nursery << ", verify_each_gc=" << config.verify_each_gc
     << "}";
}

namespace {

rc::Gen<uint8_t> gen_shape() {
  return rc::gen::weightedOneOf<uint8_t>({
      {20, rc::gen::inRange<uint8_t>(0, kShapeCount)},
      {1, rc::gen::inRange<uint8_t>(kShapeCount, 255)},
  });
}

rc::Gen<uint32_t> gen_length() {
  return rc::gen::weightedOneOf<uint32_t>({
      {16, rc::gen::inRange<uint32_t>(0, 65)},
      {3, rc::gen::inRange<uint32_t>(65, 4096)},
      {1, rc::gen::inRange<uint32_t>(8192, kMaxLength + 1)},  // the large-object space
      {2, rc::gen::elementOf(
              std::vector<uint32_t>{kMaxLength + 1, kMaxLength + 1, kHugeLength, ~uint32_t{0}})},
  });
}

rc::Gen<uint16_t> gen_root() {
  return rc::gen::inRange<uint16_t>(0, 64);
}

// A field and a value, most often one at the edge of that field's rule (gc/heap.h) as
// CreateHeap reads the value: an age, KiB, bytes, 1/256ths or quarter milliseconds.
rc::Gen<CreateHeap> gen_create_heap() {
  static const std::vector<std::vector<uint16_t>> kEdges = {
      {0, 1, 15, 16, 19, 20},            // promotion_age (value % 20)
      {60, 63, 64, 65, 68, 4096, 4100},  // min_nursery_bytes: 64 KiB, whole pages, <= 4 MiB
      {252, 256, 257, 260, 65532},       // nursery_bytes: >= 256 KiB
      {4092, 4096, 4097, 4100},          // max_nursery_bytes: >= 4 MiB
      {255, 256, 32768, 32769},          // large_object_bytes
      {4095, 4096, 4097},                // heap_limit_bytes: >= 4 MiB
      {255, 256, 257},                   // growth_factor: above 1
      {0, 1, 32767, 32768, 65535},       // pause_target_ms: >= 0
  };
  return rc::gen::mapcat(
      rc::gen::inRange<uint8_t>(0, static_cast<uint8_t>(OptionField::kCount)), [](uint8_t field) {
        return rc::gen::map(
            rc::gen::weightedOneOf<uint16_t>(
                {{1, rc::gen::arbitrary<uint16_t>()}, {3, rc::gen::elementOf(kEdges[field])}}),
            [field](uint16_t value) {
              return CreateHeap{static_cast<OptionField>(field), value};
            });
      });
}

template <class T>
rc::Gen<Op> as_op(rc::Gen<T> gen) {
  return rc::gen::map(std::move(gen), [](T value) { return Op{value}; });
}

rc::Gen<Op> gen_op() {
  return rc::gen::weightedOneOf<Op>({
      {14, as_op(rc::gen::construct<New>(gen_shape(), gen_length()))},
      {12, as_op(rc::gen::construct<Store>(gen_root(), gen_root(), gen_root(),
                                           rc::gen::weightedOneOf<bool>({
                                               {5, rc::gen::just(false)},
                                               {1, rc::gen::just(true)},
                                           })))},
      {6, as_op(rc::gen::construct<Load>(gen_root(), gen_root()))},
      {7, as_op(rc::gen::construct<DropRoot>(gen_root()))},
      {3, as_op(rc::gen::construct<WriteBytes>(gen_root(), rc::gen::arbitrary<uint64_t>()))},
      {3, rc::gen::just(Op{Minor{}})},
      {2, rc::gen::just(Op{Major{}})},
      {1, rc::gen::just(Op{Verify{}})},
      {1, as_op(rc::gen::construct<BadSlot>(gen_root(), rc::gen::inRange<uint16_t>(0, 3),
                                            rc::gen::arbitrary<bool>()))},
      {1, as_op(rc::gen::construct<StoreForeign>(
              gen_root(), gen_root(), gen_root(),
              rc::gen::map(rc::gen::inRange<uint8_t>(0, static_cast<uint8_t>(ForeignKind::kCount)),
                           [](uint8_t k) { return static_cast<ForeignKind>(k); })))},
      {2, as_op(rc::gen::construct<ReadBytes>(
              gen_root(),
              rc::gen::weightedOneOf<uint16_t>(
                  {{3, rc::gen::inRange<uint16_t>(0, 24)}, {1, rc::gen::arbitrary<uint16_t>()}}),
              rc::gen::inRange<uint16_t>(0, 40)))},
      {1, as_op(rc::gen::construct<BadBytes>(gen_root(), rc::gen::inRange<uint16_t>(0, 3),
                                             rc::gen::arbitrary<bool>()))},
      {2,
       as_op(rc::gen::construct<BadHandle>(
           gen_root(),
           rc::gen::map(rc::gen::inRange<uint8_t>(0, static_cast<uint8_t>(BadHandleKind::kCount)),
                        [](uint8_t k) { return static_cast<BadHandleKind>(k); }),
           rc::gen::map(rc::gen::inRange<uint8_t>(0, static_cast<uint8_t>(HandleUse::kCount)),
                        [](uint8_t u) { return static_cast<HandleUse>(u); })))},
      {2, as_op(gen_create_heap())},
      {1, as_op(rc::gen::construct<Corrupt>(
              gen_root(),
              rc::gen::map(rc::gen::inRange<uint8_t>(0, static_cast<uint8_t>(CorruptKind::kCount)),
                           [](uint8_t k) { return static_cast<CorruptKind>(k); })))},
  });
}

rc::Gen<Config> gen_config() {
  return rc::gen::map(rc::gen::arbitrary<uint8_t>(), decode_config);
}

RC_GTEST_PROP(GcCodec, DecodeInvertsEncode, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op());
  const Config config = *gen_config();
  const Input input = decode_input(encode_input(config, ops));
  RC_ASSERT(input.ops == ops);
  RC_ASSERT(input.config == config);
}

RC_GTEST_PROP(GcCodec, EveryByteStringDecodesIntoTheDomain, (const std::vector<uint8_t>& bytes)) {
  for (const Op& op : decode_input(bytes).ops)
    RC_ASSERT(in_decodable_domain(op));
}

// Heap::create's option rules on their own: many draws per run, most at the rules' edges.
RC_GTEST_PROP(GcModel, CreateHeapAgreesWithTheModel, ()) {
  const auto ops = *rc::gen::container<std::vector<CreateHeap>>(16, gen_create_heap());
  Executor executor(Config{});
  Model model;
  for (const CreateHeap& create : ops) {
    const Outcome actual = executor(Op{create});
    const Outcome expected = model.apply(Op{create});
    RC_ASSERT(actual == expected);
  }
}

RC_GTEST_PROP(GcModel, ProfilesAgreeWithTheModelForAnySeed, (uint64_t seed)) {
  const Profile<Op>& profile = *rc::gen::elementOf(profiles());
  const Config config = *rc::gen::weightedOneOf<Config>({
      {2, rc::gen::just(seed_config(profile.name))},
      {1, gen_config()},
  });
  RC_TAG(profile.name);
  Rng rng(seed);
  const auto failure = verify(config, profile.generate(rng, 48));
  if (failure) RC_FAIL(*failure);
}

// The stateful property. The model predicts every outcome, so the RapidCheck state is only what
// the generators need; the system holds the executor, the model and the distribution.
struct Counts {};

struct System {
  System(const Config& config, OutcomeDistribution& seen) : executor(config), seen(seen) {}
  Executor executor;
  Model model;
  OutcomeDistribution& seen;
  size_t ops = 0;
};

struct ApplyOp : rc::state::Command<Counts, System> {
  Op op = *gen_op();

  void run(const Counts&, System& system) const override {
    const Outcome actual = system.executor(op);
    const Outcome expected = system.model.apply(op);
    system.seen.add(outcome_kind(op, actual));
    if (!(actual == expected))
      RC_FAIL("model predicted: " + describe(expected) + "\n  collector did: " + describe(actual));
    // The verifier walks the whole heap: after every few ops (and inside every GC op) is enough.
    if (++system.ops % 8 == 0) {
      const Status status = system.executor.check();
      RC_ASSERT(status.ok());
    }
  }
  void show(std::ostream& os) const override { os << describe(op); }
};

void check_against_the_model(const Config& config) {
  OutcomeDistribution seen;
  const std::vector<std::string> required = {"New: ok (fixed)",
                                             "New: ok (array)",
                                             "New: not found",
                                             "New: out of memory",
                                             "New: unsupported",
                                             "Store: ok",
                                             "Store: invalid argument",
                                             "Load: ok",
                                             "DropRoot: ok",
                                             "WriteBytes: ok",
                                             "Minor: ok",
                                             "Major: ok",
                                             "Verify: ok",
                                             "BadSlot: invalid argument",
                                             "StoreForeign: invalid argument",
                                             "ReadBytes: ok",
                                             "ReadBytes: invalid argument",
                                             "BadBytes: invalid argument",
                                             "BadHandle: ok",
                                             "BadHandle: invalid argument",
                                             "BadHandle: not found",
                                             "CreateHeap: ok",
                                             "CreateHeap: invalid argument",
                                             "Corrupt: broken invariant"};
  const bool passed = vmmem::properties::check_until_reached(
      "the collector behaves like the model", seen, required, [&] {
        System system(config, seen);
        rc::state::check(Counts{}, system, rc::state::gen::execOneOfWithArgs<ApplyOp>());
      });
  EXPECT_TRUE(passed);
  std::cout << "outcomes of " << seen.total() << " ops:\n" << seen.table();
  vmmem::properties::expect_reached(seen, required);
  // A property whose collections fail checks nothing after them.
  EXPECT_GT(seen.share("Minor: ok", "Minor: "), 0.99);
  EXPECT_GT(seen.share("Major: ok", "Major: "), 0.99);
  EXPECT_GT(seen.share("Store: ok", "Store: "), 0.5) << "stores mostly refused";
}

// The heap's own verify-around-every-GC aborts the process; here the executor's verify() after
// every GC op and every eighth op reports the same as a failed property instead, which RapidCheck
// can shrink.
TEST(GcModel, CollectorBehavesLikeTheModel) {
  check_against_the_model(Config{.verify_each_gc = false});
}

TEST(GcModel, StressedCollectorBehavesLikeTheModel) {
  check_against_the_model(
      Config{.promotion_age = 1, .gc_every = 1, .paced_nursery = true, .verify_each_gc = false});
}

}  // namespace
}  // namespace vmmem::scenario::gc
