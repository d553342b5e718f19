#include "scenario/mem/hotplug_storm.h"

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "mem/guest_memory.h"
#include "mem/memory_accessor.h"
#include "support/rng.h"

namespace vmmem::scenario::mem {
namespace {

using vmmem::mem::GuestMemory;
using vmmem::mem::HostMapping;
using vmmem::mem::MemoryAccessor;

constexpr uint64_t kSlotsBase = 0x4000'0000;
constexpr uint64_t kFixedBase = 0x1000'0000;
constexpr uint64_t kFixedHalf = 0x2000;  // two adjacent regions of this size
constexpr uint64_t kDeviceBase = 0x2000'0000;
constexpr uint64_t kDeviceValue = 0xd00d'0000'0000'd00dULL;
constexpr size_t kMaxSlots = 16;

uint64_t fixed_word(uint64_t address) {
  return address * 0x9e3779b97f4a7c15ULL;
}

struct Device final : vmmem::mem::MmioHandler {
  Result<uint64_t> read(uint64_t, unsigned) override { return kDeviceValue; }
  Status write(uint64_t, unsigned, uint64_t) override { return kOkStatus; }
};

uint64_t load_word(const std::byte* at) {
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(const_cast<std::byte*>(at)))
      .load(std::memory_order_relaxed);
}

class Storm {
 public:
  explicit Storm(const StormPlan& plan) : plan_(plan) {}

  StormReport run() {
    const uint64_t mapped_before = HostMapping::live_bytes();
    {
      GuestMemory memory;
      memory_ = &memory;
      set_up();
      std::vector<std::thread> threads;
      readers_left_.store(plan_.readers);
      for (unsigned r = 0; r < plan_.readers; ++r) {
        threads.emplace_back([this, r] {
          reader(plan_.seed * 31 + r);
          readers_left_.fetch_sub(1, std::memory_order_release);
        });
      }
      if (plan_.dma) threads.emplace_back([this] { dma(plan_.seed * 37); });
      writer();
      done_.store(true, std::memory_order_release);
      for (std::thread& thread : threads)
        thread.join();
      final_checks();
      GuestMemory::release_thread_cache();
    }
    if (HostMapping::live_bytes() != mapped_before) fail("storm mappings outlived every holder");
    report_.reads_ok = reads_ok_.load();
    report_.reads_unmapped = reads_unmapped_.load();
    report_.dma_writes = dma_writes_.load();
    return report_;
  }

 private:
  uint64_t slot_base(uint64_t slot) const { return kSlotsBase + slot * kStormSlotSize; }

  void fail(const std::string& what) {
    std::lock_guard lock(failure_mutex_);
    if (!report_.violation) report_.violation = what;
    failed_.store(true, std::memory_order_relaxed);
  }

  void set_up() {
    VMM_CHECK(memory_->add_ram(kFixedBase, kFixedHalf).ok(), "storm: fixed RAM");
    VMM_CHECK(memory_->add_ram(kFixedBase + kFixedHalf, kFixedHalf).ok(), "storm: fixed RAM");
    for (uint64_t at = kFixedBase; at < kFixedBase + 2 * kFixedHalf; at += 8)
      VMM_CHECK(memory_->write<uint64_t>(at, fixed_word(at)).ok(), "storm: fixed pattern");
  }

