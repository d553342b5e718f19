#include "scenario/gc/profiles.h"

#include <algorithm>
#include <array>
#include <vector>

#include "scenario/gc/model.h"

namespace vmmem::scenario::gc {
namespace {

// The committed seeds are these profiles' bytes and every compiler must produce the same ones:
// never two draws from the Rng among the arguments of one call or the operands of one operator
// (their order is unspecified, and gcc and clang differ).

// Builds an op stream while a Model follows it, so ops can name roots by what they hold.
class Stream {
 public:
  Stream(Rng& rng, size_t count) : rng_(rng), count_(count) {}
  bool full() const { return ops_.size() >= count_; }
  size_t roots() const { return model_.root_count(); }
  const Model& model() const { return model_; }
  Rng& rng() { return rng_; }

  void push(const Op& op) {
    if (full()) return;
    model_.apply(op);
    ops_.push_back(op);
  }
  // A new object in the last root; returns that root.
  size_t make(uint8_t shape, uint32_t len = 0) {
    push(New{shape, len});
    return roots() - 1;
  }
  // Reference `slot` of the object in root `obj` := the object in root `target`.
  void link(size_t obj, uint64_t slot, size_t target) {
    if (obj >= roots() || target >= roots()) return;
    push(Store{static_cast<uint16_t>(obj), static_cast<uint16_t>(slot),
               static_cast<uint16_t>(target), false});
  }
  void unlink(size_t obj, uint64_t slot) {
    if (obj < roots())
      push(Store{static_cast<uint16_t>(obj), static_cast<uint16_t>(slot), 0, true});
  }
  void drop(size_t root) {
    if (root < roots()) push(DropRoot{static_cast<uint16_t>(root)});
  }
  void drop_newest() {
    if (roots() > 0) drop(roots() - 1);
  }
  // Keeps only the first `keep` roots.
  void drop_all_but(size_t keep) {
    while (roots() > keep && !full())
      drop_newest();
  }
  size_t any_root() { return rng_.below(roots()); }
  uint64_t raw_of(size_t root) const { return model_.root_raw(root); }
  // A root whose object has references, if any in a few tries.
  std::optional<size_t> any_holder() {
    for (int tries = 0; tries < 8 && roots() > 0; ++tries) {
      const size_t root = any_root();
      if (model_.root_refs(root) > 0) return root;
    }
    return std::nullopt;
  }
  void store_any() {
    const std::optional<size_t> holder = any_holder();
    if (!holder) return;
    const uint64_t slot = rng_.below(model_.root_refs(*holder));
    link(*holder, slot, any_root());
  }
  void load_any() {
    const std::optional<size_t> holder = any_holder();
    if (!holder) return;
    const uint64_t slot = rng_.below(model_.root_refs(*holder));
    push(Load{static_cast<uint16_t>(*holder), static_cast<uint16_t>(slot)});
  }
  void write_any() {
    if (roots() > 0) push(WriteBytes{static_cast<uint16_t>(any_root()), rng_.next()});
  }
  std::vector<Op> take() { return std::move(ops_); }

