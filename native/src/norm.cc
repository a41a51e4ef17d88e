// Batch normalisation on the wasm heap, channels last, one thread: per channel a factor and a
// shift are computed once, then one multiply-add per element (vectorised). tfjs's wasm kernel
// recomputes the square root per element; this was a third of a ResNet-18 forward pass.
#include "norm.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace gradlab {

void batch_norm(const Heap& heap, const double* g) {
  const int64_t pixels = int64_t(g[kNormPixels]), channels = int64_t(g[kNormChannels]);
  if (pixels < 0 || channels <= 0) throw ArgError{"invalid batch-norm geometry"};
  const float epsilon = float(g[kNormEpsilon]);
  const float* x = heap.at(g[kNormXOffset], size_t(pixels * channels));
  const float* mean = heap.at(g[kNormMeanOffset], size_t(channels));
  const float* variance = heap.at(g[kNormVarianceOffset], size_t(channels));
  const float* offset = g[kNormOffsetOffset] >= 0 ? heap.at(g[kNormOffsetOffset], size_t(channels)) : nullptr;
  const float* scale = g[kNormScaleOffset] >= 0 ? heap.at(g[kNormScaleOffset], size_t(channels)) : nullptr;
  float* out = heap.at(g[kNormOutOffset], size_t(pixels * channels));
  std::vector<float> factor(static_cast<size_t>(channels)), shift(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    factor[c] = (scale ? scale[c] : 1.f) / std::sqrt(variance[c] + epsilon);
    shift[c] = offset ? offset[c] : 0.f;
  }
  for (int64_t p = 0; p < pixels; ++p) {
    const float* xp = x + p * channels;
    float* op = out + p * channels;
    for (int64_t c = 0; c < channels; ++c) op[c] = (xp[c] - mean[c]) * factor[c] + shift[c];
  }
}

}  // namespace gradlab
