// The row-product kernels with 256-bit vectors and fused multiply-add, for x86-64 CPUs with AVX2
// and FMA (chosen at run time by gemm.cc; compiled for them by the pragma, so nothing else here).
#include <cstdint>

#if defined(__x86_64__)
#pragma GCC target("avx2,fma")
#define GEMM_LANES 8
#define GEMM_NAME rows_times_avx2
#define GEMM_BT_NAME rows_times_bt_avx2
#include "gemm_kernel.inc"
#endif
