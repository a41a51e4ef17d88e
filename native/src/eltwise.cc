// Element-wise kernels on the wasm heap (memory-bound: one pass over three arrays), split into
// contiguous parts over the threads JavaScript asks for (one below the size threshold, and always
// one in worker threads, which then start no OpenMP team: rules in common.h).
// ReLU's backward pass in one pass: tfjs computes it as dy · step(x), two kernels and a temporary
// the size of the activation; PyTorch's threshold_backward is this one loop.
#include "eltwise.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace gradlab {

// Branch-free selects over restrict pointers, so the loop vectorises: with branches, the 50/50
// sign pattern of real activations mispredicted every other element (5x slower than tfjs' two
// wasm kernels).
template <bool kGuided>
void mask(const float* __restrict dy, const float* __restrict y, float* __restrict dx, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const float yi = y[i], d = dy[i];
    const bool pass = kGuided ? (yi > 0.f) & (d > 0.f) : yi > 0.f;
    const float kept = pass ? d : 0.f;
    dx[i] = yi != yi ? yi : kept;
  }
}

void relu_backprop(const Heap& heap, const double* g) {
  const double count_d = g[kRbCount];
  if (!(count_d >= 0) || count_d != std::floor(count_d)) throw ArgError{"invalid element count"};
  const size_t count = size_t(count_d);
  const float* dy = heap.at(g[kRbDyOffset], count);
  const float* y = heap.at(g[kRbYOffset], count);
  float* dx = heap.at(g[kRbDxOffset], count);
  const bool guided = g[kRbGuided] != 0;
  const int threads = std::max(1, int(g[kRbThreads]));
  use_threads(threads);
  const size_t part = (count + size_t(threads) - 1) / size_t(threads);
#pragma omp parallel for schedule(static) if (threads > 1)
  for (int t = 0; t < threads; ++t) {
    const size_t from = std::min(count, size_t(t) * part), to = std::min(count, from + part);
    if (guided) {
      mask<true>(dy + from, y + from, dx + from, to - from);
    } else {
      mask<false>(dy + from, y + from, dx + from, to - from);
    }
  }
}

}  // namespace gradlab
