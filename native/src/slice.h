// Slicing (slice.cc): the geometry array JavaScript passes (src/backend/native/other-kernels.ts
// writes the same indices) and the entry point.
#pragma once

#include "common.h"

namespace gradlab {

constexpr int kSliceMaxRank = 6;
// [rank, shape[6], begin[6], size[6], x offset, out offset]: unused dims are 1 / 0 / 1.
enum SliceIndex {
  kSliceRank = 0, kSliceShape = 1, kSliceBegin = 1 + kSliceMaxRank, kSliceSize = 1 + 2 * kSliceMaxRank,
  kSliceXOffset = 1 + 3 * kSliceMaxRank, kSliceOutOffset, kSliceGeometrySize
};

// out = x[begin : begin + size] (float32, row-major), copied in runs as long as the layout allows.
void slice(const Heap& heap, const double* geometry);

}  // namespace gradlab
