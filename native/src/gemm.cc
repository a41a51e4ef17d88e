// Picks the row-product kernels for this CPU once (gemm.h).
#include "gemm.h"

#include <cstdlib>
#include <cstring>

#include "common.h"

namespace gradlab {

void rows_times_base(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, int threads);
void rows_times_bt_base(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, int threads);
#if defined(__x86_64__)
void rows_times_avx2(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, int threads);
void rows_times_bt_avx2(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, int threads);
#endif

namespace {

bool use_avx2() {
#if defined(__x86_64__)
  const char* forced = std::getenv("GRADLAB_NATIVE_GEMM");
  if (forced && std::strcmp(forced, "base") == 0) return false;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

const bool kAvx2 = use_avx2();

}  // namespace

const char* rows_times_kernel() { return kAvx2 ? "avx2" : "base"; }

void rows_times(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, int threads) {
  use_threads(threads);
#if defined(__x86_64__)
  if (kAvx2) return rows_times_avx2(a, b, c, m, k, n, threads);
#endif
  rows_times_base(a, b, c, m, k, n, threads);
}

void rows_times_bt(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, int threads) {
  use_threads(threads);
#if defined(__x86_64__)
  if (kAvx2) return rows_times_bt_avx2(a, b, c, m, k, n, threads);
#endif
  rows_times_bt_base(a, b, c, m, k, n, threads);
}

}  // namespace gradlab
