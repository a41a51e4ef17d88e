/**
 * Benchmarks gradlab's wasm gradient kernels (src/backend/kernels/) against what stock tfjs offers:
 * the stock wasm kernel where one exists (Conv2DBackpropInput, MaxPoolGrad, BatchMatMul),
 * otherwise the pure-JS cpu backend's kernel (what a "copy to cpu and back" fallback would cost at
 * best, copies not counted). Prints the median wall time in ms per kernel call, MNIST-sized and 224x224 shapes.
 *
 *   node --import tsx scripts/bench-kernels.ts [--quick] [--only MaxPoolGrad,BatchMatMul]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/backend/index.ts';
import { stockWasmKernel } from '../src/backend/kernels/index.ts';

type Shape4 = [number, number, number, number];
type Pad = 'valid' | 'same';

interface BenchCase {
  label: string;
  kernel: string;
  /** Tensors the kernel takes, by input name, with their shapes (int32 inputs marked). */
  inputs: Record<string, { shape: number[]; int32Below?: number }>;
  attrs: Record<string, unknown>;
  /** Inputs computed from the random ones (e.g. a max-pool's forward output). */
  derived?: (inputs: Record<string, tf.Tensor>) => Record<string, tf.Tensor>;
}

const QUICK = process.argv.includes('--quick');
const MIN_RUNS = 3;
const TARGET_MS = QUICK ? 300 : 1500;
const SLOW_MS = 2000;

function convCase(label: string, kernel: 'Conv2DBackpropInput' | 'Conv2DBackpropFilter',
  x: Shape4, filter: Shape4, strides: number, pad: Pad): BenchCase {
  const info = tf.backend_util.computeConv2DInfo(x, filter, strides, 1, pad);
  const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
  return kernel === 'Conv2DBackpropInput'
    ? { label, kernel, inputs: { dy: { shape: info.outShape }, filter: { shape: filter } }, attrs: { ...attrs, inputShape: x } }
    : { label, kernel, inputs: { x: { shape: x }, dy: { shape: info.outShape } }, attrs: { ...attrs, filterShape: filter } };
}

function depthwiseCase(label: string, kernel: 'DepthwiseConv2dNativeBackpropInput' | 'DepthwiseConv2dNativeBackpropFilter',
  x: Shape4, filter: Shape4, strides: number, pad: Pad): BenchCase {
  const info = tf.backend_util.computeConv2DInfo(x, filter, strides, 1, pad, undefined, true);
  const attrs = { strides, pad, dilations: 1, dimRoundingMode: undefined };
  return kernel === 'DepthwiseConv2dNativeBackpropInput'
    ? { label, kernel, inputs: { dy: { shape: info.outShape }, filter: { shape: filter } }, attrs: { ...attrs, inputShape: x } }
    : { label, kernel, inputs: { x: { shape: x }, dy: { shape: info.outShape } }, attrs: { ...attrs, filterShape: filter } };
}

