// Matrix products on the wasm heap, row-major: an untransposed A through gradlab's batch-invariant
// row kernels (gemm.h; dot products of rows for a transposed B), a transposed A through oneDNN's
// sgemm; tfjs's fused bias and activation applied in one pass afterwards. Threading rules in common.h.
#include "matmul.h"

#include <algorithm>

#include "conv.h"
#include "gemm.h"

namespace gradlab {

void mat_mul(const Heap& heap, const double* g) {
  auto d = [&](int i) { return int64_t(g[i]); };
  const int64_t batch = d(kMmBatch), m = d(kMmM), k = d(kMmK), n = d(kMmN);
  const bool ta = g[kMmTransposeA] != 0, tb = g[kMmTransposeB] != 0;
  const int64_t stride_a = d(kMmBatchStrideA), stride_b = d(kMmBatchStrideB);
  const int activation = int(g[kMmActivation]);
  const float alpha = float(g[kMmAlpha]);
  if (batch <= 0 || m <= 0 || k <= 0 || n <= 0 || stride_a < 0 || stride_b < 0 || activation < kNone || activation > kLeakyRelu) {
    throw ArgError{"invalid matrix product geometry"};
  }
  const int threads = std::max(1, int(g[kMmThreads]));
  use_threads(threads);
  const float* a = heap.at(g[kMmAOffset], size_t(stride_a * (batch - 1) + m * k));
  const float* b = heap.at(g[kMmBOffset], size_t(stride_b * (batch - 1) + k * n));
  float* c = heap.at(g[kMmCOffset], size_t(batch * m * n));
  const float* bias = g[kMmHasBias] != 0 ? heap.at(g[kMmBiasOffset], size_t(n)) : nullptr;
  for (int64_t i = 0; i < batch; ++i) {
    float* ci = c + i * m * n;
    const float* ai = a + i * stride_a;
    const float* bi = b + i * stride_b;
    dnnl::status status = dnnl::status::success;
    if (ta) {
      status = dnnl::sgemm('T', tb ? 'T' : 'N', m, n, k, 1.f, ai, m, bi, tb ? k : n, 0.f, ci, n);
    } else {
      // gradlab promises that an image explained in a batch gets exactly the map it gets alone, so
      // a row's result must not depend on how many rows came with it. sgemm picks other kernels
      // (and summation orders) for other row counts; it ran row by row, one pass over B per row.
      // rows_times and rows_times_bt (gemm.h) are invariant by construction; which one runs
      // depends on B's layout only, never on the row count. A transposed B (a dense layer's input
      // gradient, dy · Wᵀ) is read as rows: transposing it into scratch first cost 7 ms for
      // ResNet-18's 1000 × 512 logits layer (strided writes), the dot products 0.07 ms.
      if (tb) rows_times_bt(ai, bi, ci, m, k, n, threads);
      else rows_times(ai, bi, ci, m, k, n, threads);
    }
    if (status != dnnl::status::success) throw ArgError{"sgemm failed"};
    if (!bias && activation == kNone) continue;
    for (int64_t r = 0; r < m; ++r) {
      float* row = ci + r * n;
      for (int64_t j = 0; j < n; ++j) {
        float v = row[j] + (bias ? bias[j] : 0.f);
        if (activation == kRelu) v = std::max(v, 0.f);
        else if (activation == kRelu6) v = std::min(std::max(v, 0.f), 6.f);
        else if (activation == kLeakyRelu) v = v < 0.f ? v * alpha : v;
        row[j] = v;
      }
    }
  }
}

}  // namespace gradlab
