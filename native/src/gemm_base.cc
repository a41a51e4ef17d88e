// The row-product kernels with 128-bit vectors: any CPU (SSE2 on x86-64, NEON on arm64).
#include <cstdint>

#define GEMM_LANES 4
#define GEMM_NAME rows_times_base
#define GEMM_BT_NAME rows_times_bt_base
#include "gemm_kernel.inc"
