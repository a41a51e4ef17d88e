// Element-wise kernels (eltwise.cc): the geometry arrays JavaScript passes
// (src/backend/native/other-kernels.ts writes the same indices) and the entry points.
#pragma once

#include "common.h"

namespace gradlab {

// [count, dy offset, y offset, dx offset, guided (0/1), threads]
enum ReluBackpropIndex { kRbCount = 0, kRbDyOffset, kRbYOffset, kRbDxOffset, kRbGuided, kRbThreads, kRbGeometrySize };

// dx = dy where y > 0 (and, guided, where dy > 0 too), else 0; NaN in y stays NaN (float32).
// y is the ReLU's OUTPUT: y > 0 exactly where its input is, so the mask needs no other tensor.
void relu_backprop(const Heap& heap, const double* geometry);

}  // namespace gradlab