 private:
  Rng& rng_;
  size_t count_;
  Model model_;
  std::vector<Op> ops_;
};

uint8_t small_shape(Rng& rng) {
  constexpr std::array<uint8_t, 4> kShapes = {kPair, kNode, kLeaf, kWide};
  return kShapes[rng.below(kShapes.size())];
}

// Most objects die young: each round allocates a burst, keeps one in ten, and collects.
std::vector<Op> young_survival(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const size_t base = s.roots();
    for (int i = 0; i < 12; ++i) {
      const size_t obj = s.make(small_shape(rng));
      if (obj > 0 && s.model().root_refs(obj) > 0) s.link(obj, 0, obj - 1);
    }
    while (s.roots() > base + 1 && !s.full())
      s.drop(base + rng.below(s.roots() - base));
    if (s.roots() > 24) s.drop(rng.below(s.roots()));
    s.push(Minor{});
  }
  return s.take();
}

// A long-lived structure survives minor GCs until it is promoted, then young objects are
// stored into it (old -> young edges the write barrier must record).
std::vector<Op> old_promotion(Rng& rng, size_t count) {
  Stream s(rng, count);
  const size_t table = s.make(kRefArray, 32);
  for (int i = 0; i < 8; ++i) {
    const size_t node = s.make(kPair);
    s.link(table, static_cast<uint64_t>(i), node);
    s.drop_newest();
  }
  for (int i = 0; i < 4; ++i)
    s.push(Minor{});
  while (!s.full()) {
    const size_t young = s.make(small_shape(rng));
    s.link(table, rng.below(32), young);
    s.drop_newest();
    if (rng.percent(30)) s.push(Minor{});
    if (rng.percent(10))
      s.push(Load{static_cast<uint16_t>(table), static_cast<uint16_t>(rng.below(32))});
    s.drop_all_but(4);
    if (rng.percent(5)) s.push(Major{});
  }
  return s.take();
}

// Long- and short-lived objects interleaved, with stores both ways and writes to payloads.
std::vector<Op> mixed_lifetimes(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const unsigned roll = static_cast<unsigned>(rng.below(100));
    if (roll < 35) {
      s.make(small_shape(rng));
    } else if (roll < 40) {
      const uint32_t len = static_cast<uint32_t>(rng.below(64));
      s.make(rng.percent(50) ? kRefArray : kByteArray, len);
    } else if (roll < 60) {
      s.store_any();
    } else if (roll < 68) {
      s.load_any();
    } else if (roll < 76) {
      s.write_any();
    } else if (roll < 90) {
      if (s.roots() > 0) s.drop(s.any_root());
    } else if (roll < 97) {
      s.push(Minor{});
    } else {
      s.push(Major{});
    }
    if (s.roots() > 48) s.drop(s.any_root());
  }
  return s.take();
}

// A singly linked list long enough that a recursive marker would overflow its stack (in the
// bench; the seed is short), reached only from its head.
std::vector<Op> deep_list(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const size_t head = s.make(kNode);
    // Several lists per stream (each node takes three ops), long ones in long streams.
    const size_t length = 8 + rng.below(count / 8 + 1);
    for (size_t i = 0; i < length && !s.full(); ++i) {
      const size_t node = s.make(kNode);
      s.link(node, 0, node - 1);  // the new node points at the list so far
      s.drop(node - 1);           // the last root moves into its place: the list's new head
    }
    (void)head;
    s.push(Minor{});
    s.push(Verify{});
    s.push(Major{});
    s.drop_all_but(1);
  }
  return s.take();
}

// Rings of pairs and self-references, dropped whole: only a tracing collector reclaims them.
std::vector<Op> cycles(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const size_t first = s.roots();
    const size_t ring = 2 + rng.below(8);
    for (size_t i = 0; i < ring; ++i)
      s.make(kPair);
    for (size_t i = 0; i < ring; ++i) {
      s.link(first + i, 0, first + (i + 1) % ring);
      s.link(first + i, 1, first + i);
    }
    s.push(rng.percent(50) ? Op{Minor{}} : Op{Major{}});
    s.drop_all_but(first + (rng.percent(30) ? 1 : 0));
    s.push(Major{});
  }
  return s.take();
}

