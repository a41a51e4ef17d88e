// Max-pooling gradient on the wasm heap, NHWC, one thread (a single pass over the windows costs
// well under a millisecond at ResNet's 112×112×64; threading rules in common.h). Windows that
// tile the input (2×2/2) take a faster path that writes each element once.
#include "pool.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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
// every input element lies in at most one window, so each is written once — the window's gradient
// at its first tap equal to the maximum, 0 elsewhere — and no zero-fill is needed except where the
// windows leave a border uncovered. Four channels at a time with GCC/Clang vector extensions
// (portable, branch-free masks: GCC left the plain loop scalar, with branches that the random
// pattern of maxima mispredicted); the remaining channels one by one.
typedef float F4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));

inline F4 load4(const float* p) {
  F4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store4(float* p, F4 v) { std::memcpy(p, &v, sizeof v); }

void tiled_max_pool_grad(float* dx, const float* x, const float* dy, const float* y, int64_t n, int64_t ih,
                         int64_t iw, int64_t c, int64_t oh, int64_t ow, int64_t kh, int64_t kw) {
  if (oh * kh != ih || ow * kw != iw) std::fill(dx, dx + n * ih * iw * c, 0.f);
  const int64_t row = iw * c;
  const F4 minus_inf = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  for (int64_t b = 0; b < n; ++b) {
    const float* xb = x + b * ih * row;
    float* dxb = dx + b * ih * row;
    for (int64_t r = 0; r < oh; ++r) {
      for (int64_t q = 0; q < ow; ++q) {
        const float* want = y + ((b * oh + r) * ow + q) * c;
        const float* grad = dy + ((b * oh + r) * ow + q) * c;
        const int64_t corner = (r * kh) * row + (q * kw) * c;
        int64_t ch = 0;
        for (; ch + 4 <= c; ch += 4) {
          const F4 m = load4(want + ch);
          // -Infinity is never a maximum (as on the cpu backend): such a window passes nothing.
          const I4 finite = m != minus_inf;
          const I4 g = reinterpret_cast<I4>(load4(grad + ch)) & finite;
          I4 open = finite;
          for (int64_t i = 0; i < kh; ++i) {
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t at = corner + i * row + j * c + ch;
              const I4 equal = load4(xb + at) == m;
              store4(dxb + at, reinterpret_cast<F4>(g & equal & open));
              open &= ~equal;
            }
          }
          for (int lane = 0; lane < 4; ++lane) {
            if (!open[lane]) continue;
            // No tap equals the maximum (a NaN maximum): the largest non-NaN value takes it.
            const int64_t to = largest_in_window(xb, r * kh, q * kw, ch + lane, kh, kw, 1, 1, ih, iw, c);
            if (to >= 0) dxb[to] += grad[ch + lane];
          }
        }
        for (; ch < c; ++ch) {
          const float m = want[ch];
          bool open = m != -INFINITY;
          for (int64_t i = 0; i < kh; ++i) {
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t at = corner + i * row + j * c + ch;
              const bool take = open && xb[at] == m;
              dxb[at] = take ? grad[ch] : 0.f;
              open = open && !take;
            }
          }
          if (!open) continue;
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
