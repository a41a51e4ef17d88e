// Matrix products (matmul.cc): the geometry array JavaScript passes
// (src/backend/native/matmul-kernels.ts writes the same indices) and the entry point.
#pragma once

#include "common.h"

namespace gradlab {

enum MatMulIndex {
  kMmBatch, kMmM, kMmK, kMmN, kMmTransposeA, kMmTransposeB,
  kMmBatchStrideA, kMmBatchStrideB,  // elements between batches: 0 broadcasts a single matrix
  kMmActivation, kMmAlpha, kMmHasBias, kMmThreads,
  kMmAOffset, kMmBOffset, kMmBiasOffset, kMmCOffset,
  kMmGeometrySize
};

// C[b] = activation(op(A[b]) · op(B[b]) + bias) for every batch b, row-major, through oneDNN's
// sgemm; bias has N elements; activations as in conv.h (none, relu, relu6, leaky relu).
void mat_mul(const Heap& heap, const double* geometry);

}  // namespace gradlab
