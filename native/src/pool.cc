// Max-pooling gradient on the wasm heap, NHWC, one thread (a single pass over the windows costs
// well under a millisecond at ResNet's 112×112×64; threading rules in common.h). Windows that
// tile the input (2×2/2) take a faster path that writes each element once.
#include "pool.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace gradlab {
namespace {

// The offset of a window's largest non-NaN value in one channel, or -1 (none above -Infinity):
// where the window's forward maximum is NaN, nothing equals it.
int64_t largest_in_window(const float* xb, int64_t r0, int64_t q0, int64_t ch, int64_t kh, int64_t kw, int64_t dh,
                          int64_t dw, int64_t ih, int64_t iw, int64_t c) {
  float best = -INFINITY;
  int64_t best_at = -1;
  for (int64_t i = 0; i < kh; ++i) {
    const int64_t xr = r0 + i * dh;
    if (xr < 0 || xr >= ih) continue;
    for (int64_t j = 0; j < kw; ++j) {
      const int64_t xc = q0 + j * dw;
      if (xc < 0 || xc >= iw) continue;
      const int64_t at = (xr * iw + xc) * c + ch;
      if (xb[at] > best) best = xb[at], best_at = at;
    }
  }
  return best_at;
}

// Windows that tile the input (stride = window, no padding or dilation: 2×2/2, the common case):
// every input element lies in at most one window, so each is written once, with the window's
// gradient at its first tap equal to the maximum and 0 elsewhere: branch-free selects over the
// channels (contiguous in NHWC), no zero-fill except where windows leave a border uncovered.
void tiled_max_pool_grad(float* __restrict dx, const float* __restrict x, const float* __restrict dy,
                         const float* __restrict y, int64_t n, int64_t ih, int64_t iw, int64_t c, int64_t oh,
                         int64_t ow, int64_t kh, int64_t kw) {
  if (oh * kh != ih || ow * kw != iw) std::fill(dx, dx + n * ih * iw * c, 0.f);
  const int64_t row = iw * c;
  std::vector<float> left(size_t(c), 0.f);  // the window's gradient, until its first maximum takes it
  std::vector<uint8_t> open(size_t(c), 0);  // 1 until a tap equal to the maximum was seen
  for (int64_t b = 0; b < n; ++b) {
    const float* xb = x + b * ih * row;
    float* dxb = dx + b * ih * row;
    for (int64_t r = 0; r < oh; ++r) {
      for (int64_t q = 0; q < ow; ++q) {
        const float* want = y + ((b * oh + r) * ow + q) * c;
        const float* grad = dy + ((b * oh + r) * ow + q) * c;
        float* __restrict l = left.data();
        uint8_t* __restrict o = open.data();
        for (int64_t ch = 0; ch < c; ++ch) {
          l[ch] = want[ch] == -INFINITY ? 0.f : grad[ch];  // as on the cpu backend: -Infinity is never a maximum
          o[ch] = 1;
        }
        for (int64_t i = 0; i < kh; ++i) {
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t at = (r * kh + i) * row + (q * kw + j) * c;
            const float* xs = xb + at;
            float* __restrict d = dxb + at;
            for (int64_t ch = 0; ch < c; ++ch) {
              const bool hit = (xs[ch] == want[ch]) & (o[ch] != 0);
              d[ch] = hit ? l[ch] : 0.f;
              o[ch] = hit ? 0 : o[ch];
            }
          }
        }
        for (int64_t ch = 0; ch < c; ++ch) {
          if (!o[ch] || want[ch] == -INFINITY) continue;
          // No tap equals the maximum (a NaN maximum): the largest non-NaN value takes it.
          const int64_t to = largest_in_window(xb, r * kh, q * kw, ch, kh, kw, 1, 1, ih, iw, c);
          if (to >= 0) dxb[to] += grad[ch];
        }
      }
    }
  }
}

}  // namespace

void max_pool_grad(const Heap& heap, const double* g) {
  auto d = [&](int i) { return int64_t(g[i]); };
  const int64_t n = d(kPoolN), ih = d(kPoolIH), iw = d(kPoolIW), c = d(kPoolC), oh = d(kPoolOH), ow = d(kPoolOW);
  const int64_t kh = d(kPoolKH), kw = d(kPoolKW), sh = d(kPoolSH), sw = d(kPoolSW), dh = d(kPoolDH), dw = d(kPoolDW);
  const int64_t pt = d(kPoolPadTop), pl = d(kPoolPadLeft);
  if (n <= 0 || ih <= 0 || iw <= 0 || c <= 0 || oh <= 0 || ow <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 ||
      dh <= 0 || dw <= 0) {
    throw ArgError{"invalid pooling geometry"};
  }
  if (ih * iw * c >= (int64_t(1) << 31)) throw ArgError{"one image over 2^31 elements"};
  float* dx = heap.at(g[kPoolDxOffset], size_t(n * ih * iw * c));
  const float* x = heap.at(g[kPoolXOffset], size_t(n * ih * iw * c));
  const float* dy = heap.at(g[kPoolDyOffset], size_t(n * oh * ow * c));
  const float* y = heap.at(g[kPoolYOffset], size_t(n * oh * ow * c));
  const int64_t row = iw * c;
  // Windows that tile the input and stay inside it ('same' padding can add a row or column beyond).
  if (sh == kh && sw == kw && dh == 1 && dw == 1 && pt == 0 && pl == 0 && oh * kh <= ih && ow * kw <= iw) {
    tiled_max_pool_grad(dx, x, dy, y, n, ih, iw, c, oh, ow, kh, kw);
    return;
  }
  std::fill(dx, dx + n * ih * iw * c, 0.f);
  // Per window, the taps are visited in row-major order with the channels innermost (contiguous in
  // NHWC, so the comparisons vectorise); `found` keeps each channel's first tap equal to its maximum.
  std::vector<int32_t> found(size_t(c), 0);  // offsets within one image (< 2^31)
  for (int64_t b = 0; b < n; ++b) {
    const float* xb = x + b * ih * row;
    float* dxb = dx + b * ih * row;
    for (int64_t r = 0; r < oh; ++r) {
      const int64_t r0 = r * sh - pt;
      for (int64_t q = 0; q < ow; ++q) {
        const int64_t q0 = q * sw - pl;
        const float* want = y + ((b * oh + r) * ow + q) * c;
        const float* grad = dy + ((b * oh + r) * ow + q) * c;
        std::fill(found.begin(), found.end(), -1);
        for (int64_t i = 0; i < kh; ++i) {
          const int64_t xr = r0 + i * dh;
          if (xr < 0 || xr >= ih) continue;
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t xc = q0 + j * dw;
            if (xc < 0 || xc >= iw) continue;
            const int64_t at = xr * row + xc * c;
            const float* xs = xb + at;
            const int32_t base = int32_t(at);
            int32_t* f = found.data();
            for (int64_t ch = 0; ch < c; ++ch) {
              const int32_t hit = xs[ch] == want[ch] ? base + int32_t(ch) : -1;
              f[ch] = f[ch] >= 0 ? f[ch] : hit;
            }
          }
        }
        for (int64_t ch = 0; ch < c; ++ch) {
          int64_t to = found[ch];
          if (want[ch] == -INFINITY) continue;  // as on the cpu backend: -Infinity is never a maximum
          if (to < 0) to = largest_in_window(xb, r0, q0, ch, kh, kw, dh, dw, ih, iw, c);  // a NaN maximum
          if (to >= 0) dxb[to] += grad[ch];
        }
      }
    }
  }
}

}  // namespace gradlab
