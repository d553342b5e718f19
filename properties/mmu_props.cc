// RapidCheck properties of the MMU, on the mmu scenario's ops:
//   - the fuzz input format round-trips: decode(encode(input)) == input;
//   - every generated op sequence, under every configuration (Sv39/Sv48/Bare, Svade/Svadu,
//     coherent/relaxed, both TLB sizes, prefetch on/off), is judged correct by the Model op by
//     op, with the invariant checks after every op;
//   - every profile agrees with the Model for any seed;
//   - the op-sequence property counts what every translation and access ended in
//     (OutcomeDistribution, RC_CLASSIFY by sequence size) and fails when a fault kind or the
//     success path was never reached, for short and for long sequences alike.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <iostream>
#include <ostream>
#include <string>

#include "scenario/common/model_checker.h"
#include "scenario/common/outcome_distribution.h"
#include "scenario/common/runner.h"
#include "scenario/mmu/codec.h"
#include "scenario/mmu/executor.h"
#include "scenario/mmu/model.h"
#include "scenario/mmu/profiles.h"

namespace vmmem::scenario::mmu {

void showValue(const Op& op, std::ostream& os) {
  os << describe(op);
}

namespace {

namespace pte = vmmem::mmu::pte;

// A few pages where maps, corruptions and accesses keep meeting, plus the address-space edges.
// Pages 0-7: the setup's ordinary and odd pages; 8: a level-0 PTE turned into a pointer;
// 9: under a level-1 table pointer moved out of RAM; 10: W without R; 11: the scratch region,
// which ToggleScratch removes and brings back.
uint64_t page_va(uint64_t page) {
  if (page == 8) return kProfileVaBase + 0x20'0000;
  if (page == 9) return kProfileVaBase + 0x40'0000;
  if (page == 10) return kProfileVaBase + 0x20'1000;
  if (page == 11) return kProfileVaBase + 0x20'2000;
  return kProfileVaBase + page * 4096;
}

const std::vector<uint64_t> kEdges = {
    0x3f'ffff'fffc,   0xffff'ffc0'0000'0000, 0x40'0000'0000, 0xffff'ffff'ffff'fffc,
    0x7fff'ffff'fff8, 0xffff'8000'0000'0000, kDeviceBase,    kScratchBase};

rc::Gen<uint64_t> gen_va() {
  return rc::gen::weightedOneOf<uint64_t>({
      {12,
       rc::gen::map(
           rc::gen::pair(rc::gen::inRange<uint64_t>(0, 12), rc::gen::inRange<uint64_t>(0, 4096)),
           [](std::pair<uint64_t, uint64_t> p) { return page_va(p.first) + p.second; })},
      {2, rc::gen::map(rc::gen::inRange<uint64_t>(0, 4),
                       [](uint64_t i) { return kProfileVaBase + i * 0x20'0000; })},
      {1, rc::gen::elementOf(kEdges)},
      // The last bytes of a page: accesses of 2, 4 or 8 bytes that cross into the next page
      // (pages 0-3 are consecutive RAM pages; 3 runs into the execute-only page 4).
      {2, rc::gen::map(
              rc::gen::pair(rc::gen::inRange<uint64_t>(0, 4), rc::gen::inRange<uint64_t>(1, 8)),
              [](std::pair<uint64_t, uint64_t> p) { return page_va(p.first) + 4096 - p.second; })},
  });
}

rc::Gen<uint64_t> gen_pa(uint64_t size) {
  static const std::vector<uint64_t> kPhysical = {
      kDataBase,   kDataBase + 0x1000, kRamBase,    kScratchBase,
      kDeviceBase, 0x8020'0000,        0x4000'0000, 0};
  return rc::gen::map(rc::gen::elementOf(kPhysical),
                      [size](uint64_t pa) { return size >= 0x4000'0000 ? pa & ~(size - 1) : pa; });
}

rc::Gen<uint8_t> gen_flags() {
  constexpr uint8_t kRw = pte::kRead | pte::kWrite | pte::kAccessed | pte::kDirty;
  return rc::gen::weightedOneOf<uint8_t>({
      {6, rc::gen::just(kRw)},
      {4, rc::gen::element<uint8_t>(kRw | pte::kUser, kRw | pte::kGlobal, pte::kRead,
                                    pte::kRead | pte::kAccessed, pte::kExecute | pte::kAccessed,
                                    pte::kRead | pte::kWrite | pte::kAccessed)},
      {1, rc::gen::arbitrary<uint8_t>()},
  });
}

rc::Gen<Op> gen_map() {
  return rc::gen::mapcat(
      rc::gen::weightedElement<uint64_t>(
          {{8, 0x1000}, {2, 0x20'0000}, {1, 0x4000'0000}, {1, 0x3000}}),
      [](uint64_t size) {
        return rc::gen::map(
            rc::gen::tuple(gen_va(), gen_pa(size), gen_flags()),
            [size](std::tuple<uint64_t, uint64_t, uint8_t> t) {
              const uint64_t va = std::get<0>(t) & ~(std::min<uint64_t>(size, 0x1000) - 1);
              return Op{Map{va & ~(size - 1), std::get<1>(t), size, std::get<2>(t)}};
            });
      });
}

template <class T>
rc::Gen<Op> as_op(rc::Gen<T> gen) {
  return rc::gen::map(std::move(gen), [](T value) { return Op{value}; });
}

rc::Gen<Access> gen_access() {
  return rc::gen::element(Access::kLoad, Access::kStore, Access::kFetch);
}

rc::Gen<Op> gen_op() {
  static const std::vector<uint64_t> kCorruptions = {1,
                                                     2,
                                                     2,
                                                     0xe,
                                                     0x10,
                                                     0x20,
                                                     0x40,
                                                     0x80,
                                                     0xc6,
                                                     uint64_t{1} << 54,
                                                     uint64_t{1} << 10,
                                                     uint64_t{1} << 30,
                                                     (kRamBase ^ kScratchBase) >> 2};
  return rc::gen::weightedOneOf<Op>({
      {8, gen_map()},
      {2, as_op(rc::gen::construct<Unmap>(gen_va()))},
      {2, as_op(rc::gen::construct<Protect>(gen_va(), gen_flags()))},
      {2, as_op(rc::gen::construct<SetAsid>(rc::gen::inRange<uint8_t>(0, kSpaces)))},
      {2, as_op(rc::gen::construct<SetPrivilege>(
              rc::gen::element(Privilege::kUser, Privilege::kSupervisor),
              rc::gen::arbitrary<bool>(), rc::gen::arbitrary<bool>()))},
      {10, as_op(rc::gen::construct<Translate>(gen_va(), gen_access()))},
      {6, as_op(rc::gen::construct<Load>(gen_va(), rc::gen::element<uint8_t>(1, 2, 4, 8)))},
      {6, as_op(rc::gen::construct<Store>(gen_va(), rc::gen::element<uint8_t>(1, 2, 4, 8),
                                          rc::gen::arbitrary<uint64_t>()))},
      {4,
       as_op(rc::gen::construct<Flush>(
           rc::gen::map(rc::gen::inRange<unsigned>(0, vmmem::mmu::kFlushKinds),
                        [](unsigned k) { return static_cast<FlushKind>(k); }),
           rc::gen::oneOf(gen_va(),
                          rc::gen::map(gen_va(), [](uint64_t va) { return va & ~uint64_t{4095}; })),
           rc::gen::element<uint16_t>(1, 2, 0xffff, 0),
           rc::gen::element<uint64_t>(0, 0x1000, 0x2000, 0x3000, 0x5001, 0x20'0000, 0x4000'0000)))},
      {2, as_op(rc::gen::construct<Batch>(gen_va(), rc::gen::inRange<uint8_t>(0, kMaxBatch + 1),
                                          rc::gen::element<int32_t>(8, 4096, -4096, 0x3008),
                                          gen_access()))},
      {4, as_op(rc::gen::construct<CorruptPte>(
              gen_va(), rc::gen::weightedElement<uint8_t>({{4, 0}, {1, 1}, {1, 2}, {1, 3}}),
              rc::gen::elementOf(kCorruptions)))},
      {2, rc::gen::just(Op{ToggleScratch{}})},
  });
}

rc::Gen<Config> gen_config() {
  return rc::gen::map(rc::gen::arbitrary<uint8_t>(), decode_config);
}

RC_GTEST_PROP(MmuCodec, DecodeInvertsEncode, ()) {
  const Config config = *gen_config();
  const auto ops = *rc::gen::container<std::vector<Op>>(gen_op());
  const Input input = decode_input(encode_input(config, ops));
  RC_ASSERT(input.config == config);
  RC_ASSERT(input.ops == ops);
}

RC_GTEST_PROP(MmuCodec, EveryByteStringDecodesIntoTheDomain, (const std::vector<uint8_t>& bytes)) {
  const Input input = decode_input(bytes);
  RC_ASSERT(in_decodable_domain(input.config));
  for (const Op& op : input.ops)
    RC_ASSERT(in_decodable_domain(op));
}

RC_GTEST_PROP(MmuModel, ProfilesAgreeWithTheModelForAnySeed, (uint64_t seed)) {
  const Profile<Op>& profile = *rc::gen::elementOf(profiles());
  RC_TAG(profile.name);
  Rng rng(seed);
  const auto failure = verify(profile_config(profile.name), profile.generate(rng, 64));
  if (failure) RC_FAIL(*failure);
}

// "Translate", "Map", ...: the op's kind, as describe() names it.
std::string op_name(const Op& op) {
  const std::string text = describe(op);
  return text.substr(0, text.find('{'));
}

// "Translate: not writable", "Load: ok", ...: what a translation or access ended in.
std::string fault_tag(const Op& op, const Outcome& outcome) {
  return op_name(op) + ": " + std::string(vmmem::mmu::to_string(outcome.fault));
}

// "Map: conflict", "Protect: invalid argument", ...: what a page-table change ended in.
std::string table_tag(const Op& op, const Outcome& outcome) {
  return op_name(op) + ": " + std::string(to_string(outcome.code));
}

TEST(MmuModel, EveryFaultKindAndSuccessAtEverySize) {
  // Short sequences (up to 40 ops after a few maps) and long ones are counted apart: each
  // must reach the success path and every fault the walker and the access path can report,
  // and the page-table builder's successes and its refusals of bad and conflicting requests.
  OutcomeDistribution seen[2];
  OutcomeDistribution table_changes[2];
  // Each case runs six sequences, each under its own configuration: enough ops for the rarer
  // faults in both size classes.
  const bool passed = rc::check("the MMU agrees with the model", [&seen, &table_changes] {
    for (int sequence = 0; sequence < 6; ++sequence) {
      const Config config = *gen_config();
      // The pages of page_va(): ordinary, execute-only, user, A clear, D clear, a pointer at
      // level 0, a table outside RAM, W without R, and one in the scratch region.
      std::vector<Op> ops = map_pages(4);
      ops.push_back(
          Map{kProfileVaBase + 4 * 4096, kDataBase, 4096, pte::kExecute | pte::kAccessed});
      ops.push_back(Map{kProfileVaBase + 5 * 4096, kDataBase, 4096,
                        pte::kRead | pte::kWrite | pte::kUser | pte::kAccessed | pte::kDirty});
      ops.push_back(Map{kProfileVaBase + 6 * 4096, kDataBase, 4096, pte::kRead | pte::kWrite});
      ops.push_back(Map{kProfileVaBase + 7 * 4096, kDataBase, 4096,
                        pte::kRead | pte::kWrite | pte::kAccessed});
      constexpr uint8_t kRwad = pte::kRead | pte::kWrite | pte::kAccessed | pte::kDirty;
      ops.push_back(Map{page_va(8), kDataBase, 4096, kRwad});
      ops.push_back(CorruptPte{page_va(8), 0, 0xc6});
      ops.push_back(Map{page_va(9), kDataBase, 4096, kRwad});
      ops.push_back(CorruptPte{page_va(9), 1, uint64_t{1} << 30});
      ops.push_back(Map{page_va(10), kDataBase, 4096, kRwad});
      ops.push_back(CorruptPte{page_va(10), 0, pte::kRead});
      ops.push_back(Map{page_va(11), kScratchBase, 4096, kRwad});
      const auto body = *rc::gen::container<std::vector<Op>>(gen_op());
      ops.insert(ops.end(), body.begin(), body.end());
      const int bucket = body.size() <= 40 ? 0 : 1;
      RC_CLASSIFY(bucket == 0, "short");
      RC_CLASSIFY(bucket == 1, "long");
      Executor executor(config);
      Model model(config);
      for (size_t i = 0; i < ops.size(); ++i) {
        const Outcome outcome = executor(ops[i]);
        if (auto complaint = model.judge(ops[i], outcome)) {
          RC_FAIL("op " + std::to_string(i) + ": " + describe(ops[i]) + "\n  " + *complaint +
                  "\n  mmu did: " + describe(outcome));
        }
        if (std::holds_alternative<Translate>(ops[i]) || std::holds_alternative<Load>(ops[i]) ||
            std::holds_alternative<Store>(ops[i])) {
          seen[bucket].add(fault_tag(ops[i], outcome));
        } else if (std::holds_alternative<Map>(ops[i]) || std::holds_alternative<Unmap>(ops[i]) ||
                   std::holds_alternative<Protect>(ops[i])) {
          table_changes[bucket].add(table_tag(ops[i], outcome));
        }
        const Status status = executor.check();
        RC_ASSERT(status.ok());
      }
    }
  });
  EXPECT_TRUE(passed);
  for (int bucket = 0; bucket < 2; ++bucket) {
    std::cout << (bucket == 0 ? "short" : "long") << " sequences, " << seen[bucket].total()
              << " translations and accesses:\n"
              << seen[bucket].table();
    for (unsigned f = 0; f < vmmem::mmu::kFaultKinds; ++f) {
      const std::string fault(vmmem::mmu::to_string(static_cast<vmmem::mmu::Fault>(f)));
      const size_t reached = seen[bucket].count("Translate: " + fault) +
                             seen[bucket].count("Load: " + fault) +
                             seen[bucket].count("Store: " + fault);
      // The physical access fault comes from loads and stores only; every other kind, the
      // success path included, from translations too.
      EXPECT_GT(reached, 0u) << fault << " never reached in " << (bucket == 0 ? "short" : "long")
                             << " sequences";
    }
    std::cout << (bucket == 0 ? "short" : "long") << " sequences, " << table_changes[bucket].total()
              << " page-table changes:\n"
              << table_changes[bucket].table();
    for (const char* tag : {"Map: ok", "Map: invalid argument", "Map: conflict", "Unmap: ok",
                            "Unmap: not found", "Protect: ok", "Protect: invalid argument"}) {
      EXPECT_GT(table_changes[bucket].count(tag), 0u)
          << tag << " never reached in " << (bucket == 0 ? "short" : "long") << " sequences";
    }
  }
}

}  // namespace
}  // namespace vmmem::scenario::mmu
