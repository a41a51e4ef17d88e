// Convolution kernels (conv.cc): the geometry array JavaScript passes (src/backend/native/conv.ts
// writes the same indices) and the entry point.
#pragma once

#include "common.h"

namespace gradlab {

// Indices into the Float64Array `geometry` of a convolution call. Shapes follow tfjs: activations
// NHWC, filter HWIO (groups 1) or [KH, KW, C, multiplier] (groups = C, depthwise).
enum ConvIndex {
  kPass, kN, kIH, kIW, kIC, kOH, kOW, kOC, kKH, kKW, kSH, kSW, kDH, kDW, kPadTop, kPadLeft,
  kGroups, kActivation, kAlpha, kHasBias, kThreads,
  // Not part of the primitive's identity:
  kWeightKey,      // the filter's tensor id for the reordered-filter cache, or -1 (no caching)
  kSrcOffset,      // x (forward, backward weights) or dx (backward data), bytes into the heap
  kWeightsOffset,  // filter (forward, backward data) or dfilter (backward weights)
  kBiasOffset,     // bias (forward with kHasBias)
  kDstOffset,      // y (forward) or dy (backward passes)
  kConvGeometrySize
};

// Input gradients with at most this many input channels take the matrix-product route (conv.cc).
constexpr int kGemmMaxInputChannels = 3;

enum ConvPass { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };
enum Activation { kNone = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3 };

// Runs one convolution pass on the wasm heap; throws ArgError or dnnl::error.
void convolution(const Heap& heap, const double* geometry);

}  // namespace gradlab