const CASES: BenchCase[] = [];
for (const kernel of ['Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const) {
  CASES.push(
    convCase('MNIST conv1 3x3 1->32, b1', kernel, [1, 28, 28, 1], [3, 3, 1, 32], 1, 'valid'),
    convCase('MNIST conv2 3x3 32->64, b1', kernel, [1, 26, 26, 32], [3, 3, 32, 64], 1, 'valid'),
    convCase('MNIST conv2 3x3 32->64, b64', kernel, [64, 26, 26, 32], [3, 3, 32, 64], 1, 'valid'),
    convCase('224 stem 7x7/2 3->64, b1', kernel, [1, 224, 224, 3], [7, 7, 3, 64], 2, 'same'),
    convCase('56x56 3x3 64->64, b1', kernel, [1, 56, 56, 64], [3, 3, 64, 64], 1, 'same'),
    convCase('56x56 3x3/2 64->128, b1', kernel, [1, 56, 56, 64], [3, 3, 64, 128], 2, 'same'),
    convCase('14x14 3x3 256->256, b1', kernel, [1, 14, 14, 256], [3, 3, 256, 256], 1, 'same'),
  );
}
for (const kernel of ['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'] as const) {
  CASES.push(
    depthwiseCase('112x112 dw3x3 32ch, b1', kernel, [1, 112, 112, 32], [3, 3, 32, 1], 1, 'same'),
    depthwiseCase('112x112 dw3x3/2 96ch, b1', kernel, [1, 112, 112, 96], [3, 3, 96, 1], 2, 'same'),
    depthwiseCase('14x14 dw3x3 576ch, b1', kernel, [1, 14, 14, 576], [3, 3, 576, 1], 1, 'same'),
  );
}
CASES.push({
  // The cpu kernel costs numSegments passes over x, so the shape stays small enough for it.
  label: 'embedding grad 32x20 tokens -> 1000x64',
  kernel: 'UnsortedSegmentSum',
  inputs: { x: { shape: [640, 64] }, segmentIds: { shape: [640], int32Below: 1000 } },
  attrs: { numSegments: 1000 },
});

function maxPoolGradCase(label: string, x: Shape4, filterSize: number, strides: number, pad: Pad): BenchCase {
  const info = tf.backend_util.computePool2DInfo(x, filterSize, strides, 1, pad);
  return {
    label, kernel: 'MaxPoolGrad',
    // ReLU'd input (zeros, as in a CNN) and its real pooled output, which the kernel relies on.
    inputs: { input: { shape: x }, dy: { shape: info.outShape } },
    attrs: { filterSize, strides, pad, dimRoundingMode: undefined },
    derived: ({ input: raw }) => {
      const input = tf.relu(raw!) as tf.Tensor4D;
      return { input, output: tf.maxPool(input, filterSize, strides, pad) };
    },
  };
}
CASES.push(
  maxPoolGradCase('MNIST pool1 2x2/2, b64', [64, 24, 24, 32], 2, 2, 'valid'),
  maxPoolGradCase('224 stem pool 3x3/2, b1', [1, 112, 112, 64], 3, 2, 'same'),
);
for (const [transposeA, transposeB, label, a, b] of [
  [false, true, 'dense dx = dy Wt, 64x128 . (1600x128)t', [64, 128], [1600, 128]],
  [true, false, 'dense dW = xt dy, (64x1600)t . 64x128', [64, 1600], [64, 128]],
  [false, true, 'dense dx = dy Wt, 1x1000 . (512x1000)t', [1, 1000], [512, 1000]],
] as [boolean, boolean, string, number[], number[]][]) {
  CASES.push({ label, kernel: 'BatchMatMul', inputs: { a: { shape: a }, b: { shape: b } }, attrs: { transposeA, transposeB } });
}

function makeInputs(c: BenchCase): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, spec] of Object.entries(c.inputs)) {
    out[name] = spec.int32Below
      ? tf.randomUniform(spec.shape, 0, spec.int32Below, 'int32')
      : tf.randomUniform(spec.shape, -1, 1, 'float32');
  }
  if (!c.derived) return out;
  const derived = c.derived(out);
  tf.dispose(Object.keys(derived).filter((name) => name in out).map((name) => out[name]!));
  return { ...out, ...derived };
}

/**
 * Median ms of `call` after one warm-up call, repeating until MIN_RUNS and TARGET_MS are met.
 * A call slower than SLOW_MS is timed once (its warm-up run), so the pure-JS baselines finish.
 */
function medianMs(call: () => void): number {
  const w0 = performance.now();
  call();
  const warmUp = performance.now() - w0;
  if (warmUp > SLOW_MS) return warmUp;
  const times: number[] = [];
  const start = performance.now();
  while (times.length < MIN_RUNS || (performance.now() - start < TARGET_MS && times.length < 50)) {
    const t0 = performance.now();
    call();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Times a kernel function called directly on the current backend, releasing its output. */
function timeKernel(kernelFunc: tf.KernelFunc, c: BenchCase): number {
  const inputs = makeInputs(c);
  const backend = tf.backend();
  const ms = medianMs(() => {
    const out = kernelFunc({ inputs, backend, attrs: c.attrs as tf.NamedAttrMap }) as tf.TensorInfo;
    backend.disposeData(out.dataId);
  });
  tf.dispose(Object.values(inputs));
  return ms;
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? 'n/a' : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

await initBackend('wasm');
console.log(`tfjs ${tf.version.tfjs}, wasm backend, ${QUICK ? 'quick' : 'full'} run; median ms per kernel call`);
console.log('| kernel | shape | stock wasm | cpu backend | gradlab wasm | speed-up vs best stock |');
console.log('|---|---|---|---|---|---|');
// --only Kernel1,Kernel2 runs just those kernels' cases (the cpu baselines of the others take minutes).
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt >= 0 ? process.argv[onlyAt + 1]!.split(',') : undefined;
for (const c of CASES.filter((k) => !ONLY || ONLY.includes(k.kernel))) {
  await tf.setBackend('wasm');
  const gradlab = timeKernel(tf.getKernel(c.kernel, 'wasm').kernelFunc, c);
  const stock = stockWasmKernel(c.kernel);
  const stockMs = stock ? timeKernel(stock, c) : undefined;
  let cpuMs: number | undefined;
  if (!stockMs) {
    await tf.setBackend('cpu');
    cpuMs = timeKernel(tf.getKernel(c.kernel, 'cpu').kernelFunc, c);
  }
  const best = stockMs ?? cpuMs!;
  console.log(`| ${c.kernel} | ${c.label} | ${fmt(stockMs)} | ${fmt(cpuMs)} | ${fmt(gradlab)} | ${(best / gradlab).toFixed(1)}x |`);
}
