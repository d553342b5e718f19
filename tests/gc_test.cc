// Collector edge cases by name: deep lists, cycles, a young object reachable only through an old
// one's card, promotion at exactly the age limit, the last card of a table, huge arrays, every
// refusal of the public API, out-of-memory, the verifier catching planted corruption, statistics
// as JSON, the pacer, and the debug options. Every heap test ends with verify().
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "alloc/sanitizer.h"
#include "gc/chunk.h"
#include "gc/heap.h"
#include "gc/pacer.h"
#include "gc/size_classes.h"
#include "gc/young_space.h"

namespace vmmem::gc {
namespace {

std::span<const std::byte> bytes_of(const uint64_t& value) {
  return {reinterpret_cast<const std::byte*>(&value), sizeof value};
}

Options small_options() {
  Options options;
  options.nursery_bytes = 256 << 10;
  options.min_nursery_bytes = 64 << 10;
  options.max_nursery_bytes = 1 << 20;
  options.heap_limit_bytes = 256 << 20;
  options.promotion_age = 2;  // the card and statistics tests count two minor collections
  return options;
}

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override { make(small_options()); }
  void TearDown() override {
    if (heap == nullptr) return;
    const Status status = heap->verify();
    EXPECT_TRUE(status.ok()) << status.message();
  }
  void make(const Options& options) {
    auto created = Heap::create(options);
    ASSERT_TRUE(created.ok()) << created.status().message();
    heap = std::move(created.value());
    node = heap->register_shape({"node", 2, 8, ArrayKind::kNone}).value();
    refs = heap->register_shape({"refs", 0, 8, ArrayKind::kRefs}).value();
    bytes = heap->register_shape({"bytes", 0, 0, ArrayKind::kBytes}).value();
  }
  Handle new_node(uint64_t id) {
    Handle h = heap->new_object(node).value();
    EXPECT_TRUE(heap->write_bytes(h, 0, bytes_of(id)).ok());
    return h;
  }
  // A new node held only by a persistent handle (its local dies with the helper's scope).
  Handle new_global(uint64_t id) {
    HandleScope scope(*heap);
    return heap->make_persistent(new_node(id)).value();
  }
  uint64_t id_of(Handle h) {
    uint64_t id = 0;
    EXPECT_TRUE(heap->read_bytes(h, 0, {reinterpret_cast<std::byte*>(&id), 8}).ok());
    return id;
  }
  static uint64_t id_of(const Heap& heap, const Object* object) {
    uint64_t id;
    std::memcpy(&id, heap.raw_bytes(const_cast<Object*>(object)), 8);
    return id;
  }
  // A list of `n` nodes with ids n-1 .. 0 from the head, held by a persistent handle.
  Handle build_list(uint64_t n) {
    Handle head = heap->make_persistent(Handle{}).value();
    for (uint64_t i = 0; i < n; ++i) {
      HandleScope scope(*heap);
      Handle cell = new_node(i);
      EXPECT_TRUE(heap->store(cell, 0, head).ok());
      EXPECT_TRUE(heap->assign(head, cell).ok());
    }
    return head;
  }
  // build_list through the raw fast path (the deep-list tests stay fast under sanitizers).
  Handle build_list_raw(uint64_t n) {
    Handle head = heap->make_persistent(Handle{}).value();
    for (uint64_t i = 0; i < n; ++i) {
      HandleScope scope(*heap);
      Object* cell = heap->allocate_raw(node);
      heap->store_slot(cell, 0, heap->raw(head));
      std::memcpy(heap->raw_bytes(cell), &i, sizeof i);
      EXPECT_TRUE(heap->assign(head, heap->local_for(cell)).ok());
    }
    return head;
  }
  uint64_t list_length(Handle head) {
    uint64_t n = 0;
    for (const Object* p = heap->raw(head); p != nullptr; p = Heap::load_slot(p, 0))
      ++n;
    return n;
  }

