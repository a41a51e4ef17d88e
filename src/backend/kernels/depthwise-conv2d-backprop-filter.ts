/**
 * `DepthwiseConv2dNativeBackpropFilter` for wasm, missing from the stock backend: the weight
 * gradient of depthwise convs, needed to train or fine-tune MobileNet-style models on wasm.
 *
 * How: per channel, the weight gradient is a correlation of the input with the output gradient,
 * summed over the batch:
 *   dW[i, j, c, m] = sum_{b, oh, ow} x[b, oh*s + i*d - padTop, ow*s + j*d - padLeft, c] * dy[b, oh, ow, c*M + m]
 * The fast (XNNPACK) depthwise conv computes it with batch and channel folded into one channel
 * axis: input [1, H, W, B*C], filter [outH, outW, B*C, M] made from dy, dilation = forward stride,
 * stride = forward dilation. The result [1, >=kh, >=kw, B*C*M] is cropped and summed over B.
 */
import * as tf from '@tensorflow/tfjs';
import {
  asPair, depthwiseConv2d, explicitPad, reshape, slice, sum, transpose, withIntermediates,
  type BackendWasm, type TensorInfo,
} from './wasm-ops.ts';

interface DepthwiseBackpropFilterAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function depthwiseConv2dNativeBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: DepthwiseBackpropFilterAttrs;
}): TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, asPair(dilations), pad,
    dimRoundingMode, true);
  const { batchSize: b, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const m = filterShape[3];
  const { top, left } = info.padInfo;

  if (dy.shape[0] !== b || dy.shape[1] !== outHeight || dy.shape[2] !== outWidth || dy.shape[3] !== c * m) {
    throw new Error(`gradlab wasm DepthwiseConv2dNativeBackpropFilter: dy shape [${dy.shape.join(',')}] does not ` +
      `match the conv output shape [${info.outShape.join(',')}]`);
  }
  if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) {
    // tfjs rejects this combination in the forward op already; say so rather than guess.
    throw new Error('gradlab wasm DepthwiseConv2dNativeBackpropFilter: strides > 1 together with ' +
      'dilations > 1 are not supported');
  }

  // Padding just large enough for kh x kw outputs of the stride-d correlation; surplus is cropped.
  const bottom = Math.max(0, (kh - 1) * dh + (outHeight - 1) * sh + 1 - inHeight - top);
  const right = Math.max(0, (kw - 1) * dw + (outWidth - 1) * sw + 1 - inWidth - left);

  return withIntermediates(backend, (keep) => {
    const xT = keep(transpose(backend, x, [1, 2, 0, 3])); // [H, W, B, C]
    const xFolded = keep(reshape(backend, xT, [1, inHeight, inWidth, b * c]));
    const dyT = keep(transpose(backend, dy, [1, 2, 0, 3])); // [outH, outW, B, C*M]
    const dyFilter = keep(reshape(backend, dyT, [outHeight, outWidth, b * c, m]));
    let grad = keep(depthwiseConv2d(backend, xFolded, dyFilter, [dh, dw], [sh, sw],
      explicitPad(top, bottom, left, right))); // [1, >=kh, >=kw, B*C*M]
    if (grad.shape[1] !== kh || grad.shape[2] !== kw) {
      grad = keep(slice(backend, grad, [0, 0, 0, 0], [1, kh, kw, b * c * m]));
    }
    if (b === 1) return reshape(backend, grad, filterShape);
    const perBatch = keep(reshape(backend, grad, [kh, kw, b, c * m]));
    const summed = keep(sum(backend, perBatch, [2]));
    return reshape(backend, summed, filterShape);
  });
}

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as tf.KernelFunc,
};
