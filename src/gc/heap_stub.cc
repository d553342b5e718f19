// Temporary bodies so the API compiles; replaced by the real spaces and collector.
#include "gc/heap.h"
#include "gc/pacer.h"

namespace vmmem::gc {

namespace {
constexpr Status kNotYet = Status::error(ErrorCode::kUnsupported, "gc: not implemented yet");
}

class YoungSpace {};
class OldSpace {};
class LargeObjectSpace {};
class StatsRecorder {};
class Collector {};

std::string_view to_string(Space space) {
  switch (space) {
    case Space::kNone:
      return "none";
    case Space::kNursery:
      return "nursery";
    case Space::kSurvivor:
      return "survivor";
    case Space::kOld:
      return "old";
    case Space::kLarge:
      return "large";
  }
  return "?";
}

Result<std::unique_ptr<Heap>> Heap::create(const Options& options) {
  return std::unique_ptr<Heap>(new Heap(options));
}
Heap::Heap(const Options& options) : options_(options), tag_(1), shapes_(1), shape_names_(1) {
  free_persistent_ = UINT32_MAX;
}
Heap::~Heap() = default;
Result<ShapeId> Heap::register_shape(const ShapeSpec&) {
  return kNotYet;
}
Result<ShapeId> Heap::find_shape(std::string_view) const {
  return kNotYet;
}
std::string_view Heap::shape_name(ShapeId) const {
  return {};
}
Result<Handle> Heap::new_object(ShapeId, uint64_t) {
  return kNotYet;
}
Object* Heap::allocate_slow(ShapeId, uint64_t) {
  return nullptr;
}
Result<Handle> Heap::local(Handle) {
  return kNotYet;
}
Result<Handle> Heap::make_persistent(Handle) {
  return kNotYet;
}
Status Heap::release(Handle) {
  return kNotYet;
}
Status Heap::assign(Handle, Handle) {
  return kNotYet;
}
Result<Object*> Heap::deref(Handle) const {
  return kNotYet;
}
Result<bool> Heap::same(Handle, Handle) const {
  return kNotYet;
}
Status Heap::store(Handle, uint64_t, Handle) {
  return kNotYet;
}
Status Heap::store_pointer(Handle, uint64_t, const Object*) {
  return kNotYet;
}
Result<Handle> Heap::load(Handle, uint64_t) {
  return kNotYet;
}
Status Heap::write_bytes(Handle, uint64_t, std::span<const std::byte>) {
  return kNotYet;
}
Status Heap::read_bytes(Handle, uint64_t, std::span<std::byte>) const {
  return kNotYet;
}
Result<ObjectInfo> Heap::info(Handle) const {
  return kNotYet;
}
ObjectInfo Heap::info(const Object*) const {
  return {};
}
Status Heap::minor() {
  return kNotYet;
}
Status Heap::major() {
  return kNotYet;
}
Status Heap::verify() const {
  return kNotYet;
}
Status Heap::verify_after_major() const {
  return kNotYet;
}
void Heap::visit_reachable(const std::function<void(const Object*)>&) const {}
bool Heap::contains(const void*) const {
  return false;
}
Space Heap::space_of(const void*) const {
  return Space::kNone;
}
bool Heap::card_dirty(const Object*, uint64_t) const {
  return false;
}
HeapStats Heap::stats() const {
  return {};
}
void Heap::fail_next_os_calls(uint32_t) {}

Pacer::Pacer(const PacerConfig& config)
    : config_(config), nursery_(config.initial_nursery), major_trigger_(config.min_major_trigger) {}
void Pacer::on_minor(uint64_t, uint64_t, uint64_t) {
  in_band_run_ = 0;
}
void Pacer::on_major(uint64_t) {}

std::string HeapStats::to_json() const {
  return "{}";
}
PauseSummary summarize_pauses(std::vector<uint64_t>) {
  return {};
}

}  // namespace vmmem::gc