  std::unique_ptr<Heap> heap;
  ShapeId node = 0, refs = 0, bytes = 0;
};

// --- options and shapes ---

TEST(GcOptionsTest, BadOptionsAreRefusedByName) {
  Options options;
  options.promotion_age = 0;
  EXPECT_EQ(Heap::create(options).status().code(), ErrorCode::kInvalidArgument);
  options.promotion_age = 16;
  EXPECT_EQ(Heap::create(options).status().code(), ErrorCode::kInvalidArgument);
  options = Options{};
  options.nursery_bytes = options.max_nursery_bytes * 2;
  EXPECT_EQ(Heap::create(options).status().code(), ErrorCode::kInvalidArgument);
  options = Options{};
  options.large_object_bytes = 100;
  EXPECT_EQ(Heap::create(options).status().code(), ErrorCode::kInvalidArgument);
  options = Options{};
  options.growth_factor = 1.0;
  EXPECT_EQ(Heap::create(options).status().code(), ErrorCode::kInvalidArgument);
  options = Options{};
  options.heap_limit_bytes = options.nursery_bytes / 2;
  EXPECT_EQ(Heap::create(options).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Heap::create(Options{}).ok());
}

TEST_F(GcTest, ShapesAreNamedOnceAndFoundByName) {
  EXPECT_EQ(heap->find_shape("node").value(), node);
  EXPECT_EQ(heap->shape_name(refs), "refs");
  EXPECT_EQ(heap->register_shape({"node", 1, 0, ArrayKind::kNone}).status().code(),
            ErrorCode::kConflict);
  EXPECT_EQ(heap->register_shape({"", 1, 0, ArrayKind::kNone}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(heap->find_shape("nope").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(heap->shape_info(kNoShape), nullptr);
  EXPECT_EQ(heap->shape_info(999), nullptr);
}

// --- objects, handles and their refusals ---

TEST_F(GcTest, NewObjectsAreZeroedAndHoldWhatIsStored) {
  Handle a = heap->new_object(node).value();
  ObjectInfo info = heap->info(a).value();
  EXPECT_EQ(info.ref_count, 2u);
  EXPECT_EQ(info.raw_size, 8u);
  EXPECT_EQ(info.size, 32u);
  EXPECT_EQ(info.space, Space::kNursery);
  EXPECT_TRUE(heap->load(a, 0).value().is_null());
  EXPECT_EQ(id_of(a), 0u);
  Handle b = new_node(7);
  ASSERT_TRUE(heap->store(a, 1, b).ok());
  Handle loaded = heap->load(a, 1).value();
  EXPECT_TRUE(heap->same(loaded, b).value());
  EXPECT_EQ(id_of(loaded), 7u);
  ASSERT_TRUE(heap->store(a, 1, Handle{}).ok());
  EXPECT_TRUE(heap->load(a, 1).value().is_null());
}

TEST_F(GcTest, EveryBadInputIsRefusedAndChangesNothing) {
  Handle a = new_node(1);
  Handle b = new_node(2);
  ASSERT_TRUE(heap->store(a, 0, b).ok());
  const uint64_t used_before = heap->stats().young_bytes;

  // new_object, in the documented order.
  EXPECT_EQ(heap->new_object(999).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(heap->new_object(kNoShape).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(heap->new_object(node, 3).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(heap->new_object(refs, kMaxArrayLength + 1).status().code(),
            ErrorCode::kInvalidArgument);
  const Status too_big = heap->new_object(bytes, kMaxArrayLength).status();
  EXPECT_EQ(too_big.code(), ErrorCode::kOutOfMemory);
  EXPECT_NE(std::string(too_big.what()).find("heap limit"), std::string::npos);
  EXPECT_EQ(heap->allocate_raw(999), nullptr);

  // Slots out of range.
  Status status = heap->store(a, 2, b);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(status.address(), 2u);
  EXPECT_EQ(status.size(), 2u);
  EXPECT_EQ(heap->load(a, 2).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(heap->store(a, UINT64_MAX, b).code(), ErrorCode::kInvalidArgument);

  // Bytes out of range.
  uint64_t word = 5;
  EXPECT_EQ(heap->write_bytes(a, 1, bytes_of(word)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(heap->write_bytes(a, UINT64_MAX, bytes_of(word)).code(), ErrorCode::kInvalidArgument);
  std::byte out[9];
  EXPECT_EQ(heap->read_bytes(a, 0, out).code(), ErrorCode::kInvalidArgument);

  // Handles: null, another heap's, out of scope, released.
  EXPECT_EQ(heap->store(Handle{}, 0, b).code(), ErrorCode::kInvalidArgument);
  auto created = Heap::create(small_options());
  std::unique_ptr<Heap> other = std::move(created.value());
  ShapeId other_node = other->register_shape({"node", 2, 8, ArrayKind::kNone}).value();
  Handle foreign = other->new_object(other_node).value();
  EXPECT_EQ(heap->store(a, 0, foreign).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(heap->store(foreign, 0, a).code(), ErrorCode::kInvalidArgument);
  Handle gone;
  {
    HandleScope scope(*heap);
    gone = new_node(3);
  }
  EXPECT_EQ(heap->store(a, 0, gone).code(), ErrorCode::kNotFound);
  Handle global = heap->make_persistent(b).value();
  ASSERT_TRUE(heap->release(global).ok());
  EXPECT_EQ(heap->store(a, 0, global).code(), ErrorCode::kNotFound);
  EXPECT_EQ(heap->release(global).code(), ErrorCode::kNotFound);
  Handle reused = heap->make_persistent(b).value();  // same cell, new generation
  EXPECT_EQ(reused.index(), global.index());
  EXPECT_EQ(heap->release(global).code(), ErrorCode::kNotFound);
  EXPECT_EQ(heap->release(a).code(), ErrorCode::kInvalidArgument);  // a local
  Handle null_cell = heap->make_persistent(Handle{}).value();
  EXPECT_EQ(heap->store(null_cell, 0, b).code(), ErrorCode::kInvalidArgument);

  // A pointer that is not an object of this heap.
  uint64_t on_stack[4] = {};
  const Object* stack_object = reinterpret_cast<const Object*>(on_stack);
  EXPECT_EQ(heap->store_pointer(a, 0, stack_object).code(), ErrorCode::kInvalidArgument);
  const Object* interior =
      reinterpret_cast<const Object*>(reinterpret_cast<const std::byte*>(heap->raw(b)) + 8);
  EXPECT_EQ(heap->store_pointer(a, 0, interior).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(heap->store_pointer(a, 0, other->raw(foreign)).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(heap->store_pointer(a, 1, heap->raw(b)).ok());

  // Nothing changed: slot 0 still holds b, slot 1 holds b from the good store_pointer.
  EXPECT_TRUE(heap->same(heap->load(a, 0).value(), b).value());
  EXPECT_EQ(id_of(a), 1u);
  EXPECT_GE(heap->stats().young_bytes, used_before);
  EXPECT_TRUE(other->verify().ok());
}

TEST_F(GcTest, HandlesFollowTheirObjectsAcrossCollections) {
  Handle a = new_node(11);
  Handle global = heap->make_persistent(new_node(22)).value();
  ASSERT_TRUE(heap->store(a, 0, global).ok());
  const Object* before = heap->raw(a);
  ASSERT_TRUE(heap->minor().ok());
  EXPECT_NE(heap->raw(a), before);
  EXPECT_EQ(heap->info(a).value().space, Space::kSurvivor);
  EXPECT_EQ(id_of(a), 11u);
  EXPECT_EQ(id_of(global), 22u);
  EXPECT_TRUE(heap->same(heap->load(a, 0).value(), global).value());
  ASSERT_TRUE(heap->major().ok());
  EXPECT_EQ(heap->info(a).value().space, Space::kOld);
  EXPECT_EQ(id_of(heap->load(a, 0).value()), 22u);
  EXPECT_TRUE(heap->verify_after_major().ok());
}

TEST_F(GcTest, ClosingAScopeLetsItsObjectsDie) {
  {
    HandleScope scope(*heap);
    for (int i = 0; i < 1000; ++i)
      new_node(i);
    EXPECT_GE(heap->open_locals(), 1000u);
  }
  ASSERT_TRUE(heap->minor().ok());
  EXPECT_EQ(heap->stats().young_bytes, 0u);
  EXPECT_EQ(heap->stats().old_bytes, 0u);
}

// --- the shapes of the heap graph ---

TEST_F(GcTest, AMillionLongListSurvivesMinorAndMajorCollections) {
  Handle head = build_list_raw(1000000);
  ASSERT_TRUE(heap->minor().ok());
  ASSERT_TRUE(heap->major().ok());
  ASSERT_EQ(list_length(head), 1000000u);
  EXPECT_EQ(id_of(head), 999999u);
  const Status status = heap->verify_after_major();
  EXPECT_TRUE(status.ok()) << status.message();
  // Drop it: the next major collection frees all of it.
  ASSERT_TRUE(heap->release(head).ok());
  ASSERT_TRUE(heap->major().ok());
  EXPECT_EQ(heap->stats().old_bytes, 0u);
}

TEST_F(GcTest, CyclesLiveWhileRootedAndDieTogether) {
  Handle ring = new_global(0);
  {
    HandleScope scope(*heap);
    Handle previous = heap->local(ring).value();
    for (uint64_t i = 1; i < 100; ++i) {
      Handle next = new_node(i);
      ASSERT_TRUE(heap->store(previous, 0, next).ok());
      previous = next;
    }
    ASSERT_TRUE(heap->store(previous, 0, ring).ok());
    ASSERT_TRUE(heap->store(ring, 1, ring).ok());  // a self-loop too
  }
  ASSERT_TRUE(heap->major().ok());
  uint64_t n = 0;
  heap->visit_reachable([&](const Object* object) {
    EXPECT_EQ(id_of(*heap, object), n);
    ++n;
  });
  EXPECT_EQ(n, 100u);
  EXPECT_EQ(heap->stats().old_bytes, 100u * 32);
  ASSERT_TRUE(heap->release(ring).ok());
  ASSERT_TRUE(heap->major().ok());
  EXPECT_EQ(heap->stats().old_bytes, 0u);
  EXPECT_TRUE(heap->verify_after_major().ok());
}

TEST_F(GcTest, AYoungObjectReachableOnlyFromAnOldOneSurvivesThroughItsCard) {
  Handle old = heap->make_persistent(new_node(1)).value();
  ASSERT_TRUE(heap->major().ok());
  ASSERT_EQ(heap->info(old).value().space, Space::kOld);
  EXPECT_FALSE(heap->card_dirty(heap->raw(old), 1));
  {
    HandleScope scope(*heap);
    ASSERT_TRUE(heap->store(old, 1, new_node(2)).ok());
  }
  EXPECT_TRUE(heap->card_dirty(heap->raw(old), 1));
  ASSERT_TRUE(heap->minor().ok());
  // Still young (age 1 < promotion age 2): the card stays dirty.
  Handle young = heap->load(old, 1).value();
  EXPECT_EQ(heap->info(young).value().space, Space::kSurvivor);
  EXPECT_EQ(id_of(young), 2u);
  EXPECT_TRUE(heap->card_dirty(heap->raw(old), 1));
  EXPECT_GE(heap->stats().recent.back().cards_scanned, 1u);
  ASSERT_TRUE(heap->minor().ok());
  // Promoted: nothing young left behind the card, so the minor collection cleaned it.
  young = heap->load(old, 1).value();
  EXPECT_EQ(heap->info(young).value().space, Space::kOld);
  EXPECT_EQ(id_of(young), 2u);
  EXPECT_FALSE(heap->card_dirty(heap->raw(old), 1));
}

TEST_F(GcTest, TheVerifierCatchesAnOldToYoungSlotOnACleanCard) {
  Handle old = heap->make_persistent(new_node(1)).value();
  ASSERT_TRUE(heap->major().ok());
  Handle young = new_node(2);
  // A store into an old holder that skips the barrier is reported; the barrier's store is not.
  auto expect_clean_card_report = [&](Handle holder, uint64_t slot) {
    heap->raw(holder)->slots()[slot] = heap->raw(young);
    const Status status = heap->verify();
    EXPECT_EQ(status.code(), ErrorCode::kBrokenInvariant);
    EXPECT_NE(std::string(status.what()).find("clean card"), std::string::npos) << status.message();
    heap->store_slot(heap->raw(holder), slot, heap->raw(young));
    EXPECT_TRUE(heap->verify().ok());
  };
  expect_clean_card_report(old, 0);
  // A large array is old from birth.
  Handle array = heap->make_persistent(heap->new_object(refs, 4096).value()).value();
  ASSERT_EQ(heap->info(array).value().space, Space::kLarge);
  expect_clean_card_report(array, 4095);
}

TEST_F(GcTest, TheVerifierCatchesAHandleHoldingAnInteriorPointer) {
  Handle node_handle = new_node(1);
  Object* interior =
      reinterpret_cast<Object*>(reinterpret_cast<std::byte*>(heap->raw(node_handle)) + 8);
  const Handle local = heap->local_for(interior);
  const Status status = heap->verify();
  EXPECT_EQ(status.code(), ErrorCode::kBrokenInvariant);
  EXPECT_NE(std::string(status.what()).find("local handle"), std::string::npos) << status.message();
  ASSERT_TRUE(heap->assign(local, Handle{}).ok());
  EXPECT_TRUE(heap->verify().ok());
}

class PromotionAgeTest : public GcTest, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(PromotionAgeTest, ObjectsArePromotedAtExactlyTheAgeLimit) {
  Options options = small_options();
  options.promotion_age = GetParam();
  make(options);
  Handle h = heap->make_persistent(new_node(5)).value();
  for (uint32_t minor = 1; minor <= GetParam(); ++minor) {
    ASSERT_TRUE(heap->minor().ok());
    const ObjectInfo info = heap->info(h).value();
    if (minor < GetParam()) {
      EXPECT_EQ(info.space, Space::kSurvivor) << minor;
      EXPECT_EQ(info.age, minor);
    } else {
      EXPECT_EQ(info.space, Space::kOld) << minor;
    }
  }
  EXPECT_EQ(id_of(h), 5u);
}

INSTANTIATE_TEST_SUITE_P(Ages, PromotionAgeTest, ::testing::Values(1u, 2u, 3u, 15u));

TEST_F(GcTest, SurvivorsBeyondTheSurvivorSpaceArePromotedEarly) {
  Options options = small_options();
  options.nursery_bytes = 64 << 10;
  options.min_nursery_bytes = 64 << 10;
  options.max_nursery_bytes = 64 << 10;  // survivor spaces of 32 KiB
  options.promotion_age = 15;
  make(options);
  Handle head = build_list_raw(1500);  // 48,000 bytes, all live
  ASSERT_TRUE(heap->minor().ok());
  const CollectionStats last = heap->stats().recent.back();
  EXPECT_GT(last.promoted_bytes, 0u);
  EXPECT_LE(last.survived_bytes, 32u << 10);
  EXPECT_EQ(list_length(head), 1500u);
  uint64_t expect = 1499;
  for (const Object* p = heap->raw(head); p != nullptr; p = Heap::load_slot(p, 0)) {
    ASSERT_EQ(id_of(*heap, p), expect--);
  }
}

TEST_F(GcTest, AnOldObjectThatStraddlesTwoCardsIsScannedFromTheCardItStartsOn) {
  // Ref arrays whose cells do not divide a card: some start on one card and end on the next.
  // A young reference in the part on the first card dirties that card only.
  constexpr uint64_t kLength = 20;
  std::vector<Handle> arrays;
  for (int i = 0; i < 64; ++i)
    arrays.push_back(heap->make_persistent(heap->new_object(refs, kLength).value()).value());
  ASSERT_TRUE(heap->major().ok());
  Handle straddler;
  for (Handle array : arrays) {
    Object* object = heap->raw(array);
    ASSERT_EQ(heap->info(array).value().space, Space::kOld);
    if (card_of(object, object) == card_of(object, object->slots()) &&
        card_of(object, object->slots()) != card_of(object, object->slots() + kLength - 1)) {
      straddler = array;
      break;
    }
  }
  ASSERT_FALSE(straddler.is_null());
  {
    HandleScope scope(*heap);
    ASSERT_TRUE(heap->store(straddler, 0, new_node(55)).ok());
  }
  ASSERT_TRUE(heap->minor().ok());
  EXPECT_EQ(id_of(heap->load(straddler, 0).value()), 55u);
  EXPECT_TRUE(heap->verify().ok());
}

TEST_F(GcTest, ACardAtTheEndOfTheTableIsScanned) {
  // A large ref array whose last slot lies on its chunk's last card.
  const uint64_t length = 100000;
  Handle array = heap->make_persistent(heap->new_object(refs, length).value()).value();
  ASSERT_EQ(heap->info(array).value().space, Space::kLarge);
  Object* raw = heap->raw(array);
  const ChunkHeader* chunk = ChunkHeader::of(raw);
  uint8_t* last_card = card_of(raw, raw->slots() + length - 1);
  ASSERT_EQ(last_card, chunk->cards + chunk->card_count - 1);
  {
    HandleScope scope(*heap);
    ASSERT_TRUE(heap->store(array, length - 1, new_node(77)).ok());
    ASSERT_TRUE(heap->store(array, 0, new_node(78)).ok());
  }
  EXPECT_EQ(*last_card, kCardDirty);
  ASSERT_TRUE(heap->minor().ok());
  ASSERT_TRUE(heap->minor().ok());
  EXPECT_EQ(id_of(heap->load(array, length - 1).value()), 77u);
  EXPECT_EQ(id_of(heap->load(array, 0).value()), 78u);
  EXPECT_EQ(heap->info(heap->load(array, length - 1).value()).value().space, Space::kOld);

  // And the last card of a small chunk: the last cell of a chunk of 32-byte nodes.
  std::vector<Handle> olds;
  Handle holder;
  for (int i = 0; i < 20000 && holder.is_null(); ++i) {
    Handle h = heap->make_persistent(new_node(i)).value();
    olds.push_back(h);
    if (i % 1000 == 999) {
      ASSERT_TRUE(heap->major().ok());
      for (Handle o : olds) {
        const Object* object = heap->raw(o);
        const ChunkHeader* c = ChunkHeader::of(object);
        if (card_of(object, object->slots() + 1) == c->cards + c->card_count - 1) holder = o;
      }
    }
  }
  ASSERT_FALSE(holder.is_null());
  {
    HandleScope scope(*heap);
    ASSERT_TRUE(heap->store(holder, 1, new_node(99)).ok());
  }
  ASSERT_TRUE(heap->minor().ok());
  EXPECT_EQ(id_of(heap->load(holder, 1).value()), 99u);
  EXPECT_TRUE(heap->verify().ok());
}

TEST_F(GcTest, HugeArraysLiveInTheLargeObjectSpaceAndDieInAMajorCollection) {
  Handle big, many;
  {
    HandleScope scope(*heap);
    big = heap->make_persistent(heap->new_object(bytes, 64 << 20).value()).value();
    many = heap->make_persistent(heap->new_object(refs, 1 << 20).value()).value();
  }
  EXPECT_EQ(heap->info(big).value().space, Space::kLarge);
  EXPECT_EQ(heap->info(many).value().raw_size, 8u);
  const uint64_t word = 0x1234;
  ASSERT_TRUE(heap->write_bytes(big, (64 << 20) - 8, bytes_of(word)).ok());
  ASSERT_TRUE(heap->store(many, (1 << 20) - 1, big).ok());
  ASSERT_TRUE(heap->store(many, 0, many).ok());
  ASSERT_TRUE(heap->major().ok());
  uint64_t back = 0;
  ASSERT_TRUE(heap->read_bytes(big, (64 << 20) - 8, {reinterpret_cast<std::byte*>(&back), 8}).ok());
  EXPECT_EQ(back, word);
  {
    HandleScope scope(*heap);
    EXPECT_TRUE(heap->same(heap->load(many, (1 << 20) - 1).value(), big).value());
  }
  EXPECT_GE(heap->stats().large_bytes, uint64_t{64} << 20);
  ASSERT_TRUE(heap->release(big).ok());
  ASSERT_TRUE(heap->major().ok());  // still referenced from `many`
  EXPECT_GE(heap->stats().large_bytes, uint64_t{64} << 20);
  ASSERT_TRUE(heap->store(many, (1 << 20) - 1, Handle{}).ok());
  ASSERT_TRUE(heap->major().ok());
  EXPECT_LT(heap->stats().large_bytes, uint64_t{64} << 20);
  EXPECT_TRUE(heap->verify_after_major().ok());
}

// --- out of memory ---

TEST_F(GcTest, RunningOutOfHeapIsReportedAndRecoverable) {
  Options options = small_options();
  options.heap_limit_bytes = 4 << 20;
  make(options);
  Handle list = heap->make_persistent(Handle{}).value();
  Status status;
  uint64_t made = 0;
  for (; made < 1000000; ++made) {
    HandleScope scope(*heap);
    Result<Handle> cell = heap->new_object(node);
    if (!cell.ok()) {
      status = cell.status();
      break;
    }
    ASSERT_TRUE(heap->store(cell.value(), 0, list).ok());
    ASSERT_TRUE(heap->assign(list, cell.value()).ok());
  }
  EXPECT_EQ(status.code(), ErrorCode::kOutOfMemory) << status.message();
  EXPECT_GT(made, 1000u);
  EXPECT_EQ(list_length(list), made);
  EXPECT_TRUE(heap->verify().ok());
  ASSERT_TRUE(heap->release(list).ok());
  EXPECT_TRUE(heap->new_object(node).ok());
}

TEST_F(GcTest, TheOsRefusingMemoryIsReportedNotACrash) {
  // The allocation retries after a minor and a major collection before it gives up.
  heap->fail_next_os_calls(3);
  EXPECT_EQ(heap->new_object(bytes, 100000).status().code(), ErrorCode::kOutOfMemory);
  EXPECT_TRUE(heap->new_object(bytes, 100000).ok());
  heap->fail_next_os_calls(2);
  EXPECT_TRUE(heap->new_object(bytes, 100000).ok());
  // A minor collection that cannot reserve promotion room refuses before moving anything.
  Handle h = new_node(3);
  const Object* before = heap->raw(h);
  heap->fail_next_os_calls(1000);
  EXPECT_EQ(heap->minor().code(), ErrorCode::kOutOfMemory);
  EXPECT_EQ(heap->raw(h), before);
  EXPECT_TRUE(heap->verify().ok());
  heap->fail_next_os_calls(0);
  ASSERT_TRUE(heap->minor().ok());
  EXPECT_EQ(id_of(h), 3u);
}

// --- the verifier ---

TEST_F(GcTest, TheVerifierCatchesPlantedCorruption) {
  Handle a = new_global(1);
  {
    HandleScope scope(*heap);
    ASSERT_TRUE(heap->store(a, 0, new_node(2)).ok());
  }
  Object* raw = heap->raw(a);
  Object* saved = raw->slots()[0];

  raw->slots()[0] = reinterpret_cast<Object*>(reinterpret_cast<std::byte*>(saved) + 8);
  Status status = heap->verify();
  EXPECT_EQ(status.code(), ErrorCode::kBrokenInvariant);
  EXPECT_NE(std::string(status.what()).find("slot"), std::string::npos) << status.message();
  uint64_t local = 0;
  raw->slots()[0] = reinterpret_cast<Object*>(&local);
  EXPECT_EQ(heap->verify().code(), ErrorCode::kBrokenInvariant);
  raw->slots()[0] = saved;
  EXPECT_TRUE(heap->verify().ok());

  const uint64_t header = saved->header_word();
  saved->set_header_word(header | header::kMark);
  EXPECT_EQ(heap->verify().code(), ErrorCode::kBrokenInvariant);
  saved->set_header_word(header::make(999, 0));
  EXPECT_EQ(heap->verify().code(), ErrorCode::kBrokenInvariant);
  saved->set_header_word(header);
  EXPECT_TRUE(heap->verify().ok());

  // In the old generation, and something unreachable left after a major collection.
  ASSERT_TRUE(heap->major().ok());
  raw = heap->raw(a);
  saved = raw->slots()[0];
  raw->slots()[0] = nullptr;  // b is now unreachable but still in the old generation
  EXPECT_TRUE(heap->verify().ok());
  status = heap->verify_after_major();
  EXPECT_EQ(status.code(), ErrorCode::kBrokenInvariant);
  EXPECT_NE(std::string(status.what()).find("unreachable"), std::string::npos) << status.message();
  raw->slots()[0] = saved;
  EXPECT_TRUE(heap->verify_after_major().ok());
}

// --- statistics ---

TEST_F(GcTest, StatisticsCountEveryCollectionAndExportJson) {
  Handle keep = new_global(1);
  for (int round = 0; round < 5; ++round) {
    {
      HandleScope scope(*heap);
      for (int i = 0; i < 100; ++i)
        new_node(i);
    }
    ASSERT_TRUE(heap->minor().ok());
  }
  ASSERT_TRUE(heap->major().ok());
  const HeapStats stats = heap->stats();
  EXPECT_EQ(stats.minor.count, 5u);
  EXPECT_EQ(stats.major.count, 1u);
  ASSERT_EQ(stats.recent.size(), 6u);
  EXPECT_EQ(stats.recent[0].index, 1u);
  EXPECT_EQ(stats.recent[0].allocated_bytes, 32u * 101);
  EXPECT_EQ(stats.recent[0].survived_bytes, 32u);
  EXPECT_EQ(stats.recent[1].promoted_bytes, 32u);
  EXPECT_EQ(stats.recent[5].kind, CollectionKind::kMajor);
  EXPECT_EQ(stats.recent[5].objects_marked, 1u);
  EXPECT_GE(stats.minor.max_ns, stats.minor.p99_ns);
  EXPECT_GE(stats.minor.p99_ns, stats.minor.p50_ns);
  EXPECT_EQ(stats.allocated_bytes, 32u * 501);
  const std::string json = stats.to_json();
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_NE(json.find("\"minor\":{\"count\":5,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"kind\":\"major\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"p99_ns\":"), std::string::npos);
  EXPECT_EQ(id_of(keep), 1u);
}

TEST(GcPauseSummaryTest, PercentilesAreNearestRank) {
  std::vector<uint64_t> pauses;
  for (uint64_t i = 1; i <= 100; ++i)
    pauses.push_back(101 - i);
  const PauseSummary summary = summarize_pauses(pauses);
  EXPECT_EQ(summary.count, 100u);
  EXPECT_EQ(summary.p50_ns, 50u);
  EXPECT_EQ(summary.p99_ns, 99u);
  EXPECT_EQ(summary.max_ns, 100u);
  EXPECT_EQ(summary.total_ns, 5050u);
  EXPECT_EQ(summarize_pauses({}).count, 0u);
}

// --- the pacer ---

PacerConfig pacer_config(double target_ms) {
  PacerConfig config;
  config.pause_target_ms = target_ms;
  config.initial_nursery = 4 << 20;
  config.min_nursery = 64 << 10;
  config.max_nursery = 256 << 20;
  config.growth_factor = 2.0;
  config.min_major_trigger = 16 << 20;
  return config;
}

// A synthetic workload: 10% of the nursery survives and copying costs 2 ns a byte, plus a
// fixed 50 us; the pause the pacer sees is what that model says.
uint64_t synthetic_pause(uint64_t nursery) {
  return 50000 + static_cast<uint64_t>(static_cast<double>(nursery) * 0.1 * 2.0);
}

TEST(GcPacerTest, ConvergesWithinTwentyPercentOfEachTarget) {
  for (double target_ms : {1.0, 5.0, 10.0, 50.0}) {
    Pacer pacer(pacer_config(target_ms));
    for (int i = 0; i < 40; ++i) {
      const uint64_t nursery = pacer.nursery_bytes();
      pacer.on_minor(nursery, nursery / 10, synthetic_pause(nursery));
    }
    const double pause_ms = static_cast<double>(synthetic_pause(pacer.nursery_bytes())) / 1e6;
    EXPECT_NEAR(pause_ms, target_ms, 0.2 * target_ms) << target_ms;
    EXPECT_GT(pacer.settled_after(), 0u) << target_ms;
    EXPECT_LE(pacer.settled_after(), 12u) << target_ms;
  }
}

// The minor collection after a major one finds nothing to promote and pauses a fraction of the
// steady state; the pacer settles as before, and that pause neither moves the nursery nor
// breaks the settled run.
TEST(GcPacerTest, TheMinorAfterAMajorIsNotSampled) {
  Pacer pacer(pacer_config(10.0));
  for (int i = 0; i < 40; ++i) {
    const uint64_t nursery = pacer.nursery_bytes();
    pacer.on_minor(nursery, nursery / 10, synthetic_pause(nursery));
  }
  const uint64_t settled = pacer.settled_after();
  ASSERT_GT(settled, 0u);
  const uint64_t nursery = pacer.nursery_bytes();
  pacer.on_major(64 << 20);
  pacer.on_minor(nursery, nursery / 100, synthetic_pause(nursery) / 10);
  EXPECT_EQ(pacer.nursery_bytes(), nursery);
  EXPECT_EQ(pacer.settled_after(), settled);
  const uint64_t sampled = pacer.sampled_after_settling();
  EXPECT_EQ(pacer.in_band_after_settling(), sampled);
  // The next one is sampled again: a pause far off the target moves the nursery and ends the
  // settled run, but not the record of the first one.
  pacer.on_minor(nursery, nursery / 100, synthetic_pause(nursery) / 10);
  EXPECT_GT(pacer.nursery_bytes(), nursery);
  EXPECT_EQ(pacer.settled_after(), 0u);
  EXPECT_EQ(pacer.first_settled_after(), settled);
  EXPECT_EQ(pacer.sampled_after_settling(), sampled + 1);
  EXPECT_EQ(pacer.in_band_after_settling(), sampled);
}

TEST(GcPacerTest, LongPausesShrinkTheNurseryAndShortOnesGrowIt) {
  Pacer pacer(pacer_config(5.0));
  const uint64_t start = pacer.nursery_bytes();
  pacer.on_minor(start, start / 10, 20000000);  // 20 ms: too long
  EXPECT_LT(pacer.nursery_bytes(), start);
  EXPECT_GE(pacer.nursery_bytes(), start / 2);  // at most 2x a step
  const uint64_t shrunk = pacer.nursery_bytes();
  for (int i = 0; i < 5; ++i)
    pacer.on_minor(pacer.nursery_bytes(), 0, 100000);  // 0.1 ms
  EXPECT_GT(pacer.nursery_bytes(), shrunk);
  EXPECT_EQ(pacer.settled_after(), 0u);
  // Old-generation growth triggers majors like GOGC.
  EXPECT_FALSE(pacer.major_due(10 << 20));
  EXPECT_TRUE(pacer.major_due(16 << 20));
  pacer.on_major(100 << 20);
  EXPECT_FALSE(pacer.major_due(150 << 20));
  EXPECT_TRUE(pacer.major_due(200 << 20));
}

// An injected clock: every reading advances it by 3 ms, so every pause measures 3 ms.
uint64_t three_ms_clock(void* context) {
  uint64_t* now = static_cast<uint64_t*>(context);
  *now += 3000000;
  return *now;
}

TEST_F(GcTest, TheHeapPacesItsNurseryWithTheInjectedClock) {
  uint64_t now = 0;
  Options options = small_options();
  options.clock = three_ms_clock;
  options.clock_context = &now;
  options.pause_target_ms = 10;  // 3 ms is short: the nursery grows
  make(options);
  const uint64_t start = heap->stats().nursery_bytes;
  ASSERT_TRUE(heap->minor().ok());
  EXPECT_GT(heap->stats().nursery_bytes, start);
  EXPECT_EQ(heap->stats().recent.back().pause_ns, 3000000u);

  options.pause_target_ms = 1;  // 3 ms is long: it shrinks
  make(options);
  ASSERT_TRUE(heap->minor().ok());
  EXPECT_LT(heap->stats().nursery_bytes, start);
}

TEST_F(GcTest, AFullNurseryRunsTheMajorCollectionThePacerAsksFor) {
  // 32768 nodes of 32 bytes that all live: 1 MiB promoted by the minor collections that
  // allocation alone runs. Past a 256 KiB trigger the pacer asks for a major collection, which
  // the same slow path runs; under the default 16 MiB trigger none is due.
  Options options = small_options();
  options.promotion_age = 1;
  options.min_major_trigger_bytes = 256 << 10;
  make(options);
  Handle head = build_list(32768);
  HeapStats stats = heap->stats();
  EXPECT_GE(stats.minor.count, 3u);
  EXPECT_GE(stats.major.count, 1u);
  EXPECT_EQ(list_length(head), 32768u);
  bool major_after_minor = false;
  for (size_t i = 1; i < stats.recent.size(); ++i) {
    major_after_minor |= stats.recent[i - 1].kind == CollectionKind::kMinor &&
                         stats.recent[i].kind == CollectionKind::kMajor;
  }
  EXPECT_TRUE(major_after_minor);

  options.min_major_trigger_bytes = Options{}.min_major_trigger_bytes;
  make(options);
  head = build_list(32768);
  stats = heap->stats();
  EXPECT_GE(stats.minor.count, 3u);
  EXPECT_EQ(stats.major.count, 0u);
}

// --- debug options ---

TEST_F(GcTest, ForcedCollectionsWithVerificationKeepEveryObject) {
  Options options = small_options();
  options.debug.gc_every_n_allocations = 7;
  options.debug.verify_before_gc = true;
  options.debug.verify_after_gc = true;
  options.debug.poison = true;
  make(options);
  Handle head = build_list(1000);
  EXPECT_EQ(list_length(head), 1000u);
  const HeapStats stats = heap->stats();
  EXPECT_GE(stats.minor.count + stats.major.count, 1000u / 7);
  EXPECT_GE(stats.major.count, 1u);
  uint64_t expect = 999;
  for (const Object* p = heap->raw(head); p != nullptr; p = Heap::load_slot(p, 0)) {
    ASSERT_EQ(id_of(*heap, p), expect--);
  }
}

TEST_F(GcTest, PoisonedFromSpaceExposesARawPointerHeldAcrossASafepoint) {
  Options options = small_options();
  options.debug.poison = true;
  make(options);
  Handle h = new_node(42);
  Handle holder = new_node(1);
  const Object* stale = heap->raw(h);
  const uint64_t epoch = heap->epoch();
  ASSERT_TRUE(heap->minor().ok());
  EXPECT_NE(heap->epoch(), epoch);
  EXPECT_FALSE(heap->contains(stale));
  EXPECT_EQ(heap->store_pointer(holder, 0, stale).code(), ErrorCode::kInvalidArgument);
  if constexpr (alloc::kAsanEnabled) {
    EXPECT_DEATH(
        {
          volatile uint64_t word = stale->header_word();
          (void)word;
        },
        "use-after-poison");
  } else {
    EXPECT_EQ(stale->header_word(), 0xdbdbdbdbdbdbdbdbull);
  }
  EXPECT_EQ(id_of(h), 42u);
}

// --- the object graph for models ---

TEST_F(GcTest, VisitReachableSeesExactlyTheReachableObjects) {
  Handle root = heap->make_persistent(new_node(0)).value();
  {
    HandleScope scope(*heap);
    Handle child = new_node(1);
    ASSERT_TRUE(heap->store(root, 0, child).ok());
    ASSERT_TRUE(heap->store(child, 0, new_node(2)).ok());
    new_node(100);  // garbage, but held by this scope's local until it closes
  }
  new_node(200);  // held by the base scope
  std::multiset<uint64_t> ids;
  heap->visit_reachable([&](const Object* object) { ids.insert(id_of(*heap, object)); });
  EXPECT_EQ(ids, (std::multiset<uint64_t>{0, 1, 2, 200}));
  ASSERT_TRUE(heap->major().ok());
  ids.clear();
  heap->visit_reachable([&](const Object* object) { ids.insert(id_of(*heap, object)); });
  EXPECT_EQ(ids, (std::multiset<uint64_t>{0, 1, 2, 200}));
}

TEST_F(GcTest, TheWriteBarrierMarksOnlyOldToYoungStores) {
  Handle old = heap->make_persistent(new_node(1)).value();
  Handle old2 = heap->make_persistent(new_node(2)).value();
  ASSERT_TRUE(heap->major().ok());
  Handle young = new_node(3);
  heap->store_slot(heap->raw(old), 0, heap->raw(old2));  // old -> old
  EXPECT_FALSE(heap->card_dirty(heap->raw(old), 0));
  heap->store_slot(heap->raw(young), 0, heap->raw(old));  // young -> old
  heap->store_slot(heap->raw(old), 0, nullptr);
  EXPECT_FALSE(heap->card_dirty(heap->raw(old), 0));
  heap->store_slot(heap->raw(old), 0, heap->raw(young));  // old -> young
  EXPECT_TRUE(heap->card_dirty(heap->raw(old), 0));
}

}  // namespace
}  // namespace vmmem::gc
