/**
 * The input gradient of a strided conv2d as s_h × s_w small stride-1 convolutions ("sub-pixel"
 * decomposition), for conv2d-backprop-input.ts.
 *
 * Why: the plain transposed-conv recipe convolves the zero-dilated output gradient, so for stride 2
 * three quarters of its multiply-adds hit inserted zeros (4x the forward conv's work; the ResNet-18
 * stem's 7x7/2 input gradient took longer than its whole forward pass). Here every input position
 * h = s·u + r − pad belongs to one phase r, and only the taps kh ≡ r (mod s) reach it:
 *   dx[s·u + r − pad] = Σ_m dy[u − m] · W[r + s·m],  m = 0 … ⌈(k − r)/s⌉ − 1
 * which is a stride-1 correlation of the (undilated) output gradient with the phase's flipped
 * sub-filter (channels swapped). The phases' results are interleaved back into dx. Total work
 * equals the forward conv's. Sub-filters are cached per weight tensor like the full flipped filter.
 */
import type * as tf from '@tensorflow/tfjs';
import { cachePerBackend } from './filter-cache.ts';
import {
  concat, conv2d, explicitPad, reshape, reverse, slice, stridedSlice, transpose, withIntermediates, zeros,
  type BackendWasm, type TensorInfo,
} from './wasm-ops.ts';

/** Taps of a k-tap kernel that reach phase r of stride s. */
function phaseTaps(k: number, s: number, r: number): number {
  return r < k ? Math.ceil((k - r) / s) : 0;
}

const subFilterCaches = new Map<string, ReturnType<typeof cachePerBackend>>();

/** The cache of phase (p, q) sub-filters for strides (sh, sw): W[p::sh, q::sw] flipped, [m, n, Cout, Cin]. */
function subFilters(sh: number, sw: number, p: number, q: number): ReturnType<typeof cachePerBackend> {
  const key = `${sh},${sw},${p},${q}`;
  let cache = subFilterCaches.get(key);
  if (!cache) {
    cache = cachePerBackend((backend, filter) => {
      const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
      return withIntermediates(backend, (keep) => {
        const taps = keep(stridedSlice(backend, filter, [p, q, 0, 0], [kh, kw, cin, cout], [sh, sw, 1, 1]));
        const flipped = keep(reverse(backend, taps, [0, 1]));
        return transpose(backend, flipped, [0, 1, 3, 2]);
      });
    });
    subFilterCaches.set(key, cache);
  }
  return cache;
}

/** Releases the cached sub-filters. */
export function clearStridedBackpropInputCache(): void {
  for (const cache of subFilterCaches.values()) cache.clear();
}

/** dx for dy of a conv2d with strides > 1 (dilation 1, NHWC); see the module comment. */
export function stridedConv2DBackpropInput(
  backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: b, inHeight, inWidth, inChannels: cin, outHeight, outWidth } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  // Phase outputs cover padded positions 0 … U·sh − 1 (rows) and 0 … V·sw − 1 (columns).
  const rowsU = Math.ceil((top + inHeight) / sh);
  const colsV = Math.ceil((left + inWidth) / sw);
  return withIntermediates(backend, (keep) => {
    const phases: TensorInfo[] = [];
    for (let p = 0; p < sh; p++) {
      for (let q = 0; q < sw; q++) {
        const m = phaseTaps(kh, sh, p);
        const n = phaseTaps(kw, sw, q);
        if (m === 0 || n === 0) {
          phases.push(keep(zeros(backend, [b, rowsU, colsV, cin])));
          continue;
        }
        const sub = subFilters(sh, sw, p, q).of(backend).get(filter); // owned by the cache
        const padBottom = Math.max(0, rowsU - outHeight);
        const padRight = Math.max(0, colsV - outWidth);
        let g = keep(conv2d(backend, dy, sub, [1, 1], [1, 1], explicitPad(m - 1, padBottom, n - 1, padRight)));
        if (g.shape[1] !== rowsU || g.shape[2] !== colsV) g = keep(slice(backend, g, [0, 0, 0, 0], [b, rowsU, colsV, cin]));
        phases.push(g);
      }
    }
    // [B, U, V, (p, q, c)] -> [B, U, p, V, q, c] -> [B, U·sh, V·sw, c], then drop the padding.
    const stacked = keep(concat(backend, phases, 3));
    const split = keep(reshape(backend, stacked, [b, rowsU, colsV, sh, sw, cin]));
    const interleaved = keep(transpose(backend, split, [0, 1, 3, 2, 4, 5]));
    const full = keep(reshape(backend, interleaved, [b, rowsU * sh, colsV * sw, cin]));
    return slice(backend, full, [0, top, left, 0], [b, inHeight, inWidth, cin]);
  });
}
