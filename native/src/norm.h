// Batch normalisation at inference (norm.cc): the geometry array JavaScript passes
// (src/backend/native/other-kernels.ts writes the same indices) and the entry point.
#pragma once

#include "common.h"

namespace gradlab {

// [pixels, channels, epsilon, x, mean, variance, offset (or -1), scale (or -1), out]
enum NormIndex {
  kNormPixels, kNormChannels, kNormEpsilon, kNormXOffset, kNormMeanOffset, kNormVarianceOffset,
  kNormOffsetOffset, kNormScaleOffset, kNormOutOffset, kNormGeometrySize
};

// out = (x − mean) · scale / sqrt(variance + ε) + offset per channel, channels last.
void batch_norm(const Heap& heap, const double* geometry);

}  // namespace gradlab