// Old objects with many reference slots take young objects, store after store, so many cards
// are dirtied and scanned; some stores overwrite the young reference with null again.
std::vector<Op> card_heavy(Rng& rng, size_t count) {
  Stream s(rng, count);
  const size_t array = s.make(kRefArray, 2048);
  const size_t wide = s.make(kWide);
  uint64_t next_card = 0;
  s.push(Minor{});
  s.push(Minor{});
  s.push(Minor{});
  // The array's last slot lies on the last card of its chunk's table, which the collector scans
  // on its own after the groups of eight; a young object reachable only from there.
  const size_t last = s.make(kLeaf);
  s.link(array, 2047, last);
  s.drop_all_but(2);
  s.push(Minor{});
  while (!s.full()) {
    const size_t young = s.make(small_shape(rng));
    if (rng.percent(70)) {
      // Card after card (64 slots of 8 bytes each): every card of the array, and so every
      // position in the collector's card groups, takes a young object in turn.
      s.link(array, next_card * 64 + rng.below(64), young);
      next_card = (next_card + 1) % 32;
    } else {
      s.link(wide, rng.below(16), young);
    }
    if (rng.percent(10)) s.unlink(array, rng.below(2048));
    s.drop_all_but(2);
    if (rng.percent(20)) s.push(Minor{});
    if (rng.percent(3)) s.push(Major{});
  }
  return s.take();
}

// Arrays large enough for the large-object space, with references into and out of it.
std::vector<Op> large_objects(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const uint32_t bytes = static_cast<uint32_t>(8192 + rng.below(kMaxLength - 8192));
    const size_t big = s.make(kByteArray, bytes);
    s.write_any();
    const uint32_t refs = static_cast<uint32_t>(1024 + rng.below(4096));
    const size_t table = s.make(kRefArray, refs);
    // Half the time the big array dies before the GC (a major one must reclaim it).
    const bool keep_big = rng.percent(50);
    if (keep_big) s.link(table, rng.below(refs), big);
    const size_t small = s.make(kPair);
    s.link(table, rng.below(refs), small);
    if (!keep_big) s.drop(big);
    s.push(rng.percent(50) ? Op{Minor{}} : Op{Major{}});
    if (s.roots() > 9) {
      s.drop(s.any_root());
      s.drop(s.any_root());
      s.drop(s.any_root());
      s.drop(s.any_root());
    }
  }
  return s.take();
}

// Allocation after allocation, almost nothing kept: the collector runs on its own (the seed
// runs with the small, paced nursery).
// Half the allocations are byte buffers of 6-8 KiB (just under the large-object size), so a
// stream of a few dozen ops fills the paced nursery (64 KiB - 1 MiB) again and again: the
// collections come from allocation (the heap's slow path, with the pacer's major trigger after
// each), not only from explicit Minor ops.
std::vector<Op> high_pressure(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    if (rng.percent(50)) {
      s.make(kByteArray, static_cast<uint32_t>(6144 + rng.below(1950)));
    } else {
      s.make(small_shape(rng));
    }
    if (s.roots() > 1 && s.model().root_refs(s.roots() - 1) > 0)
      s.link(s.roots() - 1, 0, s.any_root());
    if (rng.percent(95)) s.drop_newest();
    if (s.roots() > 32) s.drop(s.any_root());
    if (rng.percent(4)) s.push(Minor{});
  }
  return s.take();
}

// Byte buffers of 6-8 KiB, most of them kept for a while (at most 32 roots): allocation fills
// the paced nursery, what survives one minor collection is promoted (the seed's promotion age is
// 1), and the old generation passes the pacer's major trigger, so the allocation slow path runs
// the major collection the pacer asks for. Dropped roots leave old garbage for it.
std::vector<Op> old_growth(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    s.make(kByteArray, static_cast<uint32_t>(6144 + rng.below(1950)));
    if (rng.percent(30)) s.drop_newest();
    if (s.roots() > 32) s.drop(s.any_root());
    if (rng.percent(10)) s.write_any();
  }
  return s.take();
}

// Few allocations; the mutator mostly reads and writes a stable graph between rare GCs.
std::vector<Op> low_pressure(Rng& rng, size_t count) {
  Stream s(rng, count);
  for (int i = 0; i < 6; ++i)
    s.make(small_shape(rng));
  while (!s.full()) {
    const unsigned roll = static_cast<unsigned>(rng.below(100));
    if (roll < 40) {
      s.store_any();
    } else if (roll < 70) {
      s.load_any();
    } else if (roll < 85) {
      s.write_any();
    } else if (roll < 92) {
      s.make(small_shape(rng));
    } else if (roll < 96) {
      if (s.roots() > 4) s.drop(s.any_root());
    } else {
      s.push(rng.percent(70) ? Op{Minor{}} : Op{Major{}});
    }
    if (s.roots() > 24) s.drop(s.any_root());
  }
  return s.take();
}

