// RapidCheck properties of guest memory, on the mem scenario's ops:
//   - the fuzz input format round-trips: decode(encode(ops)) == ops;
//   - GuestMemory and the Model agree on every op of every generated sequence (stateful,
//     shrinking to the shortest failing command list);
//   - every profile agrees with the Model for any seed;
//   - an op that fails changes nothing observable.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <ostream>

#include "scenario/mem/codec.h"
#include "scenario/mem/executor.h"
#include "scenario/mem/model.h"
#include "scenario/mem/profiles.h"

namespace vmmem::scenario::mem {

void showValue(const Op& op, std::ostream& os) {
  os << describe(op);
}

namespace {

constexpr uint64_t kTop = ~uint64_t{0};

// Tight limits, so that generated sequences of a hundred ops reach a full region table and an
// exhausted RAM budget as well as the ordinary paths.
constexpr GuestMemoryLimits kPropertyLimits{.max_ram_bytes = 1u << 20, .max_regions = 5};

// Addresses cluster where the bugs live: region bases and ends, 4 GiB, the top of the space.
rc::Gen<uint64_t> gen_address() {
  return rc::gen::weightedOneOf<uint64_t>({
      {6, rc::gen::map(rc::gen::pair(rc::gen::element<uint64_t>(0, 0x1000, 0x10000, 0x8000'0000,
                                                                0x1'0000'0000, kTop - 0xffff),
                                     rc::gen::inRange<uint64_t>(0, 0x12000)),
                       [](std::pair<uint64_t, uint64_t> p) { return p.first + p.second; })},
      {1, rc::gen::map(rc::gen::inRange<uint64_t>(0, 64), [](uint64_t d) { return kTop - d; })},
      {1, rc::gen::arbitrary<uint64_t>()},
  });
}

rc::Gen<uint64_t> gen_region_size(uint64_t max_size) {
  return rc::gen::weightedOneOf<uint64_t>({
      {6, rc::gen::map(rc::gen::inRange<uint64_t>(1, max_size / 0x1000 + 1),
                       [](uint64_t pages) { return pages * 0x1000; })},
      {1, rc::gen::element<uint64_t>(0, 1, 0x800, 0x1001)},
      {1, rc::gen::arbitrary<uint64_t>()},
  });
}

rc::Gen<uint8_t> gen_width() {
  return rc::gen::weightedOneOf<uint8_t>({
      {8, rc::gen::element<uint8_t>(1, 2, 4, 8)},
      {1, rc::gen::inRange<uint8_t>(0, kMaxWidth + 1)},
  });
}

rc::Gen<uint32_t> gen_length() {
  return rc::gen::weightedOneOf<uint32_t>({
      {8, rc::gen::inRange<uint32_t>(0, 0x2100)},
      {1, rc::gen::element<uint32_t>(0, kMaxBulkLength)},
  });
}

template <class T>
rc::Gen<Op> as_op(rc::Gen<T> gen) {
  return rc::gen::map(std::move(gen), [](T value) { return Op{value}; });
}

// Any op of the decodable domain; RAM regions no larger than max_region_size (except the
// rare arbitrary size, which the budget refuses).
rc::Gen<Op> gen_op(uint64_t max_region_size = 0x40000) {
  return rc::gen::weightedOneOf<Op>({
      {2, as_op(rc::gen::construct<AddRam>(gen_address(), gen_region_size(max_region_size)))},
      {1, as_op(rc::gen::construct<AddMmio>(gen_address(), gen_region_size(0x2000)))},
      {1, as_op(rc::gen::construct<RemoveRegion>(gen_address()))},
      {5, as_op(rc::gen::construct<Read>(gen_address(), gen_width()))},
      {5, as_op(rc::gen::construct<Write>(gen_address(), gen_width(),
                                          rc::gen::arbitrary<uint64_t>()))},
      {2, as_op(rc::gen::construct<ReadBulk>(gen_address(), gen_length()))},
      {2, as_op(rc::gen::construct<WriteBulk>(gen_address(), gen_length(),
                                              rc::gen::arbitrary<uint64_t>()))},
      {1, as_op(rc::gen::construct<HostSpan>(gen_address(), gen_length()))},
      {1, rc::gen::just(Op{Check{}})},
  });
}

RC_GTEST_PROP(MemCodec, DecodeInvertsEncode, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op());
  RC_ASSERT(decode_ops(encode_ops(ops)) == ops);
}

RC_GTEST_PROP(MemCodec, EveryByteStringDecodesIntoTheDomain, (const std::vector<uint8_t>& bytes)) {
  for (const Op& op : decode_ops(bytes))
    RC_ASSERT(in_decodable_domain(op));
}

RC_GTEST_PROP(MemModel, ProfilesAgreeWithTheModelForAnySeed, (uint64_t seed)) {
  const Profile<Op>& profile = *rc::gen::elementOf(profiles());
  RC_TAG(profile.name);
  Rng rng(seed);
  const auto failure = verify(profile.generate(rng, 64));
  if (failure) RC_FAIL(*failure);
}

RC_GTEST_PROP(MemModel, FailedOpsChangeNothing, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op(0x8000));
  GuestMemory memory(kPropertyLimits);
  Executor executor(memory, /*record_device_calls=*/false);
  // Everything a client can observe: the region table and the bytes of every RAM region.
  auto snapshot = [&memory] {
    std::vector<std::byte> contents;
    for (const vmmem::mem::RegionInfo& region : memory.regions()) {
      if (region.kind != vmmem::mem::RegionKind::kRam) continue;
      const size_t at = contents.size();
      contents.resize(at + region.size);
      VMM_CHECK(memory.read(region.base, std::span(contents).subspan(at)).ok(), "snapshot");
    }
    return std::make_pair(memory.regions(), contents);
  };
  for (const Op& op : ops) {
    const auto before = snapshot();
    if (executor(op).code == ErrorCode::kOk) continue;
    RC_ASSERT(snapshot() == before);
  }
}

// The stateful property: the model is the state, GuestMemory the system under test.
struct System {
  GuestMemory memory{kPropertyLimits};
  Executor executor{memory, /*record_device_calls=*/true};
};

struct ApplyOp : rc::state::Command<Model, System> {
  Op op = *gen_op();

  void apply(Model& model) const override { model.apply(op); }

  void run(const Model& state, System& system) const override {
    Model predicted = state;
    const Outcome expected = predicted.apply(op);
    const Outcome actual = system.executor(op);
    RC_ASSERT(expected == actual);
    RC_ASSERT(system.memory.check().ok());
    RC_ASSERT(system.memory.regions() == predicted.regions());
  }

  void show(std::ostream& os) const override { os << describe(op); }
};

RC_GTEST_PROP(MemModel, GuestMemoryBehavesLikeTheModel, ()) {
  System system;
  rc::state::check(Model(kPropertyLimits), system, rc::state::gen::execOneOfWithArgs<ApplyOp>());
}

}  // namespace
}  // namespace vmmem::scenario::mem
