// The mem op vocabulary: everything a client of GuestMemory can ask for, as plain values.
// Addresses and sizes are raw on purpose: guest memory's whole job is to judge them, so an op
// may name any address, width or length, including the bad ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

namespace vmmem::scenario::mem {

struct AddRam {
  uint64_t base;
  uint64_t size;
  friend bool operator==(const AddRam&, const AddRam&) = default;
};

// Maps a scenario Device (device.h) at [base, base + size).
struct AddMmio {
  uint64_t base;
  uint64_t size;
  friend bool operator==(const AddMmio&, const AddMmio&) = default;
};

struct RemoveRegion {
  uint64_t base;
  friend bool operator==(const RemoveRegion&, const RemoveRegion&) = default;
};

// Scalar access through read_scalar/write_scalar; width may be any value, valid or not.
struct Read {
  uint64_t address;
  uint8_t width;
  friend bool operator==(const Read&, const Read&) = default;
};

struct Write {
  uint64_t address;
  uint8_t width;
  uint64_t value;
  friend bool operator==(const Write&, const Write&) = default;
};

struct ReadBulk {
  uint64_t address;
  uint32_t length;
  friend bool operator==(const ReadBulk&, const ReadBulk&) = default;
};

// Writes `length` bytes of pattern_bytes(pattern, length).
struct WriteBulk {
  uint64_t address;
  uint32_t length;
  uint64_t pattern;
  friend bool operator==(const WriteBulk&, const WriteBulk&) = default;
};

// host_span(address, length), then the bytes it shows.
struct HostSpan {
  uint64_t address;
  uint32_t length;
  friend bool operator==(const HostSpan&, const HostSpan&) = default;
};

// Runs GuestMemory::check() and compares the region table and RAM total with the model's
// (through region_fingerprint, as the outcome's value).
struct Check {
  friend bool operator==(const Check&, const Check&) = default;
};

enum class AtomicKind : uint8_t { kLoad, kStore, kCompareExchange, kFetchAdd, kFetchOr, kCount };

// An atomic access (GuestMemory::load_atomic ... fetch_or) of `width` bytes; `order` is a
// std::memory_order value or not (0..7), `value` the operand (stored, desired, added, or-ed)
// and `expected` the compare-exchange comparand. The outcome's value is what the access
// returned: the loaded or previous value, 0 for a store.
struct Atomic {
  AtomicKind kind;
  uint64_t address;
  uint8_t width;
  uint8_t order;
  uint64_t value;
  uint64_t expected;
  friend bool operator==(const Atomic&, const Atomic&) = default;
};

// A device's guest-to-guest copy: host_span(from, length), then write(to, that span). The
// ranges may overlap; the copy behaves like memmove.
struct Copy {
  uint64_t from;
  uint64_t to;
  uint32_t length;
  friend bool operator==(const Copy&, const Copy&) = default;
};

// GuestMemory::set_dirty_tracking(base, on).
struct SetDirtyTracking {
  uint64_t base;
  bool on;
  friend bool operator==(const SetDirtyTracking&, const SetDirtyTracking&) = default;
};

// GuestMemory::take_dirty(base); the outcome's bytes are the bitmap words, little-endian.
struct TakeDirty {
  uint64_t base;
  friend bool operator==(const TakeDirty&, const TakeDirty&) = default;
};

// GuestMemory::mark_dirty(address, length): what a writer through a host span reports.
struct MarkDirty {
  uint64_t address;
  uint32_t length;
  friend bool operator==(const MarkDirty&, const MarkDirty&) = default;
};

// How many pinned spans an op sequence may hold at once (PinSpan slots).
inline constexpr uint8_t kPinSlots = 4;

// GuestMemory::pin_span(address, length) into pin slot `slot` (mod kPinSlots), which lets go of
// what it held first. The pin keeps its bytes mapped after its region is removed: reads and
// writes through it then reach that removed region's memory and nothing else.
struct PinSpan {
  uint8_t slot;
  uint64_t address;
  uint32_t length;
  friend bool operator==(const PinSpan&, const PinSpan&) = default;
};

// The bytes of pin slot `slot` (mod kPinSlots); an empty slot -> kNotFound.
struct ReadPinned {
  uint8_t slot;
  friend bool operator==(const ReadPinned&, const ReadPinned&) = default;
};

// Fills pin slot `slot` (mod kPinSlots) with pattern_bytes(pattern, its length), as a DMA
// engine does (no dirty marking: that is the writer's mark_dirty); an empty slot -> kNotFound.
struct WritePinned {
  uint8_t slot;
  uint64_t pattern;
  friend bool operator==(const WritePinned&, const WritePinned&) = default;
};

// GuestMemory::discard(address, length): the pages read as zeros afterwards.
struct Discard {
  uint64_t address;
  uint32_t length;
  friend bool operator==(const Discard&, const Discard&) = default;
};

// GuestMemory::add_rom(base, pattern_bytes(pattern, size)): read-only memory holding a pattern.
struct AddRom {
  uint64_t base;
  uint32_t size;
  uint64_t pattern;
  friend bool operator==(const AddRom&, const AddRom&) = default;
};

// What backs an AddBackedRam region (mem::RamBacking), as the executor builds it: the files are
// fresh temporary files holding a host page of other bytes and then the region, zeros (kShortFile:
// one host page shorter, which add_ram refuses once the table's rules have passed).
enum class Backing : uint8_t {
  kAnonymousHuge,  // anonymous with huge-page advice
  kMemfd,          // shared: shared_ram answers
  kMemfdHuge,
  kSharedFile,   // a file mapped shared: shared_ram answers
  kPrivateFile,  // a file mapped private: plain RAM to the guest, not shared
  kShortFile,
  kCount
};

// GuestMemory::add_ram(base, size, backing). To the guest every backing is RAM that starts
// zeroed.
struct AddBackedRam {
  uint64_t base;
  uint64_t size;
  Backing backing;
  friend bool operator==(const AddBackedRam&, const AddBackedRam&) = default;
};

// shared_ram(address, length), then the bytes read from the file at the offset it gave: what
// a second process mapping the memfd sees.
struct ReadShared {
  uint64_t address;
  uint32_t length;
  friend bool operator==(const ReadShared&, const ReadShared&) = default;
};

// shared_ram(address, length), then pattern_bytes(pattern, length) written into the file at
// that offset (the other process writing; not dirty-tracked): the guest must read them back.
struct WriteShared {
  uint64_t address;
  uint32_t length;
  uint64_t pattern;
  friend bool operator==(const WriteShared&, const WriteShared&) = default;
};

// The first nine alternatives are the ops of the frozen `mem` input format (codec.h); later
// ones exist only in the `mem_full` format.
using Op =
    std::variant<AddRam, AddMmio, RemoveRegion, Read, Write, ReadBulk, WriteBulk, HostSpan, Check,
                 Atomic, Copy, SetDirtyTracking, TakeDirty, MarkDirty, PinSpan, ReadPinned,
                 WritePinned, Discard, AddRom, AddBackedRam, ReadShared, WriteShared>;
inline constexpr size_t kFrozenOpKinds = 9;

// One line, e.g. "Read{address=0x1000, width=8}".
std::string describe(const Op& op);

}  // namespace vmmem::scenario::mem