// GCBench in miniature: complete binary trees of pairs built top-down and bottom-up.
std::vector<Op> binary_trees(Rng& rng, size_t count) {
  Stream s(rng, count);
  while (!s.full()) {
    const size_t depth = 2 + rng.below(3);
    const size_t base = s.roots();
    // Bottom-up: leaves first, then each level pairs the two roots below it.
    for (size_t i = 0; i < (size_t{1} << depth) && !s.full(); ++i)
      s.make(kPair);
    while (s.roots() > base + 1 && !s.full()) {
      const size_t parent = s.make(kPair);
      s.link(parent, 0, base);
      s.link(parent, 1, base + 1);
      s.drop(base + 1);
      s.drop(base);
    }
    // Top-down: a root pair whose children are made and linked one at a time.
    const size_t top = s.make(kPair);
    for (size_t i = 0; i < depth && !s.full(); ++i) {
      const size_t child = s.make(kPair);
      s.link(top, i & 1, child);
      s.drop_newest();
    }
    s.push(Minor{});
    if (rng.percent(40)) s.push(Major{});
    s.drop_all_but(rng.percent(50) ? base : base + 1);
    if (s.roots() > 6) s.drop(0);
  }
  return s.take();
}

// Every refusal the collector owes: unknown shapes, slots past the end, foreign and interior
// pointers, arrays too large for the heap, mixed with valid ops so refusals meet live state.
std::vector<Op> edge_cases(Rng& rng, size_t count) {
  Stream s(rng, count);
  constexpr std::array<uint32_t, 4> kEdges = {0, kMaxLength, kHugeLength, ~uint32_t{0}};
  // Every kind of bad handle passed to every call that takes a handle, once.
  s.make(kPair);
  for (uint8_t kind = 0; kind < static_cast<uint8_t>(BadHandleKind::kCount); ++kind) {
    for (uint8_t use = 0; use < static_cast<uint8_t>(HandleUse::kCount); ++use)
      s.push(BadHandle{0, static_cast<BadHandleKind>(kind), static_cast<HandleUse>(use)});
  }
  // Each option good, then bad (below its range, or not whole pages, or not above 1, ...).
  constexpr std::array<std::array<uint16_t, 2>, static_cast<size_t>(OptionField::kCount)>
      kOptionValues = {{{3, 16},
                        {128, 63},
                        {1024, 129},
                        {8192, 1024},
                        {4096, 255},
                        {8192, 1024},
                        {512, 256},
                        {4, 65532}}};
  for (uint8_t field = 0; field < kOptionValues.size(); ++field) {
    for (uint16_t value : kOptionValues[field])
      s.push(CreateHeap{static_cast<OptionField>(field), value});
  }
  // Each invariant the verifier guards, broken once on the pair in root 0.
  for (uint8_t kind = 0; kind < static_cast<uint8_t>(CorruptKind::kCount); ++kind)
    s.push(Corrupt{0, static_cast<CorruptKind>(kind)});
  // And a large object's chunk header.
  const size_t large = s.make(kByteArray, 9000);
  s.push(Corrupt{static_cast<uint16_t>(large), CorruptKind::kChunkHeader});
  s.drop(large);
  while (!s.full()) {
    switch (rng.below(12)) {
      case 0:
        s.push(New{static_cast<uint8_t>(kShapeCount + rng.below(250)), 0});
        break;
      case 1: {
        const uint8_t shape = rng.percent(50) ? kRefArray : kByteArray;
        s.push(New{shape, kEdges[rng.below(kEdges.size())]});
        break;
      }
      case 2:
        if (s.roots() > 0) {
          const size_t obj = s.any_root();
          s.push(BadSlot{static_cast<uint16_t>(obj), static_cast<uint16_t>(rng.below(3)),
                         rng.percent(50)});
        }
        break;
      case 3:
        if (auto holder = s.any_holder()) {
          const size_t target = s.any_root();
          const ForeignKind kind = rng.percent(50) ? ForeignKind::kStatic : ForeignKind::kInterior;
          s.push(
              StoreForeign{static_cast<uint16_t>(*holder), 0, static_cast<uint16_t>(target), kind});
        }
        break;
      case 4:
        s.make(small_shape(rng));
        break;
      case 5:
        s.store_any();
        break;
      case 6:
        s.load_any();
        break;
      case 7:
        s.push(rng.percent(50) ? Op{Minor{}} : Op{Verify{}});
        break;
      case 8:
        if (s.roots() > 0) {
          // A range inside the raw bytes, or one that runs up to 8 bytes past their end.
          const size_t obj = s.any_root();
          const uint64_t raw = std::min<uint64_t>(s.raw_of(obj), 0xfff0);
          const uint64_t offset = rng.below(raw + 1);
          uint64_t size = rng.below(raw - offset + 1);
          if (rng.percent(25)) size = raw - offset + 1 + rng.below(8);
          s.push(ReadBytes{static_cast<uint16_t>(obj), static_cast<uint16_t>(offset),
                           static_cast<uint16_t>(size)});
        }
        break;
      case 9:
        if (s.roots() > 0) {
          const size_t obj = s.any_root();
          const uint64_t past = rng.below(3);
          const bool write = rng.percent(50);
          s.push(BadBytes{static_cast<uint16_t>(obj), static_cast<uint16_t>(past), write});
        }
        break;
      case 10:
        if (s.roots() > 0) {
          const size_t obj = s.any_root();
          const auto kind =
              static_cast<BadHandleKind>(rng.below(static_cast<uint64_t>(BadHandleKind::kCount)));
          const auto use =
              static_cast<HandleUse>(rng.below(static_cast<uint64_t>(HandleUse::kCount)));
          s.push(BadHandle{static_cast<uint16_t>(obj), kind, use});
        }
        break;
      default:
        if (s.roots() > 8) s.drop(s.any_root());
        s.make(kLeaf);
    }
  }
  return s.take();
}

