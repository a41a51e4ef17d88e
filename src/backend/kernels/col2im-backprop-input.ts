/**
 * The input gradient of a conv2d with few input channels (image stems: 1 channel for MNIST, 3 for
 * RGB), as one matrix product and a scatter-add ("col2im"), instead of a convolution.
 *
 * Why: the other routes (conv2d-backprop-input.ts, strided-backprop-input.ts) run XNNPACK's forward
 * convolution with the image's channels as *output* channels. With 1 or 3 outputs its kernels,
 * tiled for 8 or more, waste most of their work: the MNIST stem's input gradient (3×3, 32 → 1)
 * took 4× its forward conv. Here the product does exactly the multiply-adds of the forward conv:
 *   cols = dy · Wᵀ     dy as [N·OH·OW, Cout], W as [KH·KW·Cin, Cout]  →  [N·OH·OW, KH·KW·Cin]
 * and each row of cols is then added into the input window it came from, which for few input
 * channels is a small share of the work (KH·KW·Cin adds per output pixel, against Cout times as
 * many multiply-adds in the product). Any stride, padding and dilation; NHWC only.
 */
import * as tf from '@tensorflow/tfjs';
import { cachePerBackend } from './filter-cache.ts';
import { reshape, runStock, transpose, withIntermediates, type BackendWasm, type TensorInfo } from './wasm-ops.ts';

/**
 * Where this route wins, from `node --import tsx scripts/bench-stem-routes.ts` (median ms with 2
 * threads, col2im against the convolution route): one input channel (MNIST stem 3×3 1→32, batch
 * 64: 4.8 against 9.4) and strided stems with up to 3 (MobileNet 3×3/2 3→32 at 224²: 3.4 against
 * 10.7; ResNet 7×7/2 3→64: 24 against 37). Unstrided stems with 2–3 channels lose (3×3 3→32 at
 * 32², batch 64: 16.8 against 8.8), as does anything wider (8 channels: 16.2 against 4.9): there
 * XNNPACK's tiles fill up and the scatter-add's share grows.
 */
export function usesCol2im(info: tf.backend_util.Conv2DInfo): boolean {
  const strided = info.strideHeight > 1 || info.strideWidth > 1;
  return info.inChannels === 1 || (strided && info.inChannels <= 3);
}

/**
 * dx[b, oh·sh − top + i·dh, ow·sw − left + j·dw, c] += cols[(b, oh, ow), (i, j, c)], one tap (i, j, c)
 * at a time so that the innermost loop is a long branch-free strided run over ow (measured 2–4×
 * faster in V8 than a loop over pixels with the taps inside).
 */
function scatterAdd(cs: Float32Array, dxs: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const patch = kh * kw * inChannels;
  const dxStep = sw * inChannels;
  for (let i = 0; i < kh; i++) {
    const rowShift = i * dh - top;
    for (let j = 0; j < kw; j++) {
      const colShift = j * dw - left;
      // The output columns whose tap j lands inside the input: 0 <= ow·sw + colShift < inWidth.
      const owFrom = Math.max(0, Math.ceil(-colShift / sw));
      const owTo = Math.min(outWidth, Math.floor((inWidth - 1 - colShift) / sw) + 1);
      if (owTo <= owFrom) continue;
      for (let ci = 0; ci < inChannels; ci++) {
        const tap = (i * kw + j) * inChannels + ci;
        for (let b = 0; b < batchSize; b++) {
          for (let oh = 0; oh < outHeight; oh++) {
            const y = oh * sh + rowShift;
            if (y < 0 || y >= inHeight) continue;
            let src = ((b * outHeight + oh) * outWidth + owFrom) * patch + tap;
            let dst = ((b * inHeight + y) * inWidth + owFrom * sw + colShift) * inChannels + ci;
            for (let ow = owFrom; ow < owTo; ow++, src += patch, dst += dxStep) dxs[dst]! += cs[src]!;
          }
        }
      }
    }
  }
}

/** [KH, KW, Cin, Cout] → [1, Cout, KH·KW·Cin], the right-hand operand of cols = dy · Wᵀ. */
function filterRows(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
  return withIntermediates(backend, (keep) => {
    const flat = keep(reshape(backend, filter, [kh * kw * cin, cout]));
    const rows = keep(transpose(backend, flat, [1, 0]));
    return reshape(backend, rows, [1, cout, kh * kw * cin]);
  });
}

const filterRowCache = cachePerBackend(filterRows);

export function clearCol2imCache(): void {
  filterRowCache.clear();
}

export function col2imConv2DBackpropInput(
  backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const pixels = batchSize * outHeight * outWidth;
  const cols = withIntermediates(backend, (keep) => {
    const rows = filterRowCache.of(backend).get(filter); // owned by the cache
    const dy3 = keep(reshape(backend, dy, [1, pixels, outChannels]));
    return runStock('BatchMatMul', backend, { a: dy3, b: rows }, { transposeA: false, transposeB: false });
  });
  const dx = backend.makeOutput([batchSize, inHeight, inWidth, inChannels], 'float32');
  try {
    // Views after the last allocation: an allocation may grow (and detach) the heap.
    const cs = backend.typedArrayFromHeap(cols) as Float32Array;
    const dxs = backend.typedArrayFromHeap(dx) as Float32Array;
    dxs.fill(0);
    scatterAdd(cs, dxs, info);
  } finally {
    backend.disposeData(cols.dataId);
  }
  return dx;
}
