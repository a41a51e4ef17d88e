/**
 * gradlab's native (oneDNN) convolution kernels against the cpu backend over the shared shape
 * tables (fixtures/conv-cases.ts): forward (plain, fused bias + relu / relu6 / leakyrelu, dilated,
 * depthwise), input and filter gradients of conv2d and depthwise conv, with no tensor leaked; the
 * reordered-filter cache never serves another tensor's filter and forgets disposed ones.
 *
 * Without the addon (not built) the tests are skipped; when it is built, it must also load.
 */
import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend, type BackendInfo } from '../../../src/backend/index.ts';
import { loadNativeAddon } from '../../../src/backend/native/addon.ts';
import { maxRelativeError, on, size, values } from '../../helpers/kernel-check.ts';
import {
  CONV_CASES, DEPTHWISE_CASES, conv2dOp, convCaseName, convGradient, depthwiseOp, type ConvCase, type Shape4,
} from '../fixtures/conv-cases.ts';

const TOLERANCE = 1e-5;
const BUILT = existsSync(fileURLToPath(new URL('../../../native/build/Release/gradlab_native.node', import.meta.url)));

let info: BackendInfo;
before(async () => {
  info = await initBackend('wasm');
});

/** Skips the test when the addon is not built (the wasm kernels then run; kernels/ tests them). */
function needsNative(t: TestContext): boolean {
  if (info.native?.kernels.length) return true;
  t.skip(`native kernels not in use: ${info.native?.reason}`);
  return false;
}

test('a built addon loads and its kernels are registered', (t) => {
  if (!BUILT) return t.skip('native/build/Release/gradlab_native.node is not built');
  assert.equal(info.native?.reason, undefined);
  assert.match(info.native!.library!, /^oneDNN 2\./);
  for (const name of ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'DepthwiseConv2dNative',
    'FusedDepthwiseConv2D', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter',
    'MaxPoolGrad', 'BatchMatMul', '_FusedMatMul', 'Slice', 'FusedBatchNorm', 'GradlabReluBackprop']) {
    assert.ok(info.native!.kernels.includes(name), `${name} runs natively`);
  }
});

const forwardCases: { name: string; c: ConvCase; depthwise?: boolean; dilations?: number }[] = [
  ...CONV_CASES.map((c) => ({ name: 'Conv2D', c })),
  ...DEPTHWISE_CASES.map((c) => ({ name: 'DepthwiseConv2dNative', c, depthwise: true })),
  { name: 'Conv2D dilated', c: { x: [2, 13, 12, 3], filter: [3, 3, 3, 5], strides: 1, pad: 'same' }, dilations: 2 },
  { name: 'Depthwise dilated', c: { x: [2, 13, 12, 4], filter: [3, 3, 4, 2], strides: 1, pad: 'valid' }, depthwise: true, dilations: 2 },
  // Above the thread threshold: every thread.
  { name: 'Conv2D large', c: { x: [2, 28, 28, 32], filter: [3, 3, 32, 64], strides: 1, pad: 'same' } },
];

for (const { name, c, depthwise = false, dilations = 1 } of forwardCases) {
  test(`${name} forward ${convCaseName(c)}`, async (t) => {
    if (!needsNative(t)) return;
    const run = (backend: string) => on(backend, () => {
      const x = tf.tensor4d(values(size(c.x), 1), c.x);
      const f = tf.tensor4d(values(size(c.filter), 2), c.filter);
      return depthwise
        ? tf.depthwiseConv2d(x, f, c.strides, c.pad, 'NHWC', dilations)
        : tf.conv2d(x, f, c.strides, c.pad, 'NHWC', dilations);
    });
    const expected = await run('cpu');
    assert.ok(maxRelativeError(await run('wasm'), expected) <= TOLERANCE);
  });
}

for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu'] as const) {
  for (const depthwise of [false, true]) {
    test(`fused ${depthwise ? 'depthwise ' : ''}conv with bias and ${activation}`, async (t) => {
      if (!needsNative(t)) return;
      const x: Shape4 = [2, 10, 9, 4];
      const filter: Shape4 = depthwise ? [3, 3, 4, 2] : [3, 3, 4, 6];
      const run = (backend: string) => on(backend, () => {
        const args = {
          x: tf.tensor4d(values(size(x), 21).map((v) => v * 8), x), // large enough to hit relu6's cap
          filter: tf.tensor4d(values(size(filter), 22), filter),
          strides: 2, pad: 'same' as const, bias: tf.tensor1d(values(filter[3] * (depthwise ? 4 : 1), 23)),
          activation, leakyreluAlpha: 0.1,
        };
        return depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
      });
      const expected = await run('cpu');
      assert.ok(maxRelativeError(await run('wasm'), expected) <= TOLERANCE);
    });
  }
}

const gradientTables = [
  { kernel: 'Conv2DBackprop', cases: CONV_CASES, op: conv2dOp },
  { kernel: 'DepthwiseConv2dNativeBackprop', cases: DEPTHWISE_CASES, op: depthwiseOp },
];
for (const { kernel, cases, op } of gradientTables) {
  for (const wrt of ['filter', 'x'] as const) {
    for (const c of cases) {
      test(`${kernel}${wrt === 'x' ? 'Input' : 'Filter'} ${convCaseName(c)}`, async (t) => {
        if (!needsNative(t)) return;
        const expected = await convGradient(op, 'cpu', c, wrt);
        const error = maxRelativeError(await convGradient(op, 'wasm', c, wrt), expected);
        assert.ok(error <= TOLERANCE, `max relative error ${error}`);
      });
    }
  }
}

test('the reordered-filter cache serves only the same live weight, and forgets disposed ones', async (t) => {
  if (!needsNative(t)) return;
  const addon = loadNativeAddon().addon!;
  await tf.setBackend('wasm');
  const x = tf.tensor4d(values(2 * 8 * 8 * 16, 1), [2, 8, 8, 16]);
  const f1 = tf.tensor4d(values(3 * 3 * 16 * 16, 2), [3, 3, 16, 16]);
  const f2 = tf.tensor4d(values(3 * 3 * 16 * 16, 7), [3, 3, 16, 16]);
  const y1 = tf.conv2d(x, f1, 1, 'same');
  const y2 = tf.conv2d(x, f2, 1, 'same');
  const again = tf.conv2d(x, f1, 1, 'same');
  const cpu = async (f: tf.Tensor4D) => {
    const [xd, fd] = [await x.data(), await f.data()];
    return on('cpu', () => tf.conv2d(tf.tensor4d(xd, x.shape), tf.tensor4d(fd, f.shape), 1, 'same'));
  };
  assert.ok(maxRelativeError(await y2.data(), await cpu(f2)) <= TOLERANCE);
  assert.ok(maxRelativeError(await again.data(), await cpu(f1)) <= TOLERANCE);
  assert.ok(maxRelativeError(await y1.data(), await y2.data()) > 1e-3);
  await tf.setBackend('wasm');
  const cachedBefore = addon.info().cachedWeights;
  tf.dispose([f1, f2, y1, y2, again]);
  // The sweep runs every 32 calls with a cacheable filter.
  const f3 = tf.tensor4d(values(3 * 3 * 16 * 16, 9), [3, 3, 16, 16]);
  for (let i = 0; i < 32; i++) tf.conv2d(x, f3, 1, 'same').dispose();
  assert.ok(addon.info().cachedWeights <= cachedBefore - 2 + 1, `${addon.info().cachedWeights} cached, ${cachedBefore} before`);
  tf.dispose([x, f3]);
});
