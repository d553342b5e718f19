// Handles: how the mutator names objects across safepoints. A handle is a small value naming a
// root cell of one Heap; the cell holds the object's current address, which the collector
// rewrites when the object moves. Raw Object* pointers are valid only until the next safepoint
// (an allocation, minor() or major()).
//
// Two kinds:
//   - local (scoped) handles, for the mutator's locals: created by Heap calls (new_object, load,
//     local) inside the innermost open HandleScope and dropped all at once when that scope
//     closes. REQUIRES: a HandleScope is open when one is created.
//   - persistent handles, for globals: Heap::make_persistent; live until Heap::release.
//
// The null handle, Handle{}, names no cell and stands for the null reference wherever a value
// is expected (store(holder, slot, Handle{}) clears the slot; load of a null slot returns it).
//
// A handle carries its heap's tag, so a handle of another heap, a released persistent handle
// (its generation) and a local beyond the open handles are refused by the checked calls with
// kInvalidArgument / kNotFound; see Heap for the order. Limits of that detection: a local of a
// closed scope whose index has been reused by a newer local names the newer one, and a
// persistent cell's generation has 7 bits, so a handle released 128 reuses ago passes again.
#pragma once

#include <cstdint>

namespace vmmem::gc {

class Heap;

class Handle {
 public:
  constexpr Handle() = default;

  constexpr bool is_null() const { return bits_ == 0; }
  constexpr bool is_persistent() const { return (bits_ & kPersistentBit) != 0; }
  constexpr uint32_t index() const { return static_cast<uint32_t>(bits_); }
  constexpr uint32_t generation() const {
    return static_cast<uint32_t>((bits_ >> kGenerationShift) & kGenerationMask);
  }
  constexpr uint32_t heap_tag() const { return static_cast<uint32_t>(bits_ >> kTagShift); }
  constexpr uint64_t bits() const { return bits_; }

  friend constexpr bool operator==(Handle a, Handle b) { return a.bits_ == b.bits_; }

 private:
  friend class Heap;
  static constexpr uint64_t kPersistentBit = uint64_t{1} << 32;
  static constexpr unsigned kGenerationShift = 33;
  static constexpr uint64_t kGenerationMask = 0x7f;
  static constexpr unsigned kTagShift = 40;

  static constexpr Handle make(uint32_t tag, bool persistent, uint32_t generation, uint32_t index) {
    Handle h;
    h.bits_ = (uint64_t{tag} << kTagShift) |
              (uint64_t{generation & kGenerationMask} << kGenerationShift) |
              (persistent ? kPersistentBit : 0) | index;
    return h;
  }

  uint64_t bits_ = 0;
};

// Opens a scope for local handles; closing it drops every local handle created since it
// opened. Scopes nest strictly (LIFO), like the C++ scopes that hold them.
class HandleScope {
 public:
  explicit HandleScope(Heap& heap);
  ~HandleScope();
  HandleScope(const HandleScope&) = delete;
  HandleScope& operator=(const HandleScope&) = delete;

 private:
  Heap& heap_;
  uint32_t saved_top_;
};

}  // namespace vmmem::gc
