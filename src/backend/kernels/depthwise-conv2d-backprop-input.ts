/**
 * `DepthwiseConv2dNativeBackpropInput` for wasm, missing from the stock backend: the input
 * gradient of every depthwise conv (MobileNet, EfficientNet), so without it no explanation or
 * attack runs on those models.
 *
 * How: as for conv2d (see conv2d-backprop-input.ts), the input gradient is a stride-1 depthwise
 * correlation of the zero-dilated output gradient with the spatially flipped filter. With channel
 * multiplier M the output gradient has C*M channels; the flipped filter [kh, kw, C, M] is used as a
 * multiplier-1 filter over those C*M channels and the M results of each input channel are summed:
 *   dx[b, h, w, c] = sum_m dwconv(dyz, flip(W) as [kh, kw, C*M, 1])[b, h, w, c*M + m]
 * Dilated filters work too: the flipped filter keeps the forward dilation.
 */
import * as tf from '@tensorflow/tfjs';
import { cachePerBackend } from './filter-cache.ts';
import { transposedConvAxis } from './conv2d-backprop-input.ts';
import {
  asPair, depthwiseConv2d, explicitPad, reshape, reverse, shape4, slice, sum, withIntermediates, zeroDilate,
  type BackendWasm, type TensorInfo,
} from './wasm-ops.ts';

interface DepthwiseBackpropInputAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** [kh, kw, C, M] -> flipped in space, as a multiplier-1 filter over C*M channels. */
function flipAsMultiplierOne(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [kh, kw, c, m] = shape4(filter);
  return withIntermediates(backend, (keep) => {
    const flipped = keep(reverse(backend, filter, [0, 1]));
    return reshape(backend, flipped, [kh, kw, c * m, 1]);
  });
}

const flippedFilters = cachePerBackend(flipAsMultiplierOne);

/** Releases the cached flipped filters (tests, or after unloading models). */
export function clearDepthwiseBackpropInputCache(): void {
  flippedFilters.clear();
}

function depthwiseConv2dNativeBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: DepthwiseBackpropInputAttrs;
}): TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  const filterShape = shape4(filter);
  const info = tf.backend_util.computeConv2DInfo(
    inputShape, filterShape, strides, asPair(dilations), pad, dimRoundingMode, true);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const multiplier = filterShape[3];

  const rows = transposedConvAxis(inHeight, outHeight * sh, info.effectiveFilterHeight, info.padInfo.top);
  const cols = transposedConvAxis(inWidth, outWidth * sw, info.effectiveFilterWidth, info.padInfo.left);

  return withIntermediates(backend, (keep) => {
    const flipped = flippedFilters.of(backend).get(filter); // owned by the cache
    const dyz = keep(zeroDilate(backend, dy, sh, sw));
    let dx = keep(depthwiseConv2d(backend, dyz, flipped, [1, 1], [dh, dw],
      explicitPad(rows.before, rows.after, cols.before, cols.after)));
    if (dx.shape[1] !== inHeight || dx.shape[2] !== inWidth) {
      dx = keep(slice(backend, dx, [0, rows.crop, cols.crop, 0],
        [batchSize, inHeight, inWidth, inChannels * multiplier]));
    }
    if (multiplier === 1) return reshape(backend, dx, dx.shape);
    const split = keep(reshape(backend, dx, [batchSize, inHeight, inWidth, inChannels, multiplier]));
    return sum(backend, split, [4]);
  });
}

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as tf.KernelFunc,
};