const std::array<Profile<Op>, 12> kProfiles = {{
    {"young_survival", "bursts of small objects, one in ten kept, a minor GC each", young_survival},
    {"old_promotion", "a promoted table takes young objects (old -> young)", old_promotion},
    {"mixed_lifetimes", "long- and short-lived objects, stores, loads and writes", mixed_lifetimes,
     96},
    {"deep_list", "a long linked list reached only from its head", deep_list, 96},
    {"cycles", "rings and self-references dropped whole", cycles},
    {"card_heavy", "many young objects stored into old arrays", card_heavy, 64},
    {"large_objects", "arrays for the large-object space, linked both ways", large_objects, 64},
    {"high_pressure", "allocation after allocation, almost nothing kept", high_pressure, 160},
    {"old_growth", "kept buffers promoted until the pacer's major trigger", old_growth, 160},
    {"low_pressure", "a stable graph read and written between rare GCs", low_pressure},
    {"binary_trees", "GCBench in miniature: trees built bottom-up and top-down", binary_trees, 96},
    {"edge_cases", "every refusal among valid ops", edge_cases, 168},
}};

}  // namespace

std::span<const Profile<Op>> profiles() {
  return kProfiles;
}

Config seed_config(std::string_view profile) {
  Config config;
  if (profile == "old_promotion" || profile == "card_heavy") config.promotion_age = 1;
  if (profile == "young_survival") config.promotion_age = 3;
  if (profile == "high_pressure" || profile == "old_growth") config.paced_nursery = true;
  if (profile == "old_growth") config.promotion_age = 1;
  if (profile == "edge_cases") config.gc_every = 5;
  if (profile == "mixed_lifetimes") config.gc_every = 32;
  return config;
}

}  // namespace vmmem::scenario::gc