  // Adds or removes one slot (or the device, or turns dirty tracking on a slot on or off).
  void writer() {
    Rng rng(plan_.seed);
    const unsigned slots = std::min<unsigned>(std::max(plan_.slots, 1u), kMaxSlots);
    // At least table_changes changes, and on while readers still read or the DMA thread has
    // hardly started (up to a bound).
    auto others_busy = [this] {
      return readers_left_.load(std::memory_order_acquire) != 0 ||
             (plan_.dma && dma_writes_.load(std::memory_order_relaxed) < 64);
    };
    for (unsigned change = 0;
         change < plan_.table_changes || (others_busy() && change < 64 * plan_.table_changes);
         ++change) {
      const uint64_t pick = rng.below(slots + 2);
      if (pick == slots) {
        device_mapped_ = !device_mapped_;
        const Status status =
            device_mapped_ ? memory_->add_mmio(kDeviceBase, 0x1000, std::make_shared<Device>())
                           : memory_->remove(kDeviceBase);
        VMM_CHECK(status.ok(), "storm: device");
        continue;
      }
      const uint64_t slot = pick == slots + 1 ? rng.below(slots) : pick;
      const uint64_t base = slot_base(slot);
      if (pick == slots + 1) {
        if (mapped_[slot]) VMM_CHECK(memory_->set_dirty_tracking(base, rng.below(2) == 0).ok(), "");
        continue;
      }
      if (mapped_[slot]) {
        VMM_CHECK(memory_->remove(base).ok(), "storm: remove");
        mapped_[slot] = false;
        continue;
      }
      const uint64_t n = incarnation_[slot].fetch_add(1, std::memory_order_seq_cst) + 1;
      VMM_CHECK(memory_->add_ram(base, kStormSlotSize).ok(), "storm: add");
      mapped_[slot] = true;
      for (uint64_t at = base; at < base + kStormSlotSize; at += 8) {
        VMM_CHECK(
            memory_->store_atomic<uint64_t>(at, storm_tag(slot, n), std::memory_order_relaxed).ok(),
            "storm: fill");
      }
    }
  }

  // Whether `word`, read from `slot` between incarnation counts n0 and n1, is a value that slot
  // held at some point during the read.
  static bool plausible(uint64_t word, uint64_t slot, uint64_t n0, uint64_t n1) {
    if (word == 0) return true;
    const uint64_t plain = word & ~kStormDmaBit;
    const uint64_t n = plain & 0xffff'ffff;
    return plain == storm_tag(slot, n) && n0 <= n && n <= n1;
  }

