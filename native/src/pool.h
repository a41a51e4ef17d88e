// Max-pooling gradient (pool.cc): the geometry array JavaScript passes
// (src/backend/native/pool-kernels.ts writes the same indices) and the entry point.
#pragma once

#include "common.h"

namespace gradlab {

enum PoolIndex {
  kPoolN, kPoolIH, kPoolIW, kPoolC, kPoolOH, kPoolOW, kPoolKH, kPoolKW, kPoolSH, kPoolSW, kPoolDH, kPoolDW,
  kPoolPadTop, kPoolPadLeft,
  kPoolDxOffset,  // dx (output), NHWC like x
  kPoolDyOffset,  // dy, NHWC like y
  kPoolXOffset,   // the forward input
  kPoolYOffset,   // the forward output (each window's maximum)
  kPoolGeometrySize
};

// dx of max pooling: each window's dy goes to the first position (row-major window order) holding
// the window's maximum; windows without a finite maximum (all NaN or -Infinity) pass nothing.
// The semantics of tfjs's cpu backend, PyTorch and gradlab's wasm kernel (max-pool-grad.ts).
void max_pool_grad(const Heap& heap, const double* geometry);

}  // namespace gradlab
