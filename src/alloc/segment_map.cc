#include "alloc/segment_map.h"

namespace vmmem::alloc {

alignas(std::atomic_ref<uint64_t>::required_alignment) uint64_t
    SegmentMap::bits_[SegmentMap::kWords];
alignas(std::atomic_ref<uint64_t>::required_alignment) uint64_t
    SegmentMap::tail_bits_[SegmentMap::kWords];

}  // namespace vmmem::alloc
