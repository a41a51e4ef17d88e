// Batch-invariant row products (gemm.cc), used by matmul.cc for an untransposed A.
#pragma once

#include <cstdint>

namespace gradlab {

// C[m, n] = A[m, k] · B[k, n], all row-major float32. Every output element is summed over k in
// order, by a kernel whose choice depends on nothing but the CPU: a row's result is the same bits
// whatever rows come with it and whatever the thread count. Blocks of 4 rows split over `threads`.
void rows_times(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, int threads);

// C[m, n] = A[m, k] · Bᵀ with B stored row-major [n, k] (a dense layer's input gradient dy · Wᵀ):
// dot products of contiguous rows, each summed the same way whatever rows and threads come with it.
void rows_times_bt(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, int threads);

// Which kernel rows_times uses on this CPU: "avx2" (8 lanes, fused multiply-add) or "base"
// (4 lanes). GRADLAB_NATIVE_GEMM=base forces the base one (tests cover both this way).
const char* rows_times_kernel();

}  // namespace gradlab
