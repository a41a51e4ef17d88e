// Max-pooling gradient on the wasm heap, NHWC, one thread (a single pass over the windows costs
// well under a millisecond at ResNet's 112×112×64; threading rules in common.h).
#include "pool.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace gradlab {

void max_pool_grad(const Heap& heap, const double* g) {
  auto d = [&](int i) { return int64_t(g[i]); };
  const int64_t n = d(kPoolN), ih = d(kPoolIH), iw = d(kPoolIW), c = d(kPoolC), oh = d(kPoolOH), ow = d(kPoolOW);
  const int64_t kh = d(kPoolKH), kw = d(kPoolKW), sh = d(kPoolSH), sw = d(kPoolSW), dh = d(kPoolDH), dw = d(kPoolDW);
  const int64_t pt = d(kPoolPadTop), pl = d(kPoolPadLeft);
  if (n <= 0 || ih <= 0 || iw <= 0 || c <= 0 || oh <= 0 || ow <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 ||
      dh <= 0 || dw <= 0) {
    throw ArgError{"invalid pooling geometry"};
  }
  float* dx = heap.at(g[kPoolDxOffset], size_t(n * ih * iw * c));
  const float* x = heap.at(g[kPoolXOffset], size_t(n * ih * iw * c));
  const float* dy = heap.at(g[kPoolDyOffset], size_t(n * oh * ow * c));
  const float* y = heap.at(g[kPoolYOffset], size_t(n * oh * ow * c));
  std::fill(dx, dx + n * ih * iw * c, 0.f);
  const int64_t row = iw * c;
  for (int64_t b = 0; b < n; ++b) {
    const float* xb = x + b * ih * row;
    float* dxb = dx + b * ih * row;
    for (int64_t r = 0; r < oh; ++r) {
      const int64_t r0 = r * sh - pt;
      for (int64_t q = 0; q < ow; ++q) {
        const int64_t q0 = q * sw - pl;
        const int64_t at_out = ((b * oh + r) * ow + q) * c;
        for (int64_t ch = 0; ch < c; ++ch) {
          const float want = y[at_out + ch];
          if (want == -INFINITY) continue;  // as on the cpu backend: -Infinity is never a maximum
          int64_t found = -1;
          float best = -INFINITY;
          int64_t best_at = -1;
          for (int64_t i = 0; i < kh && found < 0; ++i) {
            const int64_t xr = r0 + i * dh;
            if (xr < 0 || xr >= ih) continue;
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t xc = q0 + j * dw;
              if (xc < 0 || xc >= iw) continue;
              const int64_t at = xr * row + xc * c + ch;
              const float v = xb[at];
              if (v == want) {
                found = at;
                break;
              }
              if (v > best) best = v, best_at = at;  // for a NaN maximum: the largest other value
            }
          }
          if (found < 0) found = best_at;
          if (found >= 0) dxb[found] += dy[at_out + ch];
        }
      }
    }
  }
}

}  // namespace gradlab
