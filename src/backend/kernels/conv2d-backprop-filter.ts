/**
 * `Conv2DBackpropFilter` for wasm: the weight gradient of conv2d, which the stock wasm backend
 * lacks. Without it no conv net trains on wasm, and even input gradients of fused convs
 * (conv -> BN -> relu models) fail, because the fused conv's gradient always asks for it.
 *
 * How: the weight gradient is itself a correlation, of the input with the output gradient,
 * summed over the batch:
 *   dW[i, j, ci, co] = sum_{b, oh, ow} x[b, oh*s + i - padTop, ow*s + j - padLeft, ci] * dy[b, oh, ow, co]
 * so the fast (XNNPACK) forward conv computes it when the input channels play the batch and the
 * batch plays the channels: input x^T = [Cin, H, W, B], filter dy^T = [outH, outW, B, Cout],
 * dilation = the forward stride, stride 1, the forward conv's top/left padding. The result is
 * [Cin, >=kh, >=kw, Cout]; it is cropped to [kh, kw] and transposed to [kh, kw, Cin, Cout].
 */
import * as tf from '@tensorflow/tfjs';
import {
  assertChannelsLast, conv2d, explicitPad, slice, transpose, withIntermediates,
  type BackendWasm, type TensorInfo,
} from './wasm-ops.ts';

interface Conv2DBackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function conv2DBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  assertChannelsLast('Conv2DBackpropFilter', dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;

  if (dy.shape[0] !== batchSize || dy.shape[1] !== outHeight || dy.shape[2] !== outWidth ||
      dy.shape[3] !== outChannels) {
    throw new Error(`gradlab wasm Conv2DBackpropFilter: dy shape [${dy.shape.join(',')}] does not match the ` +
      `conv output shape [${info.outShape.join(',')}]`);
  }

  // Bottom/right padding just large enough for kh x kw outputs. A forward 'valid' conv may leave
  // trailing rows of x unused; then no padding is needed and the surplus output rows are cropped.
  const bottom = Math.max(0, (kh - 1) + (outHeight - 1) * sh + 1 - inHeight - top);
  const right = Math.max(0, (kw - 1) + (outWidth - 1) * sw + 1 - inWidth - left);

  return withIntermediates(backend, (keep) => {
    const xT = keep(transpose(backend, x, [3, 1, 2, 0])); // [Cin, H, W, B]
    const dyT = keep(transpose(backend, dy, [1, 2, 0, 3])); // [outH, outW, B, Cout]
    let grad = keep(conv2d(backend, xT, dyT, [1, 1], [sh, sw], explicitPad(top, bottom, left, right)));
    if (grad.shape[1] !== kh || grad.shape[2] !== kw) {
      grad = keep(slice(backend, grad, [0, 0, 0, 0], [inChannels, kh, kw, outChannels]));
    }
    return transpose(backend, grad, [1, 2, 0, 3]); // [kh, kw, Cin, Cout]
  });
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