  void check_slot_word(Result<uint64_t> word, uint64_t slot, uint64_t n0, uint64_t how) {
    const uint64_t n1 = incarnation_[slot].load(std::memory_order_seq_cst);
    if (!word.ok()) {
      if (word.status().code() != ErrorCode::kUnmapped) fail("storm: slot read refused oddly");
      reads_unmapped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    reads_ok_.fetch_add(1, std::memory_order_relaxed);
    if (!plausible(word.value(), slot, n0, n1)) {
      std::ostringstream out;
      out << std::hex << "storm: read " << how << " of slot " << slot << " returned "
          << word.value() << ", not a word of incarnations " << n0 << ".." << n1;
      fail(out.str());
    }
  }

  void reader(uint64_t seed) {
    Rng rng(seed);
    MemoryAccessor accessor(*memory_);
    const unsigned slots = std::min<unsigned>(std::max(plan_.slots, 1u), kMaxSlots);
    for (unsigned i = 0; i < plan_.reads_per_reader && !failed_.load(std::memory_order_relaxed);
         ++i) {
      const uint64_t slot = rng.below(slots);
      const uint64_t address = slot_base(slot) + 8 * rng.below(kStormSlotSize / 8);
      const uint64_t n0 = incarnation_[slot].load(std::memory_order_seq_cst);
      const uint64_t how = rng.below(6);
      switch (how) {
        case 0:
        case 1:
          check_slot_word(memory_->load_atomic<uint64_t>(address, std::memory_order_relaxed), slot,
                          n0, how);
          break;
        case 2: {  // through a snapshot's window, as a TLB would
          const vmmem::mem::MemorySnapshot snapshot = memory_->snapshot();
          const auto window = snapshot.ram_window(address);
          if (!window) {
            check_slot_word(Status::error(ErrorCode::kUnmapped, "no window"), slot, n0, how);
          } else {
            check_slot_word(load_word(window->host + (address - window->base)), slot, n0, how);
          }
          break;
        }
        case 3: {  // through a pinned span
          const Result<vmmem::mem::PinnedSpan> pin = memory_->pin_span(address, 8);
          if (!pin.ok()) {
            check_slot_word(pin.status(), slot, n0, how);
          } else {
            check_slot_word(load_word(pin.value().bytes.data()), slot, n0, how);
          }
          break;
        }
        case 4:
          read_fixed(rng, accessor);
          break;
        default: {
          const Result<uint64_t> value = memory_->read<uint64_t>(kDeviceBase + 8);
          if (value.ok() && value.value() != kDeviceValue) fail("storm: device read wrong value");
          if (!value.ok() && value.status().code() != ErrorCode::kUnmapped)
            fail("storm: device read refused oddly");
          break;
        }
      }
    }
  }

  // The fixed region is never written while the threads run: every path must see its pattern.
  void read_fixed(Rng& rng, MemoryAccessor& accessor) {
    const uint64_t address = kFixedBase + 8 * rng.below(2 * kFixedHalf / 8 - 4);
    const uint64_t way = rng.below(3);
    uint64_t value = 0;
    bool ok = true;
    if (way == 0) {
      const Result<uint64_t> read = memory_->read<uint64_t>(address);
      ok = read.ok();
      value = read.value_or(0);
    } else if (way == 1) {
      const Result<uint64_t> read = accessor.read<uint64_t>(address);
      ok = read.ok();
      value = read.value_or(0);
    } else {
      // 32 bytes that may cross the seam of the two halves.
      std::array<std::byte, 32> bytes;
      ok = memory_->read(address, bytes).ok();
      for (size_t k = 0; ok && k < 4; ++k) {
        uint64_t word;
        std::memcpy(&word, bytes.data() + 8 * k, 8);
        if (word != fixed_word(address + 8 * k)) fail("storm: bulk read of fixed RAM wrong");
      }
      value = fixed_word(address);
      if (ok) {
        std::memcpy(&value, bytes.data(), 8);
      }
    }
    if (!ok || value != fixed_word(address)) fail("storm: fixed RAM read wrong");
    reads_ok_.fetch_add(1, std::memory_order_relaxed);
  }

  // Pins a slot, learns its incarnation from a filled word, and writes that incarnation's tag
  // (with the DMA bit) through the pin, slowly, while the writer may remove the slot.
  void dma(uint64_t seed) {
    Rng rng(seed);
    const unsigned slots = std::min<unsigned>(std::max(plan_.slots, 1u), kMaxSlots);
    while (!done_.load(std::memory_order_acquire)) {
      const uint64_t slot = rng.below(slots);
      Result<vmmem::mem::PinnedSpan> pin = memory_->pin_span(slot_base(slot), kStormSlotSize);
      if (!pin.ok()) {
        std::this_thread::yield();
        continue;
      }
      // Like a DMA engine that touches guest memory through its pins only: let go of the
      // thread's cached table, so that the pin alone keeps the region mapped.
      GuestMemory::release_thread_cache();
      std::byte* bytes = pin.value().bytes.data();
      const uint64_t last_word = load_word(bytes + kStormSlotSize - 8);
      if (last_word == 0) continue;  // not filled yet: its incarnation is unknown
      const uint64_t tag = (last_word & ~kStormDmaBit) | kStormDmaBit;
      for (int k = 0; k < 16; ++k) {
        std::byte* at = bytes + 8 * rng.below(kStormSlotSize / 8);
        std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(at))
            .store(tag, std::memory_order_relaxed);
        dma_writes_.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::yield();
      }
    }
  }

  void final_checks() {
    for (uint64_t slot = 0; slot < kMaxSlots; ++slot) {
      if (!mapped_[slot]) continue;
      const uint64_t n = incarnation_[slot].load();
      for (uint64_t at = slot_base(slot); at < slot_base(slot) + kStormSlotSize; at += 8) {
        const uint64_t word = memory_->read<uint64_t>(at).value_or(0);
        if ((word & ~kStormDmaBit) != storm_tag(slot, n)) {
          std::ostringstream out;
          out << std::hex << "storm: slot " << slot << " incarnation " << n << " holds " << word
              << " at " << at << " after the storm";
          fail(out.str());
          return;
        }
      }
    }
    if (Status status = memory_->check(); !status.ok()) fail(status.message());
  }

  const StormPlan plan_;
  GuestMemory* memory_ = nullptr;
  std::array<std::atomic<uint64_t>, kMaxSlots> incarnation_{};
  std::array<bool, kMaxSlots> mapped_{};  // the writer's own view
  bool device_mapped_ = false;
  std::atomic<bool> done_{false};
  std::atomic<unsigned> readers_left_{0};
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> reads_ok_{0};
  std::atomic<uint64_t> reads_unmapped_{0};
  std::atomic<uint64_t> dma_writes_{0};
  std::mutex failure_mutex_;
  StormReport report_;
};

}  // namespace

StormReport run_storm(const StormPlan& plan) {
  return Storm(plan).run();
}

}  // namespace vmmem::scenario::mem
